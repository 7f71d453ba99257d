import { Inject, Injectable, Optional } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { Schedule, ScheduleInput } from '../interfaces/schedule.interface';
import { HandlerRegistry } from '../discovery/handler.registry';
import { SchedulerEngine } from '../engine/scheduler.engine';
import { RedisConnection } from '../redis/redis-client.provider';
import { ScheduleStore } from './schedule.store';
import { validateIdentifier, validateScheduleInput, ValidationContext } from './schedule.validator';

/**
 * Creates, reads, changes and removes dynamic (per-tenant) schedules. Every change is one atomic
 * script in Redis and is seen by every pod at its next claim; nothing is cached in the process.
 */
@Injectable()
export class SchedulerService {
  private readonly validation: ValidationContext;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) options: ResolvedSchedulerOptions,
    private readonly store: ScheduleStore,
    private readonly connection: RedisConnection,
    registry: HandlerRegistry,
    @Optional() private readonly engine?: SchedulerEngine,
  ) {
    this.validation = {
      defaultTimeZone: options.defaultTimeZone,
      defaultJitterMs: options.defaultJitterMs,
      guards: options.tenantGuards,
      hasHandler: (name) => registry.hasDynamic(name),
      handlerNames: () => registry.dynamicNames(),
    };
  }

  /**
   * Creates the schedule or updates it in place (idempotent: the same input twice changes
   * nothing, and keeps the next fire time unless the timing changed). Throws a SchedulerError
   * subclass, and writes nothing, when the input or a tenant guard refuses it.
   */
  async upsert<TPayload = unknown>(input: ScheduleInput<TPayload>): Promise<Schedule<TPayload>> {
    const valid = validateScheduleInput(input, this.validation);
    const keys = this.connection.keys.dynamicSchedule(input.tenantId, input.id, input.handler);
    const stored = await this.store.write({
      kind: 'dynamic',
      keys,
      tenantId: input.tenantId,
      id: input.id,
      cron: valid.cron,
      jitterMs: valid.jitterMs,
      payloadJson: valid.payloadJson,
      enabled: valid.enabled,
    });
    if (stored.enabled) this.engine?.notifyDue(keys.due, stored.nextDueMs);
    return {
      tenantId: input.tenantId,
      id: input.id,
      cron: input.cron,
      timeZone: valid.timeZone,
      handler: input.handler,
      payload: valid.payloadJson === '' ? undefined : (JSON.parse(valid.payloadJson) as TPayload),
      jitterMs: valid.jitterMs,
      enabled: stored.enabled,
      nextFireAt: stored.enabled ? new Date(stored.nextFireMs) : null,
      createdAt: new Date(stored.createdAtMs),
      updatedAt: new Date(stored.updatedAtMs),
      lastFireAt: stored.lastFireMs === null ? null : new Date(stored.lastFireMs),
      lastStatus: stored.lastStatus,
      lastError: stored.lastError,
      running: stored.running,
    };
  }

  async get<TPayload = unknown>(tenantId: string, id: string): Promise<Schedule<TPayload> | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    return (await this.store.get(tenantId, id)) as Schedule<TPayload> | null;
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
    return this.store.remove(tenantId, id);
  }

  /** Stops firing until resume(); null if there is no such schedule. */
  async pause<TPayload = unknown>(tenantId: string, id: string): Promise<Schedule<TPayload> | null> {
    return this.setEnabled<TPayload>(tenantId, id, false);
  }

  /** Fires again from the next fire time after now (fire times missed while paused are skipped). */
  async resume<TPayload = unknown>(tenantId: string, id: string): Promise<Schedule<TPayload> | null> {
    return this.setEnabled<TPayload>(tenantId, id, true);
  }

  private async setEnabled<TPayload>(
    tenantId: string,
    id: string,
    enabled: boolean,
  ): Promise<Schedule<TPayload> | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    if (!(await this.store.setEnabled(tenantId, id, enabled))) return null;
    const schedule = (await this.store.get(tenantId, id)) as Schedule<TPayload> | null;
    if (schedule?.enabled && schedule.nextFireAt) {
      const keys = this.connection.keys.dynamicSchedule(tenantId, id, schedule.handler);
      this.engine?.notifyDue(keys.due, schedule.nextFireAt.getTime());
    }
    return schedule;
  }
}
