import { InvalidTimingError } from '../../../lib';
import { CronSchedule } from '../../../lib/time/cron';
import {
  anchorInterval,
  type FireSeries,
  decodeSeries,
  IntervalSeries,
  OneOffSeries,
  parseAt,
  parseEvery,
  seriesKindOf,
} from '../../../lib/time/fire-series';
import { ScheduleTiming } from '../../../lib/time/schedule-timing';

const t0 = Date.parse('2026-01-05T09:00:00.123Z');

describe('parseEvery', () => {
  it.each([
    [250, 250],
    ['250', 250],
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1.5h', 5_400_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    [' 10 s ', 10_000],
  ])('reads %p as %p ms', (every, ms) => {
    expect(parseEvery(every)).toBe(ms);
  });

  it.each([
    ['5 minutes'],
    ['m'],
    [''],
    ['-5s'],
    ['1.5ms'],
    [0],
    [-1],
    [1.5],
    [Number.NaN],
    [null],
    [{}],
  ])('refuses %p with InvalidTimingError', (every) => {
    expect(() => parseEvery(every)).toThrow(InvalidTimingError);
  });
});

describe('parseAt', () => {
  it('reads a Date and an ISO 8601 string', () => {
    expect(parseAt(new Date(t0))).toBe(t0);
    expect(parseAt('2026-01-05T09:00:00.123Z')).toBe(t0);
    expect(parseAt('2026-01-05T10:00:00.123+01:00')).toBe(t0);
  });

  it.each([
    ['tomorrow'],
    ['2026-13-40T00:00:00Z'],
    ['12/01/2026'],
    [new Date(Number.NaN)],
    [t0],
    [undefined],
  ])('refuses %p with InvalidTimingError', (at) => {
    expect(() => parseAt(at)).toThrow(InvalidTimingError);
  });
});

describe('IntervalSeries', () => {
  const series = new IntervalSeries(700, t0);

  it('fires at anchor + k × every: the next strictly after t and the latest at or before t', () => {
    expect(series.nextAfter(t0)).toBe(t0 + 700);
    expect(series.nextAfter(t0 + 699)).toBe(t0 + 700);
    expect(series.nextAfter(t0 + 700)).toBe(t0 + 1_400);
    expect(series.nextAfter(t0 - 1)).toBe(t0);
    expect(series.latestAtOrBefore(t0 + 1_399)).toBe(t0 + 700);
    expect(series.latestAtOrBefore(t0 + 1_400)).toBe(t0 + 1_400);
    expect(series.firstFrom(t0 + 5)).toBe(t0 + 700);
    expect(series.shortestGapMs()).toBe(700);
    expect(series.repeats).toBe(true);
  });

  it('round-trips through the stored timing', () => {
    const timing = ScheduleTiming.of(series, 100);
    expect(timing.stored).toBe(`@every:700:${t0}|UTC|100`);
    const decoded = ScheduleTiming.decode(timing.stored).series as IntervalSeries;
    expect([decoded.everyMs, decoded.anchorMs]).toEqual([700, t0]);
    expect(seriesKindOf(series.expression)).toBe('every');
  });

  it('keeps the stored anchor when the period is the same, and anchors anew otherwise', () => {
    const stored = `@every:700:${t0}|UTC|0`;
    expect((anchorInterval({ everyMs: 700 }, stored, t0 + 9_999) as IntervalSeries).anchorMs).toBe(
      t0,
    );
    expect((anchorInterval({ everyMs: 800 }, stored, t0 + 9_999) as IntervalSeries).anchorMs).toBe(
      t0 + 9_999,
    );
    expect(
      (anchorInterval({ everyMs: 700 }, '* * * * *|UTC|0', 5.7) as IntervalSeries).anchorMs,
    ).toBe(5);
    expect((anchorInterval({ everyMs: 700 }, null, 42) as IntervalSeries).anchorMs).toBe(42);
    const cron = CronSchedule.of('* * * * *');
    expect(anchorInterval(cron, stored, 1)).toBe(cron);
  });
});

describe('OneOffSeries', () => {
  const once = new OneOffSeries(t0);

  it('has one fire time: next after t is it until it passes, then none (Infinity)', () => {
    expect(once.nextAfter(t0 - 1)).toBe(t0);
    expect(once.nextAfter(t0)).toBe(Infinity);
    expect(once.latestAtOrBefore(t0 - 1)).toBeNull();
    expect(once.latestAtOrBefore(t0 + 10)).toBe(t0);
    // Armed at its time even when it is past: it runs as soon as possible.
    expect((once as FireSeries).firstFrom(t0 + 60_000)).toBe(t0);
    expect(once.repeats).toBe(false);
  });

  it('round-trips through the stored timing; anything else decodes as a cron', () => {
    const timing = ScheduleTiming.of(once, 0);
    expect(timing.stored).toBe(`@at:${t0}|UTC|0`);
    expect((ScheduleTiming.decode(timing.stored).series as OneOffSeries).atMs).toBe(t0);
    expect(decodeSeries('0 9 * * 1')).toBeNull();
    expect(decodeSeries('@every:x:1')).toBeNull();
    expect(seriesKindOf('0 9 * * 1')).toBe('cron');
  });
});
