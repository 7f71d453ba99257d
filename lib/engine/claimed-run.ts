import type { Logger } from '@nestjs/common';
import type { ResolvedPolicy } from '../interfaces/schedule-policy.interface';
import type { RegisteredHandler } from '../discovery/handler.registry';
import { MemberInfo, parseMember } from '../redis/key-space';
import type { ClaimedRun, Completion } from '../redis/protocol/run.types';
import { ScheduleTiming } from '../time/schedule-timing';
import type { PlanningFacts } from './run-planning';
import { decodePolicy, resolvePolicy } from '../policy/schedule-policy';
import type { Reservation } from './reservation-book';
import { advance, RunEffect, RunEvent, RunPhase } from './run-lifecycle';
import type { RunOutcome } from './run-executor';
import type { LeasedRun } from './run-lease';

/** Where a claimed run came from. */
export interface RunSource {
  partition: number;
  handler: RegisteredHandler;
}

/** What the claim said besides the runs. */
export interface ClaimInfo {
  nowMs: number;
  epoch: number;
}

/**
 * A claimed run with what every step needs about it, and where it is in its lifecycle. A next
 * fire time chained by its completion reuses the same object (see RunCoordinator.reserveChained).
 */
export interface Claimed {
  phase: RunPhase;
  source: RunSource;
  run: ClaimedRun;
  info: MemberInfo;
  timing: ScheduleTiming;
  policy: ResolvedPolicy;
  /** Redis time of the claim, or of the confirmation of a reservation. */
  claimedMs: number;
  /** The partition's change epoch at that claim or confirmation. */
  epoch: number;
  /**
   * The confirmation pass it was claimed or confirmed in (see RunCoordinator.confirmed); -1 when
   * that was in an earlier turn. A first attempt starts without another confirmation only within
   * that pass.
   */
  pass: number;
  /** When it was confirmed, and the local write count then (see RunSlots). */
  confirmedAt: number;
  writeMark: number;
  /** Sent to be confirmed again, holding a slot to start in as soon as that is done. */
  holdsSlot: boolean;
  /** Missed fire times passed over when the claim was retargeted to the latest one. */
  skippedBefore: number;
  /** Its entry in the ReservationBook, kept for the next reservation of the same schedule. */
  reservation?: Reservation<Claimed>;
}

/** A started run: its lease, kept by the LeaseKeeper, and its handler's outcome. */
export interface ActiveRun extends LeasedRun {
  claimed: Claimed;
  /** Shutdown handed the lease back: the run's end must not be recorded. */
  givenBack: boolean;
  /** The handler is done and its outcome is being recorded: shutdown lets that finish. */
  finished: boolean;
  /** The handler's outcome, once it is done. */
  outcome: RunOutcome | undefined;
  /** When the handler was invoked (the pod's estimate of Redis time, ms), for the run history. */
  startedMs: number;
}

/** A completeRuns write on its way, and what to do with its result. */
export interface Recording {
  c: Claimed;
  completion: Completion;
  /**
   * Set when a handler ran: the run stays active until this write is done, and the write is
   * announced as the run's end or its retry.
   */
  active: ActiveRun | undefined;
  /** Writes tried so far (Redis unreachable: backoff, while the lease lasts). */
  tries: number;
}

/** A claimed run as the coordinator tracks it; throws for a timing this version cannot use. */
export function toClaimed(
  source: RunSource,
  run: ClaimedRun,
  claim: ClaimInfo,
  defaultPolicy: ResolvedPolicy,
): Claimed {
  return {
    phase: 'claimed',
    source,
    run,
    info: parseMember(run.member),
    timing: ScheduleTiming.decode(run.timing),
    policy: resolvePolicy(decodePolicy(run.policy), defaultPolicy),
    claimedMs: claim.nowMs,
    epoch: claim.epoch,
    pass: -1,
    confirmedAt: -Infinity,
    writeMark: 0,
    holdsSlot: false,
    skippedBefore: 0,
  };
}

/**
 * The ReservationBook entry that holds `c` until `dueMs`: the same object each time the run is
 * reserved (a chained next fire time, a confirmation again), so a busy schedule allocates none.
 */
export function reservationOf(c: Claimed, dueMs: number): Reservation<Claimed> {
  const { run } = c;
  const r = c.reservation;
  if (!r) {
    return (c.reservation = {
      partition: c.source.partition,
      member: run.member,
      fencingToken: run.fencingToken,
      revision: run.revision,
      dueMs,
      epoch: c.epoch,
      leaseUntilMs: run.leaseUntilMs,
      item: c,
    });
  }
  r.member = run.member;
  r.fencingToken = run.fencingToken;
  r.revision = run.revision;
  r.dueMs = dueMs;
  r.epoch = c.epoch;
  r.leaseUntilMs = run.leaseUntilMs;
  return r;
}

/**
 * Reuses `c` for the next fire time its completion reserved (completeRuns' chain): a first
 * attempt, leased as a reservation from its due time (or from the completion, if due already).
 */
export function rechain(
  c: Claimed,
  fireMs: number,
  dueMs: number,
  result: { chainedFence: number; nowMs: number; epoch: number },
  reservationLeaseMs: number,
): void {
  const { run } = c;
  run.fireMs = fireMs;
  run.dueMs = dueMs;
  run.attempt = 1;
  run.fencingToken = result.chainedFence;
  run.leaseUntilMs = Math.max(dueMs, result.nowMs) + reservationLeaseMs;
  run.claim = 'run';
  c.claimedMs = result.nowMs;
  c.epoch = result.epoch;
  c.pass = -1;
  c.skippedBefore = 0;
}

/** What the planner needs to know about `c` (run-planning.ts). */
export function planningFacts(c: Claimed): PlanningFacts {
  return {
    run: c.run,
    schedule: c.info.schedule,
    timing: c.timing,
    policy: c.policy,
    claimedMs: c.claimedMs,
  };
}

/** Moves `c` on by `event` (run-lifecycle.ts); a transition the lifecycle lacks is a bug, logged. */
export function moveRun(c: Claimed, event: RunEvent, logger: Logger): RunEffect {
  const effect = advance(c, event);
  if (effect === undefined) {
    logger.error(`Run of "${c.info.id}": no transition for '${event}' in '${c.phase}'`);
    return 'none';
  }
  return effect;
}
