import { jitterOffsetMs } from '../time/jitter';
import type { CronSchedule } from '../time/cron';

/** A fire time and the moment it becomes due (fire time + its deterministic jitter offset). */
export interface Arming {
  fireMs: number;
  dueMs: number;
}

/** The fire time `fireMs` with its jitter applied. */
export function withJitter(
  cron: CronSchedule,
  member: string,
  jitterMs: number,
  fireMs: number,
): Arming {
  if (jitterMs <= 0) return { fireMs, dueMs: fireMs };
  return {
    fireMs,
    dueMs: fireMs + jitterOffsetMs(member, fireMs, jitterMs, cron.nextAfter(fireMs)),
  };
}

/** The first fire time strictly after `afterMs`, with its jitter. */
export function armAfter(
  cron: CronSchedule,
  member: string,
  jitterMs: number,
  afterMs: number,
): Arming {
  return withJitter(cron, member, jitterMs, cron.nextAfter(afterMs));
}

/**
 * Where a schedule goes after the run of `fireMs` ends at `nowMs`. Fire times that became due
 * while the run held its lease are skipped (overlap policy 'skip'): the schedule resumes at the
 * first fire time after now. `skipped` says whether that happened.
 */
export function planAfterRun(
  cron: CronSchedule,
  member: string,
  jitterMs: number,
  fireMs: number,
  nowMs: number,
): Arming & { skipped: boolean } {
  const next = armAfter(cron, member, jitterMs, fireMs);
  if (next.dueMs > nowMs) return { ...next, skipped: false };
  return { ...armAfter(cron, member, jitterMs, nowMs), skipped: true };
}

/**
 * A first attempt claimed so late that the following fire time is due as well (all pods were
 * down, Redis was unreachable): misfire policy 'runOnce' runs only the latest missed fire time.
 * Returns that fire time to re-arm at, or null when `fireMs` is still the one to run.
 */
export function supersededBy(
  cron: CronSchedule,
  member: string,
  jitterMs: number,
  fireMs: number,
  nowMs: number,
): Arming | null {
  const following = armAfter(cron, member, jitterMs, fireMs);
  if (following.dueMs > nowMs) return null;
  const latest = cron.latestAtOrBefore(nowMs);
  if (latest === null || latest <= following.fireMs) return following;
  return withJitter(cron, member, jitterMs, latest);
}
