/*
 * What the engine hands the run scripts and gets back from them (claimDue, confirmRuns,
 * completeRuns, detachRuns, retargetRuns, releaseRuns, extendLeases): the protocol's types, apart
 * from the calls that carry them (redis-scripts.ts), so the engine depends on these alone.
 */

import type { Verdict } from './codec';

/** Why a script left a run alone: another claim owns it (or its schedule is gone), or its lease ran out. */
export type LeaseRefusal = 'lease-lost' | 'lease-expired';

/** Why a reservation will not start: a lease refusal, or its schedule changed or was paused. */
export type ConfirmRefusal = LeaseRefusal | 'changed';

/** One schedule run handed to this pod by claimDue. */
export interface ClaimedRun {
  member: string;
  fireMs: number;
  /** When the run is due (Redis ms): later than the claim for a reservation; -1 for a re-claim. */
  dueMs: number;
  attempt: number;
  /** The claim's fencing token, which is also its owner token. */
  fencingToken: number;
  leaseUntilMs: number;
  /**
   * run: first attempt of a fire time of the series; trigger: first attempt of a triggered run
   * (its own record: no misfire policy, no detaching, handed back by ending its lease); recover: a
   * retry or a lost lease re-run (attempt > 1); stale: already claimed, only re-arm (attempt 0).
   */
  claim: 'run' | 'trigger' | 'recover' | 'stale';
  /** The schedule's revision at the claim (moves on with every change). */
  revision: string;
  /** '<cron>|<time zone>|<jitter ms>' as stored. */
  timing: string;
  payload: string;
  /** The schedule's own policy fields as stored (JSON), '' when it sets none. */
  policy: string;
  /** The schedule's incarnation number: which pod it is assigned to (see PodRegistry). */
  incarnation: number;
}

export interface ClaimReply {
  nowMs: number;
  /**
   * Where to look next: the last score examined when the limit cut the claim short (more may be
   * due: `more`), else the first score after the look-ahead window (a due time or a lease
   * expiry); null when none.
   */
  nextScoreMs: number | null;
  /** Least score of an entry left alone inside the window (a lease still held, a retry not yet due). */
  heldScoreMs: number | null;
  /** The partition's change epoch at the claim (see confirmRuns). */
  epoch: number;
  /** Entries examined and left alone: a claim that goes on in the same round passes over them. */
  passed: number;
  /** The limit stopped the claim: the window may hold more. */
  more: boolean;
  runs: ClaimedRun[];
}

export interface ClaimTarget {
  due: string;
  fence: string;
  hashBase: string;
  epoch: string;
}

/** One due index to claim from, with this pod's share of it (see claimDue-4.lua). */
export interface ClaimCall extends ClaimTarget {
  share: Share;
  /** Entries of the window a previous call of the same round left alone. */
  offset: number;
  /** Most reservations to make. */
  maxAhead: number;
}

/** This pod's place among the pods that run a handler. */
export interface Share {
  pods: number;
  rank: number;
}

/** A reserved run to confirm: see confirmRuns-1.lua. */
export interface Confirmation {
  member: string;
  fencingToken: number;
  revision: string;
}

/** `epoch`: the partition's change epoch at the confirmation (unknown when early: -1). */
export type ConfirmReply =
  | { status: 'confirmed'; nowMs: number; epoch: number }
  | { status: 'early'; nowMs: number; epoch: number }
  /** Only for a call without runs: the epoch moved on, call again with them. */
  | { status: 'check'; nowMs: number; epoch: number }
  /** One verdict per run, in order: 'ok' may start. */
  | { status: 'checked'; nowMs: number; epoch: number; verdicts: Verdict<ConfirmRefusal>[] };

export interface Completion {
  member: string;
  fencingToken: number;
  outcome: 'succeeded' | 'failed' | 'skipped' | 'retry';
  revision: string;
  /** Where to re-arm the schedule (for retry: unused). */
  nextFireMs: number;
  /** When the re-armed schedule (or, for retry, the retry) is due. */
  nextDueMs: number;
  error: string;
  skipped: number;
  /** JSON of the dead letter to keep, '' for none. */
  deadLetter: string;
  /**
   * 'chain': reserve the next fire time for this pod if it is due within the look-ahead; 'wake':
   * it is another pod's to reserve, publish a wake-up for it; 'park': its fire times cannot be
   * computed, so it is paused with `error` as the reason and not re-armed; 'none'.
   */
  chain: 'chain' | 'wake' | 'park' | 'finish' | 'none';
  /** When the handler started (the pod's estimate of Redis ms), 0 when none ran; for the history. */
  startedMs: number;
  /** The run's result as JSON (run-result.ts: bounded, without line breaks), '' for none; for the history. */
  result: string;
}

/** completeRuns' ARGV besides the runs (see completeRuns-1.lua). */
export interface CompletionLimits {
  deadLetters: number;
  history: number;
  leaseMs: number;
  lookAheadMs: number;
  wakeChannel: string;
  /** The recording pod's id, written to the history (no ','). */
  podId: string;
}

/** What completeRuns says of one run. */
export interface CompletionResult {
  /** 'ok': recorded; otherwise the run was left untouched (a late completion is rejected). */
  verdict: Verdict<LeaseRefusal>;
  /** The fencing token of the next fire time reserved by the same call, 0 if none. */
  chainedFence: number;
  /**
   * The run's sequence number among its schedule's runs (every attempt counted, from 1), as the
   * Redis history numbers it; 0 when not recorded, or for skipped fire times.
   */
  sequence: number;
  /** Redis time and change epoch of the call. */
  nowMs: number;
  epoch: number;
}

export interface Detachment {
  member: string;
  fencingToken: number;
  revision: string;
  nextFireMs: number;
  nextDueMs: number;
}

export interface Retarget {
  member: string;
  fencingToken: number;
  fireMs: number;
  dueMs: number;
}

export interface RunRef {
  member: string;
  fencingToken: number;
}

/** detachRuns: 'ok' detached. */
export type DetachVerdict = Verdict<LeaseRefusal>;

/** retargetRuns: 'ok' retargeted; 'too-early' the new fire time is not due yet (nothing written). */
export type RetargetVerdict = Verdict<LeaseRefusal | 'too-early'>;

/** releaseRuns: 'ok' handed back; 'lease-lost' not owned by the token, or no first attempt. */
export type ReleaseVerdict = Verdict<'lease-lost'>;

/** extendLeases: the new lease expiry (Redis ms), or why the lease was not renewed. */
export type Renewal = number | LeaseRefusal;
