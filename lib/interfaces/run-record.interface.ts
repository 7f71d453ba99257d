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
}
