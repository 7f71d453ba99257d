import type {
  ScheduleChange,
  ScheduleChangeResult,
  ScheduleDefinition,
  ScheduleStore as DurableStore,
  StoredScheduleRecord,
  TenantAction,
} from '../interfaces/schedule-store.interface';
import type { ScheduleInput } from '../interfaces/schedule.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { ScheduleNotAppliedError } from '../errors/schedule-not-applied.error';
import { ScheduleStoreUnavailableError } from '../errors/schedule-store-unavailable.error';
import { SchedulerError } from '../errors/scheduler.error';
import { TenantQuotaExceededError } from '../errors/tenant-quota-exceeded.error';
import { decodePolicy } from '../policy/schedule-policy';
import { IntervalSeries } from '../time/fire-series';
import type { StoredDefinition } from '../engine/schedule.store';
import type { ValidatedSchedule } from './schedule.validator';

/**
 * The write path with a durable store (the module's `store` option, issue 12): each change is
 * committed to the store first, in one transaction that enforces the tenant quota, and applied to
 * Redis inside the store's afterCommit, while the store holds the tenants' writes back (so Redis
 * sees one tenant's changes in commit order). A store failure writes nothing
 * (ScheduleStoreUnavailableError); a Redis failure after the commit is ScheduleNotAppliedError,
 * and the reconciler applies the change later.
 */
export class StoreFirst {
  constructor(
    readonly store: DurableStore,
    private readonly maxSchedulesPerTenant: number,
  ) {}

  /**
   * Commits the upserts, then `redis(indexes, records)` writes the accepted ones (`records[j]`:
   * the stored row of `indexes[j]`); quota refusals are errors.
   */
  async upsert<R>(
    valid: readonly ValidatedSchedule[],
    redis: (
      indexes: number[],
      records: (StoredScheduleRecord | undefined)[],
    ) => Promise<(R | Error)[]>,
  ): Promise<(R | Error)[]> {
    const changes: ScheduleChange[] = valid.map((v) => ({
      kind: 'upsert',
      tenantId: v.input.tenantId,
      id: v.input.id,
      definition: toDefinition(v),
    }));
    return this.write(changes, async (results) => {
      const out: (R | Error)[] = new Array<R | Error>(valid.length);
      const accepted: number[] = [];
      results.forEach((r, i) => {
        if (r.status !== 'refused') accepted.push(i);
        else out[i] = new TenantQuotaExceededError(changes[i].tenantId, this.maxSchedulesPerTenant);
      });
      const records = accepted.map((i) => results[i].record);
      const written = accepted.length > 0 ? await redis(accepted, records) : [];
      accepted.forEach((i, j) => {
        const result = written[j];
        // A Redis failure (not a refusal) after the commit: saved, to be applied by the reconciler.
        const failed = result instanceof Error && !(result instanceof SchedulerError);
        out[i] = failed ? notApplied([changes[i]], result) : result;
      });
      return out;
    });
  }

  /** Commits the removal (a tombstone), then removes from Redis; true if either held it. */
  remove(tenantId: string, id: string, redis: () => Promise<boolean>): Promise<boolean> {
    return this.write([{ kind: 'remove', tenantId, id }], async ([result]) => {
      const inRedis = await redis();
      return inRedis || result.status === 'removed';
    });
  }

  /**
   * Commits pauseTenant / resumeTenant / removeTenant, then `redis()` applies it; its count (for
   * pause and remove at least the live schedules the store had: Redis may have lost them).
   */
  tenant(tenantId: string, action: TenantAction, redis: () => Promise<number>): Promise<number> {
    const schedules = [{ tenantId, id: '*' }];
    return this.committed<{ schedules: number }, number>(
      schedules,
      (after) => this.store.writeTenant(tenantId, action, after),
      async (stored) => {
        const inRedis = await redis();
        return action === 'resume' ? inRedis : Math.max(inRedis, stored.schedules);
      },
    );
  }

  /** Commits the pause/resume, then `redis(record)` applies it; false if the store lacks it. */
  setEnabled(
    tenantId: string,
    id: string,
    enabled: boolean,
    redis: (record: StoredScheduleRecord) => Promise<boolean>,
  ): Promise<boolean> {
    return this.write([{ kind: 'setEnabled', tenantId, id, enabled }], async ([result]) =>
      result.record?.definition ? redis(result.record) : false,
    );
  }

