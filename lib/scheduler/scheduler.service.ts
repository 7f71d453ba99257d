import { Inject, Injectable, Optional } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { Schedule, ScheduleInput, StaticSchedule } from '../interfaces/schedule.interface';
import type { HandlerPayload } from '../interfaces/schedule-handlers.interface';
import type { DeadLetter } from '../interfaces/dead-letter.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { HandlerRegistry } from '../discovery/handler.registry';
import { SchedulerEngine } from '../engine/scheduler.engine';
import { RedisConnection } from '../redis/redis-client.provider';
import { BulkUpsertError } from '../errors/bulk-upsert.error';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { ScheduleStore } from '../engine/schedule.store';
import { decodePolicy } from '../policy/schedule-policy';
import { validateIdentifier } from '../redis/identifier';
import { LiveHandlers } from './live-handlers';
import { validateScheduleInput, ValidationContext } from './schedule.validator';
import type { StoredScheduleRecord } from '../interfaces/schedule-store.interface';
import { StoreFirst } from './store-first';
import { StoredApply, type AppliedCounts } from './stored-apply';
import { syncSchedules, type SyncOptions, type SyncResult } from './schedule-sync';

/**
 * Creates, reads, changes and removes dynamic (per-tenant) schedules. Every change is one atomic
 * script in Redis and is seen by every pod at its next claim; no schedule is cached in the process.
 * A handler this process lacks (an API pod) is accepted when a live worker pod declares it.
 */
