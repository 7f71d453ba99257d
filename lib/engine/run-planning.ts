import type { ResolvedPolicy } from '../interfaces/schedule-policy.interface';
import type { ClaimedRun } from '../redis/protocol/run.types';
import type { ScheduleTiming } from '../time/schedule-timing';
import { Plan, planAfterRun, planMisfire, withJitter } from './fire-planner';
import type { RunOutcome } from './run-executor';
import { retryDelayMs } from '../policy/schedule-policy';

/**
 * Pure decisions about one run, from the schedule's timing and policy and a Redis time: whether a
 * due claim may start (admission), and where the schedule goes after its run. They compute fire
 * times, so they may throw for an expression cron-parser cannot follow (the run is then parked).
 */

/** What a decision needs to know about a claimed run. */
export interface PlanningFacts {
  run: Pick<ClaimedRun, 'claim' | 'attempt' | 'fireMs'>;
  /** The schedule's member (its jitter seed). */
  schedule: string;
  timing: ScheduleTiming;
  policy: ResolvedPolicy;
  /** Redis time of the claim or confirmation. */
  claimedMs: number;
}

/** What admission decided, and where to re-arm or which fire time to run instead. */
export type Admission =
  | { event: 'admit' }
  | { event: 'skip'; plan: Plan }
  | { event: 'give-up'; plan: Plan; why: string }
  | { event: 'retarget'; plan: Plan };

const ADMIT: Admission = Object.freeze({ event: 'admit' });

/**
 * A due claim: a stale one (a fire time at or below the exactly-once mark) only re-arms; one
 * whose attempts are used up is recorded as failed; a late first attempt goes through the misfire
 * policy; the rest may start.
 */
export function admit(f: PlanningFacts, nowMs: number, maxAttempts: number): Admission {
  if (f.run.claim === 'stale') return { event: 'skip', plan: planAfter(f, nowMs) };
  const most = Math.max(f.policy.retry.attempts, maxAttempts);
  if (f.run.attempt > most) {
    const why = `gave up after ${most} attempts that each lost their lease or failed`;
    return { event: 'give-up', plan: planAfter(f, nowMs), why };
  }
  return misfire(f, f.claimedMs);
}

/**
 * The misfire policy for a first attempt that is late at `nowMs` (Redis time): run the latest
 * missed fire time instead (retarget) when it is due already, or skip to a later one.
 */
export function misfire(f: PlanningFacts, nowMs: number): Admission {
  if (f.run.claim !== 'run') return ADMIT;
  const { series, jitterMs } = f.timing;
  const plan = planMisfire(series, f.schedule, jitterMs, f.run.fireMs, nowMs, f.policy);
  if (!plan) return ADMIT;
  if (plan.dueMs <= nowMs && f.policy.misfire !== 'skip') return { event: 'retarget', plan };
  return { event: 'skip', plan };
}

/** Where the schedule goes after the run claimed at `claimedMs` ends at `nowMs`. */
function planAfter(f: PlanningFacts, nowMs: number): Plan {
  const { series, jitterMs } = f.timing;
  return planAfterRun(series, f.schedule, jitterMs, f.run.fireMs, f.claimedMs, nowMs, f.policy);
}

/**
 * The next fire time after a run that ended at `nowMs`. One due already (a backlog: the pod is
 * behind) goes through the misfire policy here, as its claim would, so that this pod keeps it at
 * once instead of waiting for a claim and a retarget.
 */
function nextPlan(f: PlanningFacts, nowMs: number): Plan {
  const plan = planAfter(f, nowMs);
  if (plan.dueMs > nowMs) return plan;
  const { series, jitterMs } = f.timing;
  const late = planMisfire(series, f.schedule, jitterMs, plan.fireMs, nowMs, f.policy);
  return late ? { ...late, skipped: plan.skipped + late.skipped } : plan;
}

/** Where overlap 'allow' re-arms the schedule when its run detaches (at its claim). */
export function planDetached(f: PlanningFacts): Plan {
  return planAfter(f, f.claimedMs);
}

/** The due time (fire time + jitter offset) of the claimed fire time. */
export function dueOf(f: PlanningFacts): number {
  const { series, jitterMs } = f.timing;
  return withJitter(series, f.schedule, jitterMs, f.run.fireMs).dueMs;
}

/** What to write once the handler is done. */
export type RunEnding =
  | { outcome: 'retry'; plan: Plan }
  | { outcome: RunOutcome['status']; plan: Plan; mayChain: boolean };

const NO_PLAN: Plan = Object.freeze({ fireMs: 0, dueMs: 0, skipped: 0 });

/**
 * A failed run with attempts left is retried for the same fire time after the retry delay (unless
 * its handler said no retry can help: a NonRetryableError); any other end re-arms the schedule at its next fire time (a detached 'allow' run was re-armed at
 * its claim already, so it writes no plan and chains nothing).
 */
export function ending(
  f: PlanningFacts,
  outcome: RunOutcome,
  detached: boolean,
  nowMs: number,
  random = Math.random,
): RunEnding {
  const { retry } = f.policy;
  if (outcome.status === 'failed' && !outcome.final && f.run.attempt < retry.attempts) {
    const dueMs = Math.ceil(nowMs + retryDelayMs(retry, f.run.attempt, random));
    return { outcome: 'retry', plan: { fireMs: f.run.fireMs, dueMs, skipped: 0 } };
  }
  if (detached) return { outcome: outcome.status, plan: NO_PLAN, mayChain: false };
  return { outcome: outcome.status, plan: nextPlan(f, nowMs), mayChain: true };
}

/** What the chaining decision needs to know. */
export interface ChainFacts {
  closing: boolean;
  lookAheadMs: number;
  nowMs: number;
  /** The schedule is assigned to this pod (PodRegistry). */
  owned: boolean;
  /** This pod has look-ahead room for another reservation. */
  room: boolean;
}

/**
 * Whether completeRuns reserves the next fire time of a schedule this pod just ran, in the same
 * call: only when it is due within the look-ahead (or due already), the schedule is assigned to
 * this pod and this pod has room for it. One assigned to another pod is handed to it with a
 * wake-up ('wake'), so that pod reserves it in time. Due already (this pod is behind): kept
 * whoever it is assigned to, since a hand-over would only add a claim.
 */
export function chainDecision(plan: Plan, f: ChainFacts): 'chain' | 'wake' | 'none' {
  if (f.closing || f.lookAheadMs === 0) return 'none';
  const ahead = plan.dueMs - f.nowMs;
  if (plan.dueMs <= 0 || ahead > f.lookAheadMs) return 'none';
  if (ahead > 0 && !f.owned) return 'wake';
  return f.room ? 'chain' : 'none';
}
