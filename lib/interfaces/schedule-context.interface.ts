/**
 * What every handler receives about the run it is doing.
 *
 * An abstract class rather than an interface, so that it is a value as well as a type: users
 * write it in decorated signatures (`@DistributedCron(…) cleanup(ctx: ScheduleContext)`), and
 * with `isolatedModules` and `emitDecoratorMetadata` (what `nest new` generates) TypeScript
 * refuses a type-only name there (TS1272) unless it is imported with `import type`. Only the
 * engine creates contexts; implement it (`implements ScheduleContext`) in tests that need one.
 */
export abstract class ScheduleContext {
  /** The static schedule's name, or the dynamic schedule's id. */
  abstract scheduleId: string;
  /** Set for dynamic schedules only. */
  abstract tenantId?: string;
  /** The nominal cron time this run is for; for a triggered run, when it was triggered (Redis time). */
  abstract fireTime: Date;
  /** When the run became due: fireTime plus the schedule's deterministic jitter offset. */
  abstract dueTime: Date;
  /** 1 for the first run of this fire time, larger when a run is re-done after a lost lease. */
  abstract attempt: number;
  /** Strictly increases for every run of the same schedule. */
  abstract fencingToken: number;
  /** Aborts when the run's lease is lost or the application shuts down. */
  abstract signal: AbortSignal;
  /**
   * True for an extra run started by `trigger()` or `triggerStatic()` (on every attempt of it),
   * false for a fire time of the schedule's series.
   */
  abstract trigger: boolean;
  /**
   * The idempotency key of this run: one string for the schedule (tenant included) and fire
   * time, the same on every attempt and every pod. `t:<tenantId>:<id>@<fire ms>` for a dynamic
   * schedule, `c:<name>@<fire ms>` for a static one; identifiers cannot contain ':', so two
   * tenants' schedules with the same id never share a key. A triggered run's key ends in
   * `:n<number>` (`t:acme:report@1767225600123:n42`), unique to that trigger.
   */
  abstract readonly idempotencyKey: string;
}
