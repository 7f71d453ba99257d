import { Logger } from '@nestjs/common';
import type { Page, PageOptions, TenantSummary } from '../interfaces/page.interface';
import { validateIdentifier } from '../redis/identifier';
import type { Schedule } from '../interfaces/schedule.interface';
import { ConcurrentChangeError } from '../errors/concurrent-change.error';
import { withJitter } from '../engine/fire-planner';
import type { ScheduleStore } from '../engine/schedule.store';
import { toSchedule } from '../engine/stored-schedule.decoder';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { TenantResumePlan } from '../redis/protocol/tenants.codec';
import { ScheduleTiming } from '../time/schedule-timing';
import { byBytes, encodeCursor, pageOf, toPageRequest } from './page-options';

/** Tries of a resumeTenant whose schedules changed between the read and the write. */
const RESUME_TRIES = 5;

/**
 * What acts on a whole tenant: pause, resume and remove all its schedules (each one script call
 * on the tenant's partition, proportional to its schedule count), and the paged reads of tenants
 * and of a tenant's schedules. Each checks its input first (typed errors, nothing written).
 */
export class TenantOperations {
  private readonly logger = new Logger('RedisScheduler');

  constructor(
    private readonly connection: RedisConnection,
    private readonly store: ScheduleStore,
    /** Tells this pod's engine that a due index holds an entry due at `dueMs`. */
    private readonly notifyDue: (dueKey: string, dueMs: number) => void,
  ) {}

  /** Pauses the tenant and every schedule of it; how many schedules it has. */
  async pause(tenantId: string): Promise<number> {
    validateIdentifier('tenantId', tenantId);
    const { keys, scripts } = this.connection;
    const base = keys.partitionBases[keys.partitionOf(tenantId)];
    const { schedules } = await scripts.pauseTenant(base, tenantId, keys.wakeChannel);
    this.logger.log(
      `Tenant "${tenantId}" paused: none of its ${schedules} schedule(s) starts a run`,
    );
    return schedules;
  }

  /** Resumes a paused tenant; how many schedules fire again (0 when it was not paused). */
  async resume(tenantId: string): Promise<number> {
    validateIdentifier('tenantId', tenantId);
    const { keys, scripts, client } = this.connection;
    const base = keys.partitionBases[keys.partitionOf(tenantId)];
    // Not paused: nothing to read (the script checks it again, atomically).
    if ((await client.exists(keys.tenantPause(tenantId))) === 0) return 0;
    for (let attempt = 1; ; attempt++) {
      const ids = await client.smembers(keys.tenantSet(tenantId));
      const fields = await this.inPipeline(ids, (p, id) =>
        p.hmget(keys.dynamicSchedule(tenantId, id).hash, 't', 'tp', 'h'),
      );
      const now = await this.store.clock.fresh();
      const plans: (TenantResumePlan & { due: string })[] = [];
      ids.forEach((id, i) => {
        const [timing, own, handlerKey] = fields[i] as (string | null)[];
        if (own !== '1' || timing === null || handlerKey === null) return;
        const t = ScheduleTiming.decode(timing);
        const member = keys.dynamicSchedule(tenantId, id).member;
        // as resume() arms it: a one-off whose time passed meanwhile runs at once
        const first = withJitter(t.series, member, t.jitterMs, t.series.firstFrom(now));
        const due = keys.dueIndex(keys.partitionOf(tenantId), handlerKey);
        plans.push({ id, timing, nextFireMs: first.fireMs, nextDueMs: first.dueMs, due });
      });
      const reply = await scripts.resumeTenant(base, tenantId, keys.wakeChannel, plans);
      if (reply.status === 'not-paused') return 0;
      if (reply.status === 'resumed') {
        for (const plan of plans) this.notifyDue(plan.due, plan.nextDueMs);
        this.logger.log(
          `Tenant "${tenantId}" resumed: ${reply.resumed} schedule(s) fire again, ` +
            `${reply.keptPaused} stay paused on their own`,
        );
        return reply.resumed;
      }
      // An upsert changed (or created) a schedule between the read and the write: read again.
      if (attempt >= RESUME_TRIES) throw new ConcurrentChangeError(tenantId, reply.scheduleId);
    }
  }

  /** Removes every schedule of the tenant; how many there were. */
  async remove(tenantId: string): Promise<number> {
    validateIdentifier('tenantId', tenantId);
    const { keys, scripts } = this.connection;
    const base = keys.partitionBases[keys.partitionOf(tenantId)];
    const removed = await scripts.removeTenant(base, tenantId, keys.wakeChannel);
    this.logger.log(`Tenant "${tenantId}" removed: ${removed} schedule(s) deleted`);
    return removed;
  }

  /**
   * Tenants in byte order of id, merged from every partition's tenant index (each read from the
   * cursor on, `limit` + 1 at most, so the page knows whether another follows).
   */
  async tenants(options: PageOptions): Promise<Page<TenantSummary>> {
    const request = toPageRequest(options);
    const { keys, client } = this.connection;
    const from = request.after === '' ? '-' : `(${request.after}`;
    const lists = await Promise.all(
      keys.partitionBases.map((_, p) =>
        client.zrangebylex(keys.tenantIndex(p), from, '+', 'LIMIT', 0, request.limit + 1),
      ),
    );
    const merged = lists.flat().sort(byBytes);
    const ids = merged.slice(0, request.limit);
    const counts = await Promise.all(
      ids.map(async (tenantId) => {
        const [schedules, paused] = await this.inPipeline([tenantId], (p) =>
          p.scard(keys.tenantSet(tenantId)).exists(keys.tenantPause(tenantId)),
        );
        return { tenantId, schedules: Number(schedules), paused: Number(paused) === 1 };
      }),
    );
    const more = merged.length > request.limit;
    return { items: counts, cursor: more ? encodeCursor(ids[ids.length - 1]) : null };
  }

  /** One page of the tenant's schedules (its id validated), in byte order of id. */
  async list(tenantId: string, options: PageOptions): Promise<Page<Schedule>> {
    const request = toPageRequest(options);
    const { keys, client } = this.connection;
    const page = pageOf(await client.smembers(keys.tenantSet(tenantId)), request);
    const hashes = await this.inPipeline(page.items, (p, id) =>
      p.hgetall(keys.dynamicSchedule(tenantId, id).hash),
    );
    const now = this.store.clock.now();
    const items = page.items.flatMap((id, i) => {
      const schedule = toSchedule(hashes[i] as Record<string, string>, tenantId, id, now);
      return schedule ? [schedule] : [];
    });
    return { items, cursor: page.cursor };
  }

  /**
   * One pipeline of commands on keys of one partition (one hash tag, so a Cluster takes it too):
   * the replies, in order; throws the first error.
   */
  private async inPipeline<T>(
    items: readonly T[],
    add: (pipeline: ReturnType<RedisConnection['client']['pipeline']>, item: T) => void,
  ): Promise<unknown[]> {
    if (items.length === 0) return [];
    const pipeline = this.connection.client.pipeline();
    for (const item of items) add(pipeline, item);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
  }
}
