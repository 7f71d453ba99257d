import { armAfter, countFires, planAfterRun, planMisfire } from '../../../lib/engine/fire-planner';
import { DEFAULT_POLICY, resolvePolicy } from '../../../lib/policy/schedule-policy';
import { jitterOffsetMs } from '../../../lib/time/jitter';
import { CronSchedule } from '../../../lib/time/cron';
import type { SchedulePolicy } from '../../../lib';

const everyMinute = CronSchedule.of('* * * * *');
const t0 = Date.parse('2026-01-05T09:00:00Z');
const MIN = 60_000;
const policy = (own: SchedulePolicy = {}) => resolvePolicy(own, DEFAULT_POLICY);

describe('fire planner', () => {
  it('arms the first fire time after an instant, with its jitter', () => {
    const arming = armAfter(everyMinute, 'm', 10_000, t0 + 1);
    expect(arming.fireMs).toBe(t0 + MIN);
    expect(arming.dueMs - arming.fireMs).toBe(jitterOffsetMs('m', t0 + MIN, 10_000, t0 + 2 * MIN));
  });

  it('counts fire times in a half-open range', () => {
    expect(countFires(everyMinute, t0, t0 + 10 * MIN)).toBe(10);
    expect(countFires(everyMinute, t0, t0 + 10 * MIN + 1)).toBe(11);
    // Past 256 fire times the count is extrapolated: exact for a fixed period, and cheap.
    const started = Date.now();
    expect(countFires(CronSchedule.of('* * * * * *'), t0, t0 + 7 * 86_400_000)).toBe(7 * 86_400);
    expect(Date.now() - started).toBeLessThan(200);
  });

  describe('misfire (a first attempt claimed late)', () => {
    const late = t0 + 10 * MIN + 5_000; // fire times t0 … t0+10min went by

    it('runs the fire time when the following one is not due yet, whatever the policy', () => {
      for (const misfire of ['runOnce', 'skip', 'runAll'] as const) {
        expect(planMisfire(everyMinute, 'm', 0, t0, t0 + 59_000, policy({ misfire }))).toBeNull();
      }
    });

    it('runOnce: only the latest missed fire time runs', () => {
      expect(planMisfire(everyMinute, 'm', 0, t0, late, policy())).toEqual({
        fireMs: t0 + 10 * MIN,
        dueMs: t0 + 10 * MIN,
        skipped: 10,
      });
    });

    it('runOnce: a single late fire time older than catchUpWindowMs is skipped too', () => {
      expect(
        planMisfire(everyMinute, 'm', 0, t0, t0 + 30_000, policy({ catchUpWindowMs: 10_000 })),
      ).toEqual({
        fireMs: t0 + MIN,
        dueMs: t0 + MIN,
        skipped: 1,
      });
      expect(
        planMisfire(everyMinute, 'm', 0, t0, t0 + 5_000, policy({ catchUpWindowMs: 10_000 })),
      ).toBeNull();
    });

    it('runOnce: outside catchUpWindowMs, none runs', () => {
      expect(
        planMisfire(everyMinute, 'm', 0, t0, late, policy({ catchUpWindowMs: 1_000 })),
      ).toEqual({
        fireMs: t0 + 11 * MIN,
        dueMs: t0 + 11 * MIN,
        skipped: 11,
      });
      expect(
        planMisfire(everyMinute, 'm', 0, t0, late, policy({ catchUpWindowMs: 10_000 }))?.fireMs,
      ).toBe(t0 + 10 * MIN);
    });

    it('skip: resumes at the first fire time after now, counting every missed one', () => {
      expect(planMisfire(everyMinute, 'm', 0, t0, late, policy({ misfire: 'skip' }))).toEqual({
        fireMs: t0 + 11 * MIN,
        dueMs: t0 + 11 * MIN,
        skipped: 11,
      });
    });

    it('runAll: runs each missed fire time oldest first, when within maxCatchUp', () => {
      expect(
        planMisfire(everyMinute, 'm', 0, t0, late, policy({ misfire: 'runAll', maxCatchUp: 11 })),
      ).toBeNull();
    });

    it('runAll: bounded by maxCatchUp even at its largest value', () => {
      const perSecond = CronSchedule.of('* * * * * *');
      const plan = planMisfire(
        perSecond,
        'm',
        0,
        t0,
        t0 + 86_400_000,
        policy({ misfire: 'runAll', maxCatchUp: 10_000 }),
      );
      expect(plan?.fireMs).toBe(t0 + 86_400_000 - 9_999_000);
    });

    it('skip and runOnce leave a fire time whose jittered due time has not come', () => {
      // 10:02 is due at 10:02 + its jitter offset; at 10:02:01 that offset may not have passed yet.
      const member = [...Array(200).keys()]
        .map((i) => `m${i}`)
        .find((m) => jitterOffsetMs(m, t0 + 2 * MIN, 50_000, t0 + 3 * MIN) > 10_000)!;
      const now = t0 + 2 * MIN + 5_000;
      expect(planMisfire(everyMinute, member, 50_000, t0, now, policy())?.fireMs).toBe(t0 + MIN);
      expect(
        planMisfire(everyMinute, member, 50_000, t0, now, policy({ misfire: 'skip' }))?.fireMs,
      ).toBe(t0 + 2 * MIN);
    });

    it('runAll: skips to the latest maxCatchUp fire times', () => {
      expect(
        planMisfire(everyMinute, 'm', 0, t0, late, policy({ misfire: 'runAll', maxCatchUp: 3 })),
      ).toEqual({
        fireMs: t0 + 8 * MIN,
        dueMs: t0 + 8 * MIN,
        skipped: 8,
      });
    });
  });

  describe('after a run', () => {
    it('re-arms at the next fire time after a run that ended in time', () => {
      expect(planAfterRun(everyMinute, 'm', 0, t0, t0, t0 + 5_000, policy())).toEqual({
        fireMs: t0 + MIN,
        dueMs: t0 + MIN,
        skipped: 0,
      });
    });

    it('overlap skip: fire times that came during the run are skipped', () => {
      expect(planAfterRun(everyMinute, 'm', 0, t0, t0, t0 + 150_000, policy())).toEqual({
        fireMs: t0 + 3 * MIN,
        dueMs: t0 + 3 * MIN,
        skipped: 2,
      });
    });

    it('overlap bufferOne: the latest fire time that came during the run runs right away', () => {
      expect(
        planAfterRun(everyMinute, 'm', 0, t0, t0, t0 + 150_000, policy({ overlap: 'bufferOne' })),
      ).toEqual({
        fireMs: t0 + 2 * MIN,
        dueMs: t0 + 2 * MIN,
        skipped: 1,
      });
    });

    it('leaves a backlog (fire times already due at the claim) to the misfire policy', () => {
      // A retry claimed 5 minutes late: the next fire time was due before the claim.
      expect(
        planAfterRun(everyMinute, 'm', 0, t0, t0 + 5 * MIN, t0 + 5 * MIN + 1_000, policy()),
      ).toEqual({
        fireMs: t0 + MIN,
        dueMs: t0 + MIN,
        skipped: 0,
      });
    });
  });
});
