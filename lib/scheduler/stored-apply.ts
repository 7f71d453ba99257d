import type { ScheduleStore as RedisSchedules, StoredDefinition } from '../engine/schedule.store';
import type { Schedule } from '../interfaces/schedule.interface';
import type {
  ScheduleDefinition,
  StoredScheduleRecord,
} from '../interfaces/schedule-store.interface';
import type { RedisConnection } from '../redis/redis-client.provider';
import { canonicalJson } from './canonical-json';
import { validateScheduleInput, type ValidationContext } from './schedule.validator';
import { anchoredAt, timingOf, toInput } from './store-first';

/** What one reconciliation changed in Redis. */
export interface AppliedCounts {
  /** Live in the store, missing from Redis: written. */
  created: number;
  /** Different in Redis (an older version): written again. */
  updated: number;
  /** Removed in the store (a tombstone) or unknown to it, present in Redis: removed. */
  removed: number;
  unchanged: number;
  /** Rows that could not be applied (e.g. a cron this version refuses); each is logged. */
  failed: { tenantId: string; id: string; reason: string }[];
}

const POLICY_KEYS = ['retry', 'timeoutMs', 'misfire', 'catchUpWindowMs', 'maxCatchUp', 'overlap'];

/** The definition a schedule read from Redis stands for, comparable with the store's. */
export function definitionOf(schedule: Schedule): ScheduleDefinition {
  const def: Record<string, unknown> = {
    ...timingOf(schedule),
    timeZone: schedule.timeZone,
    handler: schedule.handler,
    payload: schedule.payload,
    jitterMs: schedule.jitterMs,
    enabled: schedule.enabled,
  };
  for (const key of POLICY_KEYS) def[key] = (schedule as unknown as Record<string, unknown>)[key];
  return def as ScheduleDefinition;
}

/**
 * Makes Redis hold what store rows say (the reconciler's and resume's way in; nothing is written
 * to the store): a live row missing from Redis or different there is upserted, a tombstone present
 * in Redis is removed, an identical one is left alone (so its next fire time is kept).
 */
export class StoredApply {
  constructor(
    private readonly redis: RedisSchedules,
    private readonly connection: RedisConnection,
    validation: ValidationContext,
    private readonly wrote: (dueKey: string, dueMs: number) => void,
  ) {
    // What the store holds was validated (and its payload prepared) when it was written: no
    // handler or guard check again, and no @PreparePayload twice.
    this.context = {
      ...validation,
      preparePayload: undefined,
      hasHandler: () => true,
      guards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    };
  }

  private readonly context: ValidationContext;

  /** `liveIds` (per tenant): also removes from Redis the schedules a tenant has beyond them. */
  async apply(
    records: readonly StoredScheduleRecord[],
    liveIds?: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<AppliedCounts> {
    const counts: AppliedCounts = { created: 0, updated: 0, removed: 0, unchanged: 0, failed: [] };
    const current = await Promise.all(records.map((r) => this.redis.get(r.tenantId, r.id)));
    const upserts: { def: StoredDefinition; created: boolean }[] = [];
    const removals: StoredScheduleRecord[] = [];
    records.forEach((record, i) => {
      const inRedis = current[i];
      const definition = record.definition;
      if (!definition) {
        if (inRedis) removals.push(record);
        else counts.unchanged++;
        return;
      }
      // A one-off that ran: Redis keeps it (finished) for keepFinishedMs or has dropped it.
      if (record.finished) {
        counts.unchanged++;
        return;
      }
      if (inRedis && canonicalJson(definitionOf(inRedis)) === canonicalJson(definition)) {
        counts.unchanged++;
        return;
      }
      try {
        const def = anchoredAt(this.toStored({ ...record, definition }), record.anchorAt);
        // Lost by Redis: armed after its last completed fire time (the misfire policy decides).
        const last = record.lastCompletedFireAt;
        if (!inRedis && last) def.armAfterMs = last.getTime();
        upserts.push({ def, created: !inRedis });
      } catch (error) {
        counts.failed.push({ tenantId: record.tenantId, id: record.id, reason: String(error) });
      }
    });
    const written = await this.redis.writeMany(
      upserts.map((u) => u.def),
      { quota: false },
    );
    written.forEach((result, i) => {
      const { def, created } = upserts[i];
      if (result instanceof Error) {
        counts.failed.push({ tenantId: def.tenantId, id: def.id, reason: result.message });
        return;
      }
      if (created) counts.created++;
      else counts.updated++;
      if (result.enabled) this.wrote(def.keys.due, result.nextDueMs);
    });
    for (const record of removals) {
      if (await this.redis.remove(record.tenantId, record.id)) counts.removed++;
      else counts.unchanged++;
    }
    for (const [tenantId, ids] of liveIds ?? []) {
      counts.removed += await this.removeOrphans(tenantId, ids);
    }
    return counts;
  }

  /** Removes from Redis the ids of `tenantId` that the store does not hold alive. */
  async removeOrphans(tenantId: string, live: ReadonlySet<string>): Promise<number> {
    const { client, keys } = this.connection;
    const ids = await client.smembers(keys.tenantSet(tenantId));
    let removed = 0;
    for (const id of ids) {
      if (!live.has(id) && (await this.redis.remove(tenantId, id))) removed++;
    }
    return removed;
  }

  private toStored(
    record: StoredScheduleRecord & { definition: ScheduleDefinition },
  ): StoredDefinition {
    const v = validateScheduleInput(toInput(record), this.context);
    const keys = this.connection.keys.dynamicSchedule(record.tenantId, record.id, v.input.handler);
    return {
      kind: 'dynamic' as const,
      keys,
      tenantId: record.tenantId,
      id: record.id,
      series: v.timing.series,
      written: v.timing.written,
      jitterMs: v.jitterMs,
      payloadJson: v.payloadJson,
      enabled: v.enabled,
      policyJson: v.policyJson,
    };
  }
}
