/** What every handler receives about the run it is doing. */
export interface ScheduleContext {
  /** The static schedule's name, or the dynamic schedule's id. */
  scheduleId: string;
  /** Set for dynamic schedules only. */
  tenantId?: string;
  /** The nominal cron time this run is for; (scheduleId, fireTime) is the idempotency key. */
  fireTime: Date;
  /** When the run became due: fireTime plus the schedule's deterministic jitter offset. */
  dueTime: Date;
  /** 1 for the first run of this fire time, larger when a run is re-done after a lost lease. */
  attempt: number;
  /** Strictly increases for every run of the same schedule. */
  fencingToken: number;
  /** Aborts when the run's lease is lost or the application shuts down. */
  signal: AbortSignal;
}
