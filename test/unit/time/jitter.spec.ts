import { fnv1a, jitterOffsetMs } from '../../../lib/time/jitter';
import { armAfter, planAfterRun, supersededBy } from '../../../lib/engine/fire-planner';
import { CronSchedule } from '../../../lib/time/cron';

describe('jitterOffsetMs', () => {
  const fire = Date.parse('2026-01-05T09:00:00Z');

  it('is 0 without jitter', () => {
    expect(jitterOffsetMs('t:acme:r', fire, 0, fire + 60_000)).toBe(0);
  });

  it('stays within [0, jitterMs] and is the same for the same (schedule, fire time)', () => {
    for (let i = 0; i < 2_000; i++) {
      const offset = jitterOffsetMs(`t:acme:s${i}`, fire, 30_000, fire + 3_600_000);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThanOrEqual(30_000);
      expect(jitterOffsetMs(`t:acme:s${i}`, fire, 30_000, fire + 3_600_000)).toBe(offset);
    }
  });

  it('never reaches the next fire time', () => {
    for (let i = 0; i < 2_000; i++) {
      expect(jitterOffsetMs(`m${i}`, fire, 5_000, fire + 1_000)).toBeLessThan(1_000);
    }
  });

  it('spreads a herd over the window', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++)
      buckets[Math.floor(jitterOffsetMs(`m${i}`, fire, 9_999, fire + 60_000) / 1_000)]++;
    for (const count of buckets) expect(count).toBeGreaterThan(800);
  });

  it('changes from one fire time to the next', () => {
    const offsets = new Set<number>();
    for (let i = 0; i < 50; i++)
      offsets.add(jitterOffsetMs('t:acme:r', fire + i * 60_000, 30_000, fire + (i + 1) * 60_000));
    expect(offsets.size).toBeGreaterThan(40);
  });

  it('hashes deterministically', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
  });
});

describe('fire planner', () => {
  const everyMinute = CronSchedule.of('* * * * *');
  const t0 = Date.parse('2026-01-05T09:00:00Z');

  it('arms the first fire time after an instant, with its jitter', () => {
    const arming = armAfter(everyMinute, 'm', 10_000, t0 + 1);
    expect(arming.fireMs).toBe(t0 + 60_000);
    expect(arming.dueMs - arming.fireMs).toBe(
      jitterOffsetMs('m', t0 + 60_000, 10_000, t0 + 120_000),
    );
  });

  it('re-arms at the next fire time after a run that ended in time', () => {
    expect(planAfterRun(everyMinute, 'm', 0, t0, t0 + 5_000)).toEqual({
      fireMs: t0 + 60_000,
      dueMs: t0 + 60_000,
      skipped: false,
    });
  });

  it('skips fire times that came while the run held its lease (overlap: skip)', () => {
    expect(planAfterRun(everyMinute, 'm', 0, t0, t0 + 150_000)).toEqual({
      fireMs: t0 + 180_000,
      dueMs: t0 + 180_000,
      skipped: true,
    });
  });

  it('runs a late first attempt when the following fire time is not due yet', () => {
    expect(supersededBy(everyMinute, 'm', 0, t0, t0 + 59_000)).toBeNull();
  });

  it('replaces a missed fire time by the latest missed one (misfire: runOnce)', () => {
    expect(supersededBy(everyMinute, 'm', 0, t0, t0 + 10 * 60_000 + 5_000)).toEqual({
      fireMs: t0 + 10 * 60_000,
      dueMs: t0 + 10 * 60_000,
    });
  });
});
