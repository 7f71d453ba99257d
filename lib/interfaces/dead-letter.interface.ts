/** A run that failed for good: its last attempt failed, or too many attempts lost their lease. */
export interface DeadLetter {
  /** Set for dynamic schedules. */
  tenantId?: string;
  /** The dynamic schedule's id, or the static schedule's name. */
  scheduleId: string;
  handler: string;
  fireTime: Date;
  /** Attempts made, the failed one included. */
  attempts: number;
  error: string;
  failedAt: Date;
  /** The `result` the last attempt's error carried (see RunRecord.result); null for none. */
  result: unknown;
}
