import type { ScheduleInput } from './schedule.interface';

/**
 * A dynamic schedule's definition as the durable store keeps it: what was given to `upsert()`,
 * validated, with `timeZone`, `jitterMs` and `enabled` filled in (JSON-serialisable).
 */
export type ScheduleDefinition = Omit<ScheduleInput, 'tenantId' | 'id'> & {
  timeZone: string;
  jitterMs: number;
  enabled: boolean;
};

/** One row of the durable store. */
export interface StoredScheduleRecord {
  tenantId: string;
  id: string;
  /** null for a removed schedule (a tombstone, kept so that every pod learns of the removal). */
  definition: ScheduleDefinition | null;
  /** 1 when created; +1 on every change that alters the row (an identical upsert keeps it). */
  version: number;
  /** Set by the store, on its own clock, at every change; the reconciler's watermark. */
  updatedAt: Date;
  /**
   * An interval's (`every`) anchor: its fire times are anchorAt + k × every. Set by the store
   * when the row gets a new `every` (kept while `every` stays the same) and written to Redis with
   * the schedule, so that a schedule written back after a data loss keeps its grid. Null or absent
   * for crons and one-offs, or when the store keeps none (Redis anchors it then).
   */
  anchorAt?: Date | null;
  /**
   * A one-off (`at`) whose run completed (recordRuns): it no longer counts toward the tenant quota
   * and the reconciler does not write it to Redis again. An upsert that changes it clears this.
   */
  finished?: boolean;
  /** The latest fire time whose run completed, as recordRuns reported it; null if none yet. */
  lastCompletedFireAt?: Date | null;
}

/** What SchedulerService.pauseTenant / resumeTenant / removeTenant commit to the store. */
export type TenantAction = 'pause' | 'resume' | 'remove';

/** A change to one schedule, as SchedulerService hands it to ScheduleStore.write(). */
export type ScheduleChange =
  | { kind: 'upsert'; tenantId: string; id: string; definition: ScheduleDefinition }
  | { kind: 'remove'; tenantId: string; id: string }
  | { kind: 'setEnabled'; tenantId: string; id: string; enabled: boolean };

/**
 * What write() did with one change. 'refused': the tenant quota (nothing written for it);
 * 'missing': remove/setEnabled of a schedule the store does not hold.
 */
export interface ScheduleChangeResult {
  status: 'created' | 'updated' | 'unchanged' | 'removed' | 'missing' | 'refused';
  /** The row after the change; absent for 'missing' and 'refused'. */
  record?: StoredScheduleRecord;
}

export interface ScheduleWriteOptions {
  /** Most live schedules one tenant may own after the write; 0 = no limit. */
  maxSchedulesPerTenant: number;
}

/** Position in the reconciler's incremental scan: rows are read in (updatedAt, tenantId, id) order. */
export interface ScheduleWatermark {
  updatedAt: Date;
  tenantId: string;
  id: string;
}

/** One run as the store's execution history keeps it. */
export interface StoredRun {
  /** '' for a @DistributedCron schedule. */
  tenantId: string;
  scheduleId: string;
  fireTime: Date;
  attempt: number;
  fencingToken: number;
  /** 'retry': the attempt failed and a retry of the same fire time was scheduled. */
  status: 'succeeded' | 'failed' | 'retry';
  /** null when the pod did not see the start (it restarted meanwhile). */
  startedAt: Date | null;
  endedAt: Date;
  durationMs: number | null;
  error: string | null;
  /** The pod (host:pid) that ran it. */
  pod: string;
  /**
   * The run's result (see RunRecord.result: JSON-serialisable, at most 1 kB as JSON); null or
   * absent for none (a store written before results were kept has none).
   */
  result?: unknown;
  /**
   * The run's place among the schedule's runs, 1 for the first, every attempt counted (as
   * RunRecord.sequence): the number Redis gave it when it recorded the run. Stored by recordRuns()
   * and given back as it was by runHistory(); 0 or absent when not known (a run stored before the
   * store kept it, a skipped fire time).
   */
  sequence?: number;
}

/**
 * Runs as columns (index i of every array is one run), all ended on one pod: what
 * recordRunColumns() takes. Times in epoch ms; `startedMs` 0 when the start is not known.
 */
export interface RunColumns {
  pod: string;
  tenantIds: string[];
  scheduleIds: string[];
  fireMs: number[];
  attempts: number[];
  fencingTokens: number[];
  statuses: StoredRun['status'][];
  startedMs: number[];
  endedMs: number[];
  errors: (string | null)[];
  /** Each run's result as JSON text (at most 1 kB), null for none. */
  results: (string | null)[];
  /** Each run's sequence number (StoredRun.sequence), as Redis numbered it; 0 when not known. */
  sequences: number[];
}