  /**
   * pauseStatic / resumeStatic: committed to the store first when it keeps static pauses, then
   * `redis()` applies it (a static Redis lacks stays paused in the store: the reconciler writes it
   * back paused).
   */
  staticPause<T>(name: string, paused: boolean, redis: () => Promise<T>): Promise<T> {
    const write = this.store.writeStaticPause?.bind(this.store);
    if (!write) return redis();
    return this.committed(
      [{ tenantId: '', id: name }],
      (after) => write(name, paused, () => after(undefined)),
      redis,
    );
  }

  /** The schedule's runs from the store's execution history; null if the store keeps none. */
  async history(tenantId: string, id: string, limit: number): Promise<RunRecord[] | null> {
    if (!this.store.runHistory) return null;
    const runs = await this.store.runHistory(tenantId, id, limit);
    // A store that numbers no runs: `sequence` 0.
    return runs.map((r) => ({
      sequence: r.sequence ?? 0,
      fireTime: r.fireTime,
      attempt: r.attempt,
      fencingToken: r.fencingToken,
      status: r.status,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      durationMs: r.durationMs,
      podId: r.pod,
      error: r.error,
      result: r.result ?? null,
    }));
  }

  private write<T>(
    changes: ScheduleChange[],
    apply: (results: ScheduleChangeResult[]) => Promise<T>,
  ): Promise<T> {
    const options = { maxSchedulesPerTenant: this.maxSchedulesPerTenant };
    return this.committed(changes, (after) => this.store.write(changes, options, after), apply);
  }

  /**
   * `commit(afterCommit)` through the store; a failure before the commit is
   * ScheduleStoreUnavailableError, one of `apply` (Redis) after it ScheduleNotAppliedError.
   */
  private async committed<R, T>(
    schedules: readonly { tenantId: string; id: string }[],
    commit: (afterCommit: (result: R) => Promise<T>) => Promise<T>,
    apply: (result: R) => Promise<T>,
  ): Promise<T> {
    let committed = false;
    try {
      return await commit(async (result) => {
        committed = true;
        try {
          return await apply(result);
        } catch (error) {
          throw notApplied(schedules, error);
        }
      });
    } catch (error) {
      if (committed || error instanceof SchedulerError) throw error;
      throw new ScheduleStoreUnavailableError(reasonOf(error));
    }
  }
}

/** The definition the store keeps: the input as validated, defaults filled in. */
export function toDefinition(v: ValidatedSchedule): ScheduleDefinition {
  return {
    ...timingOf(v.input),
    timeZone: v.timeZone,
    handler: v.input.handler,
    ...(v.payloadJson === '' ? {} : { payload: JSON.parse(v.payloadJson) as unknown }),
    jitterMs: v.jitterMs,
    enabled: v.enabled,
    ...decodePolicy(v.policyJson),
  };
}

/**
 * `cron`, `every` or `at` (a Date as its ISO string), whichever is set: so that a definition and
 * the same schedule read back from Redis compare equal as JSON.
 */
export function timingOf(fields: Pick<ScheduleInput, 'cron' | 'every' | 'at'>) {
  if (fields.every !== undefined) return { every: fields.every };
  if (fields.at !== undefined) {
    return { at: fields.at instanceof Date ? fields.at.toISOString() : fields.at };
  }
  return { cron: fields.cron };
}

/** `def` with its interval anchored at the store's anchor (the others, or none kept: as they are). */
export function anchoredAt(def: StoredDefinition, anchorAt: Date | null | undefined) {
  const { series } = def;
  if (!anchorAt || !('everyMs' in series) || series instanceof IntervalSeries) return def;
  return { ...def, series: new IntervalSeries(series.everyMs, anchorAt.getTime()) };
}

/** The input that recreates a stored (live) schedule. */
export function toInput(record: StoredScheduleRecord & { definition: ScheduleDefinition }) {
  return { ...record.definition, tenantId: record.tenantId, id: record.id } as ScheduleInput;
}

function notApplied(
  changes: readonly { tenantId: string; id: string }[],
  error: unknown,
): ScheduleNotAppliedError {
  const schedules = changes.map((c) => ({ tenantId: c.tenantId, id: c.id }));
  return new ScheduleNotAppliedError(schedules, reasonOf(error));
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
