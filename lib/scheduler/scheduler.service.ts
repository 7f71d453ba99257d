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
import { ScheduleStore } from '../engine/schedule.store';
import { validateIdentifier } from '../redis/identifier';
import type { Page, PageOptions, TenantSummary } from '../interfaces/page.interface';
import type { DescribeOptions } from '../interfaces/schedule-description.interface';
import { ScheduleWrites } from './schedule-writes';
import { ScheduleInspector } from './schedule-inspector';
import { TenantOperations } from './tenant-operations';
import { ScheduleTriggers } from './schedule-triggers';
import type { TriggerResult } from '../interfaces/trigger-result.interface';
import type { StoredScheduleRecord, TenantAction } from '../interfaces/schedule-store.interface';
import { StoreFirst } from './store-first';
import type { AppliedCounts } from './stored-apply';
import { syncSchedules, type SyncOptions, type SyncResult } from './schedule-sync';

/**
 * Creates, reads, changes and removes dynamic (per-tenant) schedules. Every change is one atomic
 * script in Redis and is seen by every pod at its next claim; no schedule is cached in the process.
 * A handler this process lacks (an API pod) is accepted when a live worker pod declares it.
 */
@Injectable()
export class SchedulerService {
  private readonly writes: ScheduleWrites;
  private readonly tenantOps: TenantOperations;
  private readonly inspector: ScheduleInspector;
  private readonly triggers: ScheduleTriggers;
  /** With the module's `store` option: the store-first write path (issue 12). */
  private readonly durable: StoreFirst | undefined;
  private readonly historyLimit: number;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) options: ResolvedSchedulerOptions,
    private readonly store: ScheduleStore,
    private readonly connection: RedisConnection,
    registry: HandlerRegistry,
    @Optional() private readonly engine?: SchedulerEngine,
  ) {
    const { store: durable, tenantGuards } = options;
    this.durable = durable && new StoreFirst(durable, tenantGuards.maxSchedulesPerTenant);
    this.historyLimit = options.runHistory || 100;
    this.tenantOps = new TenantOperations(connection, store, (due, ms) =>
      this.engine?.notifyDue(due, ms),
    );
    const first = this.durable;
    this.inspector = new ScheduleInspector(connection, store, first && first.history.bind(first));
    this.triggers = new ScheduleTriggers(options, store, connection, engine, this.durable);
    this.writes = new ScheduleWrites(
      {
        defaultTimeZone: options.defaultTimeZone,
        defaultJitterMs: options.defaultJitterMs,
        guards: options.tenantGuards,
        hasHandler: (name) => registry.hasDynamic(name),
        handlerNames: () => registry.dynamicNames(),
        preparePayload: (payload, target) => registry.preparePayload(payload, target),
      },
      store,
      connection,
      engine,
      this.durable,
    );
  }

  /** @internal The reconciler's way in: Redis made to hold these store rows (see StoredApply). */
  applyStored(
    records: readonly StoredScheduleRecord[],
    liveIds?: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<AppliedCounts> {
    return this.changing(() => this.writes.applyStored(records, liveIds));
  }

  /**
   * Creates the schedule or updates it in place (idempotent: the same input twice changes
   * nothing, and keeps the next fire time unless the timing changed). Throws a SchedulerError
   * subclass, and writes nothing, when the input or a tenant guard refuses it.
   */
  async upsert<TPayload = unknown, THandler extends string = string>(
    input: ScheduleInput<TPayload, THandler>,
  ): Promise<Schedule<HandlerPayload<THandler, TPayload>>> {
    const [result] = await this.writes.upsertEach<HandlerPayload<THandler, TPayload>>([input]);
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
    const results = await this.writes.upsertEach<Payload>(inputs);
    const failures = results.flatMap((r, index) =>
      r instanceof Error ? [{ index, error: r }] : [],
    );
    const schedules = results.filter((r): r is Schedule<Payload> => !(r instanceof Error));
    if (failures.length > 0) throw new BulkUpsertError(failures, schedules);
    return schedules;
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

  /** The tenant's schedules sorted by id: all, or with `page` one page ({ items, cursor }). */
  list<TPayload = unknown>(tenantId: string): Promise<Schedule<TPayload>[]>;
  list<TPayload = unknown>(tenantId: string, page: PageOptions): Promise<Page<Schedule<TPayload>>>;
  async list(tenantId: string, page?: PageOptions): Promise<Schedule[] | Page<Schedule>> {
    validateIdentifier('tenantId', tenantId);
    return page === undefined ? this.store.list(tenantId) : this.tenantOps.list(tenantId, page);
  }

  /** Tenants with schedules (or paused), by id, with their schedule counts: one page. */
  tenants(page: PageOptions = {}): Promise<Page<TenantSummary>> {
    return this.tenantOps.tenants(page);
  }

  /** Stops every schedule of the tenant at once (README: Tenant controls); its schedule count. */
  pauseTenant(tenantId: string): Promise<number> {
    return this.tenantWrite(tenantId, 'pause', () => this.tenantOps.pause(tenantId));
  }

  /** Puts each schedule of a paused tenant back to its own state; how many fire again. */
  resumeTenant(tenantId: string): Promise<number> {
    return this.tenantWrite(tenantId, 'resume', () => this.tenantOps.resume(tenantId));
  }

  /** Removes every schedule of the tenant, as remove() removes one; how many there were. */
  removeTenant(tenantId: string): Promise<number> {
    return this.tenantWrite(tenantId, 'remove', () => this.tenantOps.remove(tenantId));
  }

  /** A tenant operation, committed to the store first when there is one. */
  private async tenantWrite(tenantId: string, action: TenantAction, redis: () => Promise<number>) {
    validateIdentifier('tenantId', tenantId);
    return this.changing(() => this.durable?.tenant(tenantId, action, redis) ?? redis());
  }

  /** Definition, next fire times, last runs and counters; null if there is no such schedule. */
  describe<T = unknown>(tenantId: string, id: string, options?: DescribeOptions) {
    return this.inspector.describe<T>(tenantId, id, options);
  }

  /** describe() for a @DistributedCron schedule; null if no pod has declared it. */
  describeStatic(name: string, options?: DescribeOptions) {
    return this.inspector.describeStatic(name, options);
  }

  /** A @DistributedCron schedule's recorded runs, newest first (the runHistory option). */
  historyStatic(name: string): Promise<RunRecord[]> {
    return this.inspector.historyStatic(name, this.historyLimit);
  }

  /**
   * Removes the schedule; true if it existed. Once this resolves no pod claims it again; a run
   * already in flight loses its lease at its next renewal (its signal aborts) and is not recorded.
   */
  async remove(tenantId: string, id: string): Promise<boolean> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    return this.changing(() => this.writes.remove(tenantId, id));
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
   * Starts one extra run of the schedule as soon as a pod is free, exactly once across pods,
   * without moving its series (next fire time and exactly-once mark unchanged); the handler sees
   * `ctx.trigger` true. Refused (`triggered: false`) while paused or parked, or while a run of it
   * is in progress unless its overlap policy is 'allow'. Null if there is no such schedule.
   */
  async trigger(tenantId: string, id: string): Promise<TriggerResult | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    return this.triggers.trigger(this.connection.keys.dynamicSchedule(tenantId, id));
  }

  /** trigger() for a @DistributedCron schedule; null if no pod has declared it. */
  async triggerStatic(name: string): Promise<TriggerResult | null> {
    validateIdentifier('name', name);
    return this.triggers.trigger(this.connection.keys.staticSchedule(name));
  }

  /**
   * Stops a @DistributedCron schedule until resumeStatic(), on every pod; it stays paused when pods
   * restart and declare it again. Null if no pod has declared it.
   */
  async pauseStatic(name: string): Promise<StaticSchedule | null> {
    validateIdentifier('name', name);
    return this.changing(() => this.triggers.setStaticEnabled(name, false));
  }

  /** Fires a paused static again from its next fire time after now (missed ones are skipped). */
  async resumeStatic(name: string): Promise<StaticSchedule | null> {
    validateIdentifier('name', name);
    return this.changing(() => this.triggers.setStaticEnabled(name, true));
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

  /** The schedule's last recorded runs, newest first (runHistory; from the `store` if it keeps them). */
  async history(tenantId: string, id: string): Promise<RunRecord[]> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    const stored = await this.durable?.history(tenantId, id, this.historyLimit);
    return stored ?? this.store.history(this.connection.keys.dynamicSchedule(tenantId, id));
  }

  /** Clears the dead letters (only `tenantId`'s when given); returns how many were removed. */
  async clearDeadLetters(tenantId?: string): Promise<number> {
    if (tenantId !== undefined) validateIdentifier('tenantId', tenantId);
    return this.store.clearDeadLetters(tenantId);
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
    if (!(await this.changing(() => this.writes.setEnabled(tenantId, id, enabled)))) return null;
    const schedule = (await this.store.get(tenantId, id)) as Schedule<TPayload> | null;
    if (schedule?.enabled && schedule.nextFireAt) {
      const keys = this.connection.keys.dynamicSchedule(tenantId, id, schedule.handler);
      this.engine?.notifyDue(keys.due, schedule.nextFireAt.getTime());
    }
    return schedule;
  }
}