/**
 * The durable source of truth for dynamic schedules (issue 12). With `store` in the module's
 * options, every schedule change is committed here first and then applied to Redis; a reconciler
 * makes Redis match the store. `PostgresScheduleStore` (`nestjs-redis-scheduler/postgres`)
 * implements it; implement it yourself over TypeORM, Prisma, Drizzle or anything transactional,
 * and check your implementation with the conformance suite (test/conformance in the repository).
 *
 * Contract:
 * - write() applies its changes in ONE transaction, in order, and enforces
 *   `maxSchedulesPerTenant` inside it exactly, whatever number of processes write at once. A
 *   refused change writes nothing for that schedule; the others commit.
 * - write() serialises with every other write() and lockTenants() touching the same tenant, across
 *   processes, from before its transaction until `afterCommit` settles (the PostgreSQL store holds
 *   a per-tenant advisory lock). So the order in which Redis sees changes to one tenant is the order
 *   in which they were committed, and a removal is never overtaken by an older upsert.
 * - afterCommit failing does not undo the commit: write() rejects with afterCommit's error.
 * - A failure of the store itself (unreachable, timed out) rejects before anything is committed
 *   or afterCommit called; SchedulerService reports it as ScheduleStoreUnavailableError.
 */
export interface ScheduleStore {
  /** Prepares the store (e.g. applies migrations); called once when the module starts. */
  init(): Promise<void>;
  /** Releases connections the store opened itself; called when the module stops. */
  close(): Promise<void>;
  write<T>(
    changes: readonly ScheduleChange[],
    options: ScheduleWriteOptions,
    afterCommit: (results: ScheduleChangeResult[]) => Promise<T>,
  ): Promise<T>;
  /** The row, a tombstone included; null if the store never held it. */
  get(tenantId: string, id: string): Promise<StoredScheduleRecord | null>;
  /** Rows (tombstones included) after `after` in (updatedAt, tenantId, id) order; at most `limit`. */
  changedSince(after: ScheduleWatermark | null, limit: number): Promise<StoredScheduleRecord[]>;
  /** Rows (tombstones included) after `after` in (tenantId, id) order; at most `limit`: a full pass in pages. */
  page(
    after: { tenantId: string; id: string } | null,
    limit: number,
  ): Promise<StoredScheduleRecord[]>;
  /**
   * Runs `fn` while holding the same per-tenant serialisation as write() (for the reconciler:
   * read a row and apply it to Redis without a concurrent write slipping in between).
   */
  lockTenants<T>(tenantIds: readonly string[], fn: () => Promise<T>): Promise<T>;
  /**
   * A tenant operation, in one transaction under the tenant's write serialisation (as write()):
   * 'pause' marks the tenant paused, 'resume' clears the mark, 'remove' makes every live row of the
   * tenant a tombstone and clears the mark; then `afterCommit` with the live schedules the tenant
   * had. The schedules' own definitions (their `enabled`) are left as they are.
   */
  writeTenant<T>(
    tenantId: string,
    action: TenantAction,
    afterCommit: (result: { schedules: number }) => Promise<T>,
  ): Promise<T>;
  /** The tenants marked paused by writeTenant(), sorted. */
  pausedTenants(): Promise<string[]>;
  /**
   * Optional: execution history. Appends runs (idempotent: a run already stored is ignored) and
   * raises each schedule's last completed fire time. Called in batches off the run path.
   */
  recordRuns?(runs: readonly StoredRun[]): Promise<void>;
  /** Optional, with recordRuns: the same from columns (no object per run); used when present. */
  recordRunColumns?(runs: RunColumns): Promise<void>;
  /** Optional: the schedule's stored runs, newest fire time first, at most `limit`. */
  runHistory?(tenantId: string, scheduleId: string, limit: number): Promise<StoredRun[]>;
  /** Optional: deletes at most `limit` runs that ended before `endedBefore`; returns how many. */
  pruneRuns?(endedBefore: Date, limit: number): Promise<number>;
  /**
   * Optional, with pausedStatics: pauseStatic / resumeStatic of the @DistributedCron `name`, in one
   * transaction (the pause mark set or cleared), then `afterCommit` (Redis). Serialised, across
   * processes, with every other writeStaticPause() and with lockTenants(['']) ('' stands for the
   * statics, as in the run history), until `afterCommit` settles. Without it, a static's pause is
   * kept in Redis only (lost with Redis's data).
   */
  writeStaticPause?<T>(name: string, paused: boolean, afterCommit: () => Promise<T>): Promise<T>;
  /** Optional, with writeStaticPause: the statics marked paused, sorted. */
  pausedStatics?(): Promise<string[]>;
}
