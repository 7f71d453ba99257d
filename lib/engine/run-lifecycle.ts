/**
 * The lifecycle of one claimed run: named phases and pure transitions. The RunCoordinator keeps
 * each run's phase and carries out the effect of each transition (a Redis call, a timer, a
 * handler); what happens next is decided here, without Redis or timers, and unit-tested as a
 * table of phase × event → phase, effect and end.
 *
 *   claimed ─ahead─► reserved ─due, confirmed─┐
 *      └──── due ─────────────────────────────┴► admission ─► ready ─slot─► running ─► recording ─► ended
 *                            stale / skip / gave up ─┘  │  │     │  ▲ 'allow'       ▲
 *                          misfire: later fire time ────┘  │     │  └ detaching     │ handler done,
 *                          ◄── retargeting ◄───────────────┘     └► rechecking      │ or parked
 *                                                                   (confirmed again, holding a slot)
 *
 * A run that cannot start in the pass that claimed or confirmed it is confirmed again before it
 * starts (rechecking), so that a remove, pause or change that resolved meanwhile is honoured. A run
 * whose fire times cannot be computed is parked from any phase before `recording`.
 */
export type RunPhase =
  | 'claimed'
  | 'reserved'
  | 'ready'
  | 'rechecking'
  | 'retargeting'
  | 'detaching'
  | 'running'
  | 'recording'
  | 'ended';

/** Why a run ended. */
export type RunEnd =
  /** Its end (success or final failure) was written while it held the lease. */
  | 'recorded'
  /** It failed and a retry of the same fire time is stored in Redis, for any pod. */
  | 'retry-pending'
  /** Fire times were passed over (misfire, overlap, stale claim), and the schedule re-armed. */
  | 'skipped'
  /** Its fire times could not be computed: the schedule is parked. */
  | 'parked'
  /** Never started, given back as if never claimed (its schedule changed, or shutdown). */
  | 'handed-back'
  /** Never started: its lease was lost (taken over, removed, expired) before it could. */
  | 'lost'
  /** Redis refused its end: the lease had been lost (late completion). */
  | 'rejected'
  /** Shutdown aborted it and ended its lease, so another pod re-runs it at once. */
  | 'given-back'
  /** Its end could not reach Redis before its lease ran out: another pod re-runs it. */
  | 'abandoned';

export type RunEvent =
  /** Claimed before its due time (a reservation, or a next fire time chained by a completion). */
  | 'reserve'
  /** Admission (see `admit`): start it. */
  | 'admit'
  /** Admission: a stale claim, or a misfire to skip: write the skip and re-arm. */
  | 'skip'
  /** Admission: every attempt was used up: write the final failure. */
  | 'give-up'
  /** Admission: misfire policy, run the latest missed fire time under this claim instead. */
  | 'retarget'
  /** confirmRuns: the schedule changed or was paused since the claim; handed back and re-armed. */
  | 'changed'
  /** confirmRuns or another script: the lease is no longer this run's. */
  | 'lost'
  /** Its lease ran out before it could start (this pod stalled). */
  | 'expired'
  /** A free slot, and it must be confirmed again first. */
  | 'recheck'
  /** A free slot, overlap 'allow': detach it under its own record first. */
  | 'detach'
  /** A free slot: run the handler. */
  | 'launch'
  /** retargetRuns or detachRuns did it. */
  | 'moved'
  /** retargetRuns: the fire time to run instead is not due yet by Redis TIME. */
  | 'too-early'
  /** The handler is done. */
  | 'finished'
  /** The handler is done after shutdown gave its lease back: nothing to write. */
  | 'finished-given-back'
  /** completeRuns wrote it; the end it wrote. */
  | 'wrote-end'
  | 'wrote-retry'
  | 'wrote-skip'
  | 'wrote-park'
  /** completeRuns refused it (lease lost). */
  | 'refused'
  /** completeRuns did not answer; the lease still holds: write again after a backoff. */
  | 'write-failed'
  /** completeRuns did not answer and the lease has run out, or the app has shut down. */
  | 'write-abandoned'
  /** Shutdown: a run not started is given back. */
  | 'close'
  /** Its fire times cannot be computed. */
  | 'unplannable'
  /** A completion chained its next fire time: the same run object starts over. */
  | 'chain';

