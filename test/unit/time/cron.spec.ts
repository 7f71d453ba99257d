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

describe('H (a value drawn per schedule)', () => {
  const SEED = 'acme:r1';
  const HORIZON = YEAR_START + 3 * 366 * 86_400_000;

  /** Whether a field of the expression still holds an `H` (day and month names aside). */
  const holdsH = (cron: string): boolean =>
    cron.split(' ').some((field) => field.replace(/[A-Z]{3}/g, '').includes('H'));

  /** The first 200 fire times (within three years) of cron-parser's own draw for `seed`. */
  function seededReference(cron: string, tz: string, seed: string): number[] {
    const it = CronExpressionParser.parse(cron, {
      tz,
      hashSeed: seed,
      currentDate: new Date(YEAR_START),
    });
    const out: number[] = [];
    for (let t = it.next().getTime(); t < HORIZON && out.length < 200; t = it.next().getTime()) {
      out.push(t);
    }
    return out;
  }

  function firstFires(schedule: CronSchedule): number[] {
    const out: number[] = [];
    for (let t = schedule.nextAfter(YEAR_START); t < HORIZON && out.length < 200;) {
      out.push(t);
      t = schedule.nextAfter(t);
    }
    return out;
  }

  it.each([
    'H * * * * *',
    '0 H * * * *',
    '0 0 H * * *',
    '0 0 0 H * *',
    '0 0 0 1 H *',
    '0 0 0 * * H',
    'H H * * *',
    'H H * * * *',
    'H/20 * * * * *',
    'H(0-29) * * * * *',
    'H(0-29)/20 * * * * *',
    '0 0 9 * * H#3',
    '0 H 9 * * MON-FRI',
    'H,30 * * * * *',
    '0 0 0 H/10 * 1',
    '0 0 0 L * H',
  ])(
    '%s resolves to a plain expression that fires as cron-parser draws it for the seed',
    (cron) => {
      const tz = 'Europe/Paris';
      const schedule = CronSchedule.of(cron, tz, SEED);
      expect(holdsH(schedule.expression)).toBe(false);
      expect(schedule.expression.split(' ')).toHaveLength(cron.split(' ').length);
      expect(firstFires(schedule)).toEqual(seededReference(cron, tz, SEED));
      // The resolved text needs no seed: it is the schedule itself (what a timing stores).
      expect(CronSchedule.of(schedule.expression, tz)).toBe(schedule);
    },
  );

  it('gives two schedules of one expression their own draw; the cache never hands over the other’s', () => {
    const a = CronSchedule.of('H H * * * *', 'UTC', 'acme:a');
    const c = CronSchedule.of('H H * * * *', 'UTC', 'acme:c');
    expect(a).not.toBe(c);
    expect(a.expression).not.toBe(c.expression);
    expect(a.nextAfter(YEAR_START)).not.toBe(c.nextAfter(YEAR_START));
    expect(CronSchedule.of('H H * * * *', 'UTC', 'acme:a').expression).toBe(a.expression);
    // Without H, the seed changes nothing and schedules share one instance.
    expect(CronSchedule.of('0 9 * * 1', 'UTC', 'acme:a')).toBe(CronSchedule.of('0 9 * * 1'));
  });

  it('keeps the draw of a given seed (pinned: if cron-parser changed it, H schedules would move at their next upsert)', () => {
    expect(CronSchedule.of('H H * * * *', 'UTC', 'acme:a').expression).toBe('53 1 * * * *');
    expect(CronSchedule.of('H/20 * * * * *', 'UTC', 'acme:a').expression).toBe(
      '17,37,57 * * * * *',
    );
    expect(CronSchedule.of('0 0 0 * * H#3', 'UTC', 'acme:b').expression).toBe('0 0 0 * * 4#3');
    expect(CronSchedule.of('0 H 9 * * MON-FRI', 'UTC', 'acme:c').expression).toBe(
      '0 42 9 * * MON-FRI',
    );
  });

  it('measures the shortest gap on the values drawn for the schedule', () => {
    // 'H,30' fires at the drawn second and at 30: 1 s apart for some seeds, 30 s for others.
    const gapOf = (seed: string): number => {
      const fires = seededReference('H,30 * * * * *', 'UTC', seed);
      let gap = Infinity;
      for (let i = 1; i < fires.length; i++) gap = Math.min(gap, fires[i] - fires[i - 1]);
      return gap;
    };
    const seeds = Array.from({ length: 200 }, (_, i) => `acme:s${i}`);
    const close = seeds.find((s) => gapOf(s) <= 2_000);
    const far = seeds.find((s) => gapOf(s) >= 25_000);
    if (!close || !far) throw new Error('no seed of the kind needed among 200');
    expect(CronSchedule.of('H,30 * * * * *', 'UTC', close).shortestGapMs()).toBe(gapOf(close));
    expect(CronSchedule.of('H,30 * * * * *', 'UTC', far).shortestGapMs()).toBe(gapOf(far));
  });

  it('refuses H without a seed: there is no schedule to draw it for', () => {
    expect(() => CronSchedule.of('H * * * *')).toThrow(InvalidCronError);
    expect(() => CronSchedule.of('0 0 H/2 * * *', 'UTC')).toThrow(/H needs the schedule/);
    // A day name holding an H is not one.
    expect(CronSchedule.of('0 9 * * THU').expression).toBe('0 9 * * THU');
  });

  it('says what H drew when the drawn expression cannot fire', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => `acme:feb${i}`);
    // The day cron-parser draws for the seed (parsed with any month: February refuses the 30th).
    const day = (seed: string): number =>
      Number(
        CronExpressionParser.parse('0 0 H * *', { hashSeed: seed }).fields.dayOfMonth.values[0],
      );
    const late = seeds.find((s) => day(s) >= 30);
    const early = seeds.find((s) => day(s) <= 28);
    if (!late || !early) throw new Error('no seed of the kind needed among 200');
    const refusal = () => CronSchedule.of('0 0 H 2 *', 'UTC', late);
    expect(refusal).toThrow(InvalidCronError);
    expect(refusal).toThrow(
      `"0 0 H 2 *": with its H drawn for this schedule it reads "0 0 ${day(late)} 2 *" (`,
    );
    expect(CronSchedule.of('0 0 H 2 *', 'UTC', early).expression).toBe(`0 0 ${day(early)} 2 *`);
  });
});
