/** One recorded run of a schedule, as kept by the `runHistory` option. */
export interface RunRecord {
  fireTime: Date;
  attempt: number;
  fencingToken: number;
  /** 'retry': this attempt failed and a retry of the same fire time was scheduled. */
  status: 'succeeded' | 'failed' | 'retry';
  endedAt: Date;
}