export type RunEffect =
  | 'none'
  /** Hold it in the reservation book until its due time, then confirm it. */
  | 'hold'
  /** Wait for a free slot. */
  | 'queue'
  /** Wait for a free slot, first in line, in the slot it held while it was confirmed again. */
  | 'queue-first'
  /** confirmRuns again, holding a slot. */
  | 'recheck'
  | 'retarget'
  /** retargetRuns again once that fire time is due. */
  | 'retarget-later'
  | 'detach'
  /** Invoke the handler under the run's lease. */
  | 'launch'
  /** completeRuns: the run's end, retry or skip. */
  | 'write'
  | 'write-again'
  /** completeRuns: park the schedule. */
  | 'park'
  /** releaseRuns (a first attempt) or end the lease (a re-run): another pod claims it at once. */
  | 'hand-back'
  /** Look at the due index again: the change re-armed the schedule. */
  | 'rearm'
  /** Events for what was written, then chain the next fire time or re-arm. */
  | 'announce'
  | 'report-lost'
  | 'report-rejected'
  | 'report-abandoned';

export interface Transition {
  readonly phase: RunPhase;
  readonly effect: RunEffect;
  /** Set when the transition ends the run. */
  readonly end?: RunEnd;
}

const to = (phase: RunPhase, effect: RunEffect): Transition => Object.freeze({ phase, effect });
const end = (why: RunEnd, effect: RunEffect): Transition =>
  Object.freeze({ phase: 'ended', effect, end: why });

/** What admission and parking lead to from a phase that has not started the handler. */
const ADMISSION = {
  admit: to('ready', 'queue'),
  skip: to('recording', 'write'),
  'give-up': to('recording', 'write'),
  retarget: to('retargeting', 'retarget'),
  unplannable: to('recording', 'park'),
} as const;

const NOT_STARTED = {
  changed: end('handed-back', 'rearm'),
  lost: end('lost', 'report-lost'),
  close: end('handed-back', 'hand-back'),
} as const;

/** Every allowed transition; any other (phase, event) is a bug the coordinator reports. */
export const TRANSITIONS: Readonly<
  Record<RunPhase, Readonly<Partial<Record<RunEvent, Transition>>>>
> = {
  claimed: { reserve: to('reserved', 'hold'), ...ADMISSION, close: NOT_STARTED.close },
  reserved: { ...ADMISSION, ...NOT_STARTED },
  rechecking: { ...ADMISSION, admit: to('ready', 'queue-first'), ...NOT_STARTED },
  ready: {
    recheck: to('rechecking', 'recheck'),
    skip: ADMISSION.skip,
    retarget: ADMISSION.retarget,
    detach: to('detaching', 'detach'),
    launch: to('running', 'launch'),
    expired: end('lost', 'report-lost'),
    close: NOT_STARTED.close,
    unplannable: ADMISSION.unplannable,
  },
  retargeting: {
    moved: to('ready', 'queue'),
    'too-early': to('retargeting', 'retarget-later'),
    lost: NOT_STARTED.lost,
  },
  detaching: { moved: to('running', 'launch'), lost: NOT_STARTED.lost },
  running: {
    finished: to('recording', 'write'),
    'finished-given-back': end('given-back', 'none'),
    unplannable: to('recording', 'park'),
  },
  recording: {
    'wrote-end': end('recorded', 'announce'),
    'wrote-retry': end('retry-pending', 'announce'),
    'wrote-skip': end('skipped', 'announce'),
    'wrote-park': end('parked', 'announce'),
    refused: end('rejected', 'report-rejected'),
    'write-failed': to('recording', 'write-again'),
    'write-abandoned': end('abandoned', 'report-abandoned'),
  },
  ended: { chain: to('claimed', 'none') },
};

/** The transition for `event` in `phase`, or undefined when it is not allowed there. */
export function transition(phase: RunPhase, event: RunEvent): Transition | undefined {
  return TRANSITIONS[phase][event];
}

/** What a free slot means for a run waiting in `ready` (checked in this order). */
export interface SlotFacts {
  /** A first attempt claimed or confirmed in an earlier pass than the current one. */
  stale: boolean;
  /** The misfire policy's say, for a run that waited long for its slot. */
  admission: 'admit' | 'skip' | 'retarget';
  closing: boolean;
  /** Its lease still holds (with the abort margin) by the local estimate of Redis time. */
  leaseLeft: boolean;
  /** A first attempt of an overlap 'allow' schedule. */
  detach: boolean;
}

/** The event a free slot gives a ready run. */
export function slotEvent(facts: SlotFacts): RunEvent {
  if (facts.stale && !facts.closing) return 'recheck';
  if (facts.admission !== 'admit') return facts.admission;
  if (facts.closing) return 'close';
  if (!facts.leaseLeft) return 'expired';
  return facts.detach ? 'detach' : 'launch';
}

/**
 * Moves `run` on by `event` and returns the effect to carry out; undefined (the phase unchanged)
 * when the lifecycle does not allow `event` in its phase.
 */
export function advance(run: { phase: RunPhase }, event: RunEvent): RunEffect | undefined {
  const t = TRANSITIONS[run.phase][event];
  if (!t) return undefined;
  run.phase = t.phase;
  return t.effect;
}
