/** How a failed run is tried again. The retry keeps the fire time (same idempotency key). */
export interface RetryPolicy {
  /** Total runs of one fire time, the first included; 1 = no retry. @default 1 */
  attempts?: number;
  /** @default 'exponential' */
  backoff?: 'fixed' | 'exponential';
  /** Delay before the first retry (doubled each time when exponential). @default 1_000 */
  delayMs?: number;
  /** Cap of the exponential delay. @default 60_000 */
  maxDelayMs?: number;
  /** Randomise each delay within [delay/2, delay] so retries of a herd spread. @default true */
  jitter?: boolean;
}

/** What to do when fire times went by unrun (all pods down, Redis down, a long pause). */
export type MisfirePolicy = 'runOnce' | 'skip' | 'runAll';

/** What to do with a fire time that comes while the previous run of the schedule still runs. */
export type OverlapPolicy = 'skip' | 'allow' | 'bufferOne';

/** Failure semantics of one schedule; unset fields fall back to the module's `defaultPolicy`. */
export interface SchedulePolicy {
  retry?: RetryPolicy;
  /** Aborts ctx.signal after this long and counts the run as failed (retried per `retry`). 0 = none. @default 0 */
  timeoutMs?: number;
  /** @default 'runOnce' */
  misfire?: MisfirePolicy;
  /** runOnce: run the latest missed fire time only if it is at most this old; 0 = any age. @default 0 */
  catchUpWindowMs?: number;
  /** runAll: most missed fire times run, the latest ones. @default 10 */
  maxCatchUp?: number;
  /** @default 'skip' */
  overlap?: OverlapPolicy;
}

/** A policy with every field filled in. */
export interface ResolvedPolicy {
  retry: Required<RetryPolicy>;
  timeoutMs: number;
  misfire: MisfirePolicy;
  catchUpWindowMs: number;
  maxCatchUp: number;
  overlap: OverlapPolicy;
}
