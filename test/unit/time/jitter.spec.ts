import { fnv1a, jitterOffsetMs } from '../../../lib/time/jitter';

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
