import { jitterOffsetMs } from '../time/jitter';
import type { FireSeries } from '../time/fire-series';
import type { ResolvedPolicy } from '../interfaces/schedule-policy.interface';

/** A fire time and the moment it becomes due (fire time + its deterministic jitter offset). */
export interface Arming {
  fireMs: number;
  dueMs: number;
}

/** Where to re-arm a schedule, and how many fire times that passes over unrun. */
export interface Plan extends Arming {
  skipped: number;
}

/** Fire times walked one by one when counting; beyond, the count is extrapolated. */
const COUNT_STEPS = 256;

/** The fire time `fireMs` with its jitter applied. */
export function withJitter(
  series: FireSeries,
  member: string,
  jitterMs: number,
  fireMs: number,
): Arming {
  if (jitterMs <= 0) return { fireMs, dueMs: fireMs };
  return {
    fireMs,
    dueMs: fireMs + jitterOffsetMs(member, fireMs, jitterMs, series.nextAfter(fireMs)),
  };
}

/** The first fire time strictly after `afterMs`, with its jitter. */
export function armAfter(
  series: FireSeries,
  member: string,
  jitterMs: number,
  afterMs: number,
): Arming {
  return withJitter(series, member, jitterMs, series.nextAfter(afterMs));
}

/**
 * Fire times in [fromMs, untilMs), fromMs being one: exact up to COUNT_STEPS, then extrapolated
 * from their average spacing (exact for fixed-period crons), so a week-long outage of a
 * per-second cron costs microseconds, not seconds of blocked event loop.
 */
export function countFires(series: FireSeries, fromMs: number, untilMs: number): number {
  let n = 0;
  let t = fromMs;
  while (t < untilMs && n < COUNT_STEPS) {
    n++;
    t = series.nextAfter(t);
  }
  if (t >= untilMs) return n;
  return n + Math.ceil((untilMs - t) / ((t - fromMs) / n));
}

/** Whether [fromMs, untilMs) holds more than `limit` fire times; walks at most limit + 1. */
function moreFiresThan(
  series: FireSeries,
  fromMs: number,
  untilMs: number,
  limit: number,
): boolean {
  let n = 0;
  for (let t = fromMs; t < untilMs; t = series.nextAfter(t)) if (++n > limit) return true;
  return false;
}

/** The latest fire time after `floorMs` whose jittered due time has come by `nowMs`, else floorMs. */
function latestDue(
  series: FireSeries,
  member: string,
  jitterMs: number,
  nowMs: number,
  floorMs: number,
): number {
  let latest = series.latestAtOrBefore(nowMs);
  // Jitter stays below the gap to the next fire time, so one step back is enough.
  for (let i = 0; i < 2 && latest !== null && latest > floorMs; i++) {
    if (withJitter(series, member, jitterMs, latest).dueMs <= nowMs) return latest;
    latest = series.latestAtOrBefore(latest - 1);
  }
  return Math.max(latest ?? floorMs, floorMs);
}

/**
 * Misfire policy, for a first attempt claimed so late that the following fire time is due too.
 * Returns where to re-arm instead of running `fireMs`, or null to run it.
 * - skip: run none of the missed fire times; resume at the first one after now.
 * - runOnce: run only the latest missed one (if within catchUpWindowMs, else as skip).
 * - runAll: run each missed one, oldest first, but only the latest maxCatchUp of them.
 * A series with no fire time after `fireMs` (a one-off) always runs it.
 */
export function planMisfire(
  series: FireSeries,
  member: string,
  jitterMs: number,
  fireMs: number,
  nowMs: number,
  policy: ResolvedPolicy,
): Plan | null {
  const following = armAfter(series, member, jitterMs, fireMs);
  // The last fire time (a one-off's only one) is never skipped: it runs however late it is.
  if (following.fireMs === Infinity) return null;
  if (following.dueMs > nowMs) {
    // Only this fire time went by: it is the latest missed one, so the catch-up window applies.
    const tooOld =
      policy.misfire === 'runOnce' &&
      policy.catchUpWindowMs > 0 &&
      nowMs - withJitter(series, member, jitterMs, fireMs).dueMs > policy.catchUpWindowMs;
    return tooOld ? { ...following, skipped: 1 } : null;
  }
  const latest = latestDue(series, member, jitterMs, nowMs, following.fireMs);
  const skipAll = (): Plan => ({
    ...armAfter(series, member, jitterMs, latest),
    skipped: countFires(series, fireMs, latest + 1),
  });
  switch (policy.misfire) {
    case 'skip':
      return skipAll();
    case 'runOnce':
      if (
        policy.catchUpWindowMs > 0 &&
        nowMs - withJitter(series, member, jitterMs, latest).dueMs > policy.catchUpWindowMs
      ) {
        return skipAll();
      }
      return {
        ...withJitter(series, member, jitterMs, latest),
        skipped: countFires(series, fireMs, latest),
      };
    case 'runAll': {
      if (!moreFiresThan(series, fireMs, latest + 1, policy.maxCatchUp)) return null;
      let earliest = latest;
      for (let i = 1; i < policy.maxCatchUp; i++)
        earliest = series.latestAtOrBefore(earliest - 1) ?? earliest;
      return {
        ...withJitter(series, member, jitterMs, earliest),
        skipped: countFires(series, fireMs, earliest),
      };
    }
  }
}

/**
 * Where a schedule goes after the run of `fireMs` (claimed at `claimedMs`) ends at `nowMs`.
 * A next fire time that was already due before the run was claimed is a backlog: it is armed as
 * is and the misfire policy decides at its claim. One that came during the run follows the
 * overlap policy: skip (resume at the first fire time after now) or bufferOne (run the latest
 * one that came, right away). 'allow' schedules were re-armed at claim, so this is not reached
 * for them except as a fallback, which skips.
 */
export function planAfterRun(
  series: FireSeries,
  member: string,
  jitterMs: number,
  fireMs: number,
  claimedMs: number,
  nowMs: number,
  policy: ResolvedPolicy,
): Plan {
  const next = armAfter(series, member, jitterMs, fireMs);
  if (next.dueMs > nowMs || next.fireMs <= claimedMs) return { ...next, skipped: 0 };
  const latest = latestDue(series, member, jitterMs, nowMs, next.fireMs);
  if (policy.overlap === 'bufferOne') {
    return {
      ...withJitter(series, member, jitterMs, latest),
      skipped: countFires(series, next.fireMs, latest),
    };
  }
  return {
    ...armAfter(series, member, jitterMs, latest),
    skipped: countFires(series, next.fireMs, latest + 1),
  };
}
