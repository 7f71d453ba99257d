import { IntervalTooShortError, InvalidCronError, InvalidTimingError } from '../../../lib';
import { validateTiming } from '../../../lib/scheduler/timing.validator';
import { CronSchedule } from '../../../lib/time/cron';
import { OneOffSeries } from '../../../lib/time/fire-series';

const check = (input: Record<string, unknown>, minIntervalMs = 0) =>
  validateTiming(input, 'UTC', 'acme:job', minIntervalMs);

describe('validateTiming', () => {
  it('takes exactly one of cron, every and at', () => {
    expect(() => check({})).toThrow(/none is set/);
    expect(() => check({ cron: '* * * * *', every: 1_000 })).toThrow(
      /cron and every are set together/,
    );
    expect(() => check({ cron: '* * * * *', at: new Date() })).toThrow(InvalidTimingError);
    expect(() => check({ cron: '* * * * *', every: '1s', at: new Date() })).toThrow(
      /cron and every and at/,
    );
  });

  it('gives an interval to anchor, with `every` as written when it is text', () => {
    expect(check({ every: '5m' })).toEqual({ series: { everyMs: 300_000 }, written: '5m' });
    expect(check({ every: 90_000 })).toEqual({ series: { everyMs: 90_000 }, written: '' });
  });

  it('applies minIntervalMs to every, naming the interval', () => {
    expect(check({ every: '1m' }, 60_000).series).toEqual({ everyMs: 60_000 });
    const refusal = () => check({ every: '59s' }, 60_000);
    expect(refusal).toThrow(IntervalTooShortError);
    expect(refusal).toThrow(
      'Interval "59s" is 59000 ms; tenantGuards.minIntervalMs requires at least 60000 ms',
    );
  });

  it('gives a one-off its time, with `at` as written when it is text', () => {
    const at = '2030-01-01T09:00:00Z';
    const fromText = check({ at });
    expect((fromText.series as OneOffSeries).atMs).toBe(Date.parse(at));
    expect(fromText.written).toBe(at);
    expect(check({ at: new Date(at) }).written).toBe('');
    expect(() => check({ at: 'soon' })).toThrow(/Invalid schedule at: "soon" is not a valid date/);
  });

  it('still checks a cron as before', () => {
    expect(check({ cron: '0 9 * * 1' }).series).toBe(CronSchedule.of('0 9 * * 1'));
    expect(() => check({ cron: 'nope' })).toThrow(InvalidCronError);
    expect(() => check({ cron: '* * * * * *' }, 2_000)).toThrow(IntervalTooShortError);
  });
});