@Injectable()
export class SchedulerService {
  private readonly validation: ValidationContext;
  private readonly liveHandlers: LiveHandlers;
  /** With the module's `store` option: the store-first write path (issue 12). */
  private readonly durable: StoreFirst | undefined;
  private readonly storedApply: StoredApply;
  private readonly historyLimit: number;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) options: ResolvedSchedulerOptions,
    private readonly store: ScheduleStore,
    private readonly connection: RedisConnection,
    registry: HandlerRegistry,
    @Optional() private readonly engine?: SchedulerEngine,
  ) {
    this.liveHandlers = new LiveHandlers(connection.client, connection.keys);
    this.validation = {
      defaultTimeZone: options.defaultTimeZone,
      defaultJitterMs: options.defaultJitterMs,
      guards: options.tenantGuards,
      hasHandler: (name) => registry.hasDynamic(name),
      handlerNames: () => registry.dynamicNames(),
    };
    const { store: durable, tenantGuards } = options;
    this.durable = durable && new StoreFirst(durable, tenantGuards.maxSchedulesPerTenant);
    this.historyLimit = options.runHistory || 100;
    this.storedApply = new StoredApply(store, connection.keys, this.validation, (due, ms) =>
      this.engine?.notifyDue(due, ms),
    );
  }

  /** @internal The reconciler's way in: Redis made to hold these store rows (see StoredApply). */
  async applyStored(
    records: readonly StoredScheduleRecord[],
    liveIds?: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<AppliedCounts> {
    return this.changing(() => this.storedApply.apply(records, liveIds));
  }

  /**
   * Creates the schedule or updates it in place (idempotent: the same input twice changes
   * nothing, and keeps the next fire time unless the timing changed). Throws a SchedulerError
   * subclass, and writes nothing, when the input or a tenant guard refuses it.
   */
  async upsert<TPayload = unknown, THandler extends string = string>(
    input: ScheduleInput<TPayload, THandler>,
  ): Promise<Schedule<HandlerPayload<THandler, TPayload>>> {
    const [result] = await this.upsertEach<HandlerPayload<THandler, TPayload>>([input]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Bulk upsert: validates every input first (one invalid input throws its typed error and
   * nothing is written), then writes them in pipelined batches, each schedule atomically. If Redis
   * refuses some (tenant quota, payload size), the others are written and a BulkUpsertError
   * lists the refusals.
   */
  async upsertMany<
    TPayload = unknown,
    const THandlers extends readonly string[] = string[],
  >(inputs: { readonly [K in keyof THandlers]: ScheduleInput<TPayload, THandlers[K]> }): Promise<
    Schedule<HandlerPayload<THandlers[number], TPayload>>[]
  > {
    type Payload = HandlerPayload<THandlers[number], TPayload>;
    const results = await this.upsertEach<Payload>(inputs);
    const failures = results.flatMap((r, index) =>
      r instanceof Error ? [{ index, error: r }] : [],
    );
    const schedules = results.filter((r): r is Schedule<Payload> => !(r instanceof Error));
    if (failures.length > 0) throw new BulkUpsertError(failures, schedules);
    return schedules;
  }

  private async upsertEach<TPayload>(
    inputs: readonly ScheduleInput[],
  ): Promise<(Schedule<TPayload> | Error)[]> {
    if (!Array.isArray(inputs))
      throw new InvalidOptionsError('schedules', 'pass an array of schedules');
    const validation = await this.withLiveHandlers(inputs);
    const valid = inputs.map((input) => validateScheduleInput(input, validation));
    const keys = inputs.map((input) =>
      this.connection.keys.dynamicSchedule(input.tenantId, input.id, input.handler),
    );
    const defs = valid.map((v, i) => ({
      kind: 'dynamic' as const,
      keys: keys[i],
      tenantId: v.input.tenantId,
      id: v.input.id,
      cron: v.cron,
      writtenCron: v.input.cron,
      jitterMs: v.jitterMs,
      payloadJson: v.payloadJson,
      enabled: v.enabled,
      policyJson: v.policyJson,
    }));
    const stored = await this.changing(() =>
      this.durable
        ? this.durable.upsert(valid, (is) =>
            this.store.writeMany(
              is.map((i) => defs[i]),
              { quota: false },
            ),
          )
        : this.store.writeMany(defs),
    );
    const earliest = new Map<string, number>();
    return stored.map((s, i) => {
      if (s instanceof Error) return s;
      if (s.enabled && s.nextDueMs < (earliest.get(keys[i].due) ?? Infinity)) {
        earliest.set(keys[i].due, s.nextDueMs);
        this.engine?.notifyDue(keys[i].due, s.nextDueMs);
      }
      const v = valid[i];
      return {
        tenantId: v.input.tenantId,
        id: v.input.id,
        cron: v.input.cron,
        resolvedCron: v.cron.expression,
        timeZone: v.timeZone,
        handler: v.input.handler,
        payload: v.payloadJson === '' ? undefined : (JSON.parse(v.payloadJson) as TPayload),
        jitterMs: v.jitterMs,
        enabled: s.enabled,
        state: s.enabled ? 'active' : 'paused',
        parked: null,
        nextFireAt: s.enabled ? new Date(s.nextFireMs) : null,
        createdAt: new Date(s.createdAtMs),
        updatedAt: new Date(s.updatedAtMs),
        lastFireAt: s.lastFireMs === null ? null : new Date(s.lastFireMs),
        lastStatus: s.lastStatus,
        lastError: s.lastError,
        running: s.running,
        skippedFires: s.skippedFires,
        ...decodePolicy(v.policyJson),
      };
    });
  }

  /**
   * Makes the tenants' schedules what `records` say (your own table as the source): created,
   * updated, unchanged and, with `removeMissing`, removed counts. Idempotent, safe from every pod.
   */
  sync(records: readonly ScheduleInput[], options?: SyncOptions): Promise<SyncResult> {
    return syncSchedules(this, records, options);
  }

  async get<TPayload = unknown>(tenantId: string, id: string): Promise<Schedule<TPayload> | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    return (await this.store.get(tenantId, id)) as Schedule<TPayload> | null;
  }

  /**
   * A @DistributedCron schedule's state in Redis (next fire time, last run, skipped fire times);
   * null if no pod has declared it.
   */
  async getStatic(name: string): Promise<StaticSchedule | null> {
    validateIdentifier('name', name);
    return this.store.getStatic(name);
  }

  /** The tenant's schedules, sorted by id. */
  async list<TPayload = unknown>(tenantId: string): Promise<Schedule<TPayload>[]> {
    validateIdentifier('tenantId', tenantId);
    return (await this.store.list(tenantId)) as Schedule<TPayload>[];
  }

  /**
   * Removes the schedule; true if it existed. Once this resolves no pod claims it again; a run
   * already in flight loses its lease at its next renewal (its signal aborts) and is not recorded.
   */
  async remove(tenantId: string, id: string): Promise<boolean> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    const remove = () => this.store.remove(tenantId, id);
    return this.changing(() =>
      this.durable ? this.durable.remove(tenantId, id, remove) : remove(),
    );
  }

  /** Stops firing until resume(); null if there is no such schedule. */
  async pause<TPayload = unknown>(
    tenantId: string,
    id: string,
  ): Promise<Schedule<TPayload> | null> {
    return this.setEnabled<TPayload>(tenantId, id, false);
  }

  /** Fires again from the next fire time after now (fire times missed while paused are skipped). */
  async resume<TPayload = unknown>(
    tenantId: string,
    id: string,
  ): Promise<Schedule<TPayload> | null> {
    return this.setEnabled<TPayload>(tenantId, id, true);
  }

  /**
   * Runs that failed for good (last attempt failed, or every attempt lost its lease), newest
   * first; only `tenantId`'s when given (static schedules' have no tenant). The list keeps the
   * latest `deadLetterLimit` per partition.
   */
  async deadLetters(tenantId?: string): Promise<DeadLetter[]> {
    if (tenantId !== undefined) validateIdentifier('tenantId', tenantId);
    return this.store.deadLetters(tenantId);
  }

  /**
   * The schedule's last recorded runs, newest first; empty unless the module's runHistory option
   * is on. With a `store` keeping history, read from it (the last runHistory runs, 100 if 0).
   */
  async history(tenantId: string, id: string): Promise<RunRecord[]> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    const stored = await this.durable?.history(tenantId, id, this.historyLimit);
    return stored ?? this.store.history(tenantId, id);
  }

  /** Clears the dead letters (only `tenantId`'s when given); returns how many were removed. */
  async clearDeadLetters(tenantId?: string): Promise<number> {
    if (tenantId !== undefined) validateIdentifier('tenantId', tenantId);
    return this.store.clearDeadLetters(tenantId);
  }

  /** The validation context, also accepting the handlers this process lacks but a live pod runs. */
  private async withLiveHandlers(
    inputs: readonly ScheduleInput<unknown>[],
  ): Promise<ValidationContext> {
    const { hasHandler } = this.validation;
    const missing = inputs
      .map((input) => (input && typeof input === 'object' ? input.handler : undefined))
      .filter((name) => typeof name === 'string' && !hasHandler(name));
    if (missing.length === 0) return this.validation;
    const live = await this.liveHandlers.which(missing);
    return { ...this.validation, hasHandler: (name) => hasHandler(name) || live.has(name) };
  }

  /**
   * A write to schedules: once Redis applied it (or it failed midway), this pod's runs waiting for
   * a slot are confirmed again before they start, so none starts with the old state.
   */
  private async changing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.engine?.noteWrite();
    }
  }

  private async setEnabled<TPayload>(
    tenantId: string,
    id: string,
    enabled: boolean,
  ): Promise<Schedule<TPayload> | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    const set = () => this.store.setEnabled(tenantId, id, enabled);
    // With a store: Redis may lack the schedule (data loss): then the stored row is applied whole.
    const setOrRestore = async (record: StoredScheduleRecord) =>
      (await set()) || (await this.storedApply.apply([record])).created > 0;
    const changed = await this.changing(() =>
      this.durable ? this.durable.setEnabled(tenantId, id, enabled, setOrRestore) : set(),
    );
    if (!changed) return null;
    const schedule = (await this.store.get(tenantId, id)) as Schedule<TPayload> | null;
    if (schedule?.enabled && schedule.nextFireAt) {
      const keys = this.connection.keys.dynamicSchedule(tenantId, id, schedule.handler);
      this.engine?.notifyDue(keys.due, schedule.nextFireAt.getTime());
    }
    return schedule;
  }
}
