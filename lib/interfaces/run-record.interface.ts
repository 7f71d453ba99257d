/** One recorded run of a schedule, as kept by the `runHistory` option. */
export interface RunRecord {
  /** Its place among the schedule's recorded runs: 1 for the first (counts every attempt). */
  sequence: number;
  fireTime: Date;
  attempt: number;
  fencingToken: number;
  /** 'retry': this attempt failed and a retry of the same fire time was scheduled. */
  status: 'succeeded' | 'failed' | 'retry';
  /** When the handler started (its pod's estimate of Redis time); null if not known. */
  startedAt: Date | null;
  /** When the end was recorded (Redis time). */
  endedAt: Date;
  /** endedAt − startedAt (ms); null if startedAt is not known. */
  durationMs: number | null;
  /** The pod that ran it ('host:pid:random'); '' if not known. */
  podId: string;
  /** The error of a failed attempt, its first 500 characters; null for a success. */
  error: string | null;
  /**
   * The run's result: for a success, what the handler returned; for a failure, the `result` its
   * error carried (RunResultCarrier), e.g. the 'http' handler's `{ status, durationMs }`. Kept
   * when its JSON is at most 1 kB (1,024 bytes); null when there is none, it is larger, or it
   * cannot be serialised (that never fails the run).
   */
  result: unknown;
}

/**
 * What an error thrown by a handler may carry for the run history: its `result` is kept as the
 * failed run's result (RunRecord.result, DeadLetter.result, the `run.failed` and `run.retrying`
 * events), bounded like a success's. `NonRetryableError` takes it as an option.
 */
export interface RunResultCarrier {
  readonly result?: unknown;
}
