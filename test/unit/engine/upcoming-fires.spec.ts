import { withJitter } from '../../../lib/engine/fire-planner';
import { upcomingFires } from '../../../lib/engine/upcoming-fires';
import { ScheduleTiming } from '../../../lib/time/schedule-timing';

const t0 = Date.parse('2026-03-28T09:00:00Z');

describe('upcomingFires', () => {
  it('walks the timing from the first fire time given, each with the jitter the engine arms', () => {
    const timing = ScheduleTiming.decode('0 2 * * *|Europe/Paris|60000');
    const first = timing.series.nextAfter(t0);
    const fires = upcomingFires(timing, 't:acme:x', first, 4);
    expect(fires).toHaveLength(4);
    expect(fires[0].fireMs).toBe(first);
    for (let i = 1; i < fires.length; i++) {
      expect(fires[i].fireMs).toBe(timing.series.nextAfter(fires[i - 1].fireMs));
    }
    for (const f of fires) {
      expect(f).toEqual(withJitter(timing.series, 't:acme:x', 60_000, f.fireMs));
    }
    // Across the spring-forward night in Paris, fire times are 23 h apart once.
    const gaps = fires.slice(1).map((f, i) => (f.fireMs - fires[i].fireMs) / 3_600_000);
    expect(gaps).toContain(23);
  });

  it('gives none for a count of 0, and due = fire without jitter', () => {
    const timing = ScheduleTiming.decode('* * * * *|UTC|0');
    expect(upcomingFires(timing, 'c:x', t0, 0)).toEqual([]);
    expect(upcomingFires(timing, 'c:x', t0, 2)).toEqual([
      { fireMs: t0, dueMs: t0 },
      { fireMs: t0 + 60_000, dueMs: t0 + 60_000 },
    ]);
  });
});
