import { CronExpressionParser } from 'cron-parser';
import { CronSchedule } from '../../../lib/time/cron';
import { InvalidCronError } from '../../../lib/errors/invalid-cron.error';
import { UnknownTimeZoneError } from '../../../lib/errors/unknown-time-zone.error';

const YEAR_START = Date.parse('2026-01-01T00:00:00Z');
const YEAR_END = Date.parse('2027-01-01T00:00:00Z');

function ours(cron: string, tz: string): number[] {
  const schedule = CronSchedule.of(cron, tz);
  const out: number[] = [];
  for (let t = schedule.nextAfter(YEAR_START); t < YEAR_END; t = schedule.nextAfter(t)) out.push(t);
  return out;
}

function reference(cron: string, tz: string): number[] {
  const it = CronExpressionParser.parse(cron, { tz, currentDate: new Date(YEAR_START) });
  const out: number[] = [];
  for (let t = it.next().getTime(); t < YEAR_END; t = it.next().getTime()) out.push(t);
  return out;
}

function firesOn(cron: string, tz: string, dayStartIso: string, dayEndIso: string): string[] {
  const schedule = CronSchedule.of(cron, tz);
  const out: string[] = [];
  const end = Date.parse(dayEndIso);
  for (let t = schedule.nextAfter(Date.parse(dayStartIso)); t < end; t = schedule.nextAfter(t)) {
    out.push(new Date(t).toISOString());
  }
  return out;
}

describe('CronSchedule', () => {
  describe('fire-time sequence over a simulated year', () => {
    it.each([
      ['0 */6 * * *', 'Europe/Paris'],
      ['30 2 * * *', 'Europe/Paris'],
      ['0 1 * * *', 'America/New_York'],
      ['*/30 * * * *', 'America/New_York'],
      ['15 9 * * 1-5', 'Asia/Kolkata'],
      ['0 0 1,15 * *', 'UTC'],
    ])('%s in %s equals cron-parser, fire by fire', (cron, tz) => {
      const expected = reference(cron, tz);
      expect(expected.length).toBeGreaterThan(20);
      expect(ours(cron, tz)).toEqual(expected);
    });

    it('strictly increases and never returns the time it was given', () => {
      const schedule = CronSchedule.of('* * * * * *');
      expect(schedule.nextAfter(1_700_000_000_000)).toBe(1_700_000_001_000);
      expect(schedule.nextAfter(1_700_000_000_500)).toBe(1_700_000_001_000);
      expect(schedule.nextAfter(1_699_999_999_999)).toBe(1_700_000_000_000);
    });

    it('finds the latest fire time at or before an instant', () => {
      const hourly = CronSchedule.of('0 * * * *');
      const t = Date.parse('2026-05-05T10:00:00Z');
      expect(hourly.latestAtOrBefore(t)).toBe(t);
      expect(hourly.latestAtOrBefore(t + 59 * 60_000)).toBe(t);
      expect(hourly.latestAtOrBefore(t - 1)).toBe(t - 3_600_000);
    });
  });

  describe('daylight saving time (the documented policy)', () => {
    it('runs a daily 02:30 once on the spring-forward day in Paris, at 03:30 local', () => {
      expect(
        firesOn('30 2 * * *', 'Europe/Paris', '2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z'),
      ).toEqual(['2026-03-29T01:30:00.000Z']);
    });

    it('runs a daily 01:00 once on the fall-back day in New York', () => {
      expect(
        firesOn('0 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T04:00:00Z'),
      ).toEqual(['2026-11-01T05:00:00.000Z']);
    });

    it('runs a daily 01:30 once on the fall-back day in New York (the first 01:30)', () => {
      expect(
        firesOn('30 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T04:00:00Z'),
      ).toEqual(['2026-11-01T05:30:00.000Z']);
    });

    it('keeps */30 every 30 real minutes through the repeated hour in Paris', () => {
      const fires = firesOn(
        '*/30 * * * *',
        'Europe/Paris',
        '2026-10-24T23:59:00Z',
        '2026-10-25T02:01:00Z',
      );
      expect(fires).toEqual([
        '2026-10-25T00:00:00.000Z', // 02:00 CEST
        '2026-10-25T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T01:00:00.000Z', // 02:00 CET (the repeated hour)
        '2026-10-25T01:30:00.000Z', // 02:30 CET
        '2026-10-25T02:00:00.000Z',
      ]);
    });
  });

  describe('shortest gap over the whole cycle', () => {
    it.each([
      ['0,1 0 * * *', 60_000],
      ['*/5 * * * *', 300_000],
      ['*/10 * * * * *', 10_000],
      ['0 0,23 * * *', 3_600_000],
      ['0 0,23 1 * 1', 3_600_000],
      ['0 9 * * 1', 7 * 86_400_000],
      ['0 12 * * 1-5', 86_400_000],
      ['0 0 1 * *', 28 * 86_400_000],
      ['0 0 L * *', 28 * 86_400_000],
      ['0 0 29 2 *', 1461 * 86_400_000],
      ['0 0,23 * * 5L', 23 * 3_600_000],
      ['58,59 59 23 31 12 *', 1_000],
    ])('%s → %d ms', (cron, gap) => {
      expect(CronSchedule.of(cron).shortestGapMs()).toBe(gap);
    });

    it.each([
      '7,8 0 * * *',
      '0 0 1,2 * *',
      '0 0 * * 0,6',
      '0 22,23 */2 * *',
      '0 0,12 * 2 *',
      '0 0,23 1,15 * 3',
    ])('%s matches a brute-force walk of a year of fires', (cron) => {
      const fires = reference(cron, 'UTC');
      let brute = Infinity;
      for (let i = 1; i < fires.length; i++) brute = Math.min(brute, fires[i] - fires[i - 1]);
      expect(CronSchedule.of(cron).shortestGapMs()).toBe(brute);
    });
  });

  describe('validation', () => {
    it.each([
      '',
      '   ',
      '* * * *',
      '* * * * * * *',
      '61 * * * *',
      'foo bar baz qux quux',
      '0 0 30 2 *',
    ])('rejects %j with InvalidCronError', (cron) => {
      expect(() => CronSchedule.of(cron)).toThrow(InvalidCronError);
    });

    it('explains what a valid expression looks like', () => {
      expect(() => CronSchedule.of('* * * *')).toThrow(/4 fields.*5 fields/);
    });

    it('rejects an unknown time zone with UnknownTimeZoneError', () => {
      expect(() => CronSchedule.of('* * * * *', 'Mars/Olympus_Mons')).toThrow(UnknownTimeZoneError);
    });

    it('accepts 5 and 6 fields and the @ shorthands', () => {
      expect(CronSchedule.of('0 9 * * 1').nextAfter(0)).toBeGreaterThan(0);
      expect(CronSchedule.of('*/15 * * * * *').shortestGapMs()).toBe(15_000);
      expect(CronSchedule.of('@hourly').shortestGapMs()).toBe(3_600_000);
    });
  });

  describe('with a fake clock', () => {
    afterEach(() => jest.useRealTimers());

    it('decides "never fires" from the current date, not from a fixed one', () => {
      jest.useFakeTimers({ now: Date.parse('2030-06-01T00:00:00Z') });
      expect(() => CronSchedule.of('0 0 1 1 * *', 'UTC')).not.toThrow();
      expect(CronSchedule.of('0 0 0 1 1 *').nextAfter(Date.now())).toBe(
        Date.parse('2031-01-01T00:00:00Z'),
      );
    });
  });
});
