import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type {
  ScheduleStore as DurableStore,
  ScheduleWatermark,
  StoredScheduleRecord,
} from '../interfaces/schedule-store.interface';
import { SchedulerEvents, type ReconcileReport } from '../events/scheduler-events';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { RedisLockService } from '../lock/redis-lock.service';
import { SchedulerService } from '../scheduler/scheduler.service';
import { RedisConnection } from '../redis/redis-client.provider';
import { FLUSH_EVERY_MS, RunHistoryWriter } from './run-history.writer';
import { ScheduleStore as RedisSchedules } from '../engine/schedule.store';
import { TenantOperations } from '../scheduler/tenant-operations';
import { TenantPauses } from './tenant-pauses';
import { StaticPauses } from './static-pauses';
import { StaticScheduleSync } from '../engine/static-schedule.sync';
import { HandlerRegistry } from '../discovery/handler.registry';
import { RedisClock } from '../time/redis-clock';
import { StoreMarks } from './store-mark';
import { emptyReport, finish } from './reconcile-report';

/** Rows read per store query. */
const PAGE = 500;
/** Every this many intervals, a pass compares every row (the others only what changed). */
const FULL_PASS_EVERY = 30;
/** The incremental pass rereads rows this much older than its watermark: a transaction that
 * committed late with an earlier `updated_at` is still seen. */
const WATERMARK_LAG_MS = 5_000;
const LOCK_KEY = 'rsched-internal:reconcile';
const EPOCH_FLOOR_ORIGIN_MS = Date.UTC(2020, 0, 1);

/**
 * With the module's `store` option (issue 12): applies the store's migrations at boot, then makes
 * Redis match the store at boot and every `reconcileIntervalMs`, on one pod at a time (a
 * RedisLockService lock). A pass reads what changed since the watermark on `updated_at` that the
 * last pass of any pod reached (kept in the store mark, store-mark.ts); every FULL_PASS_EVERY
 * intervals (and at the first pass on a Redis) it compares every row, in pages, and removes from
 * Redis the schedules a tenant has there but not in the store. Rows are applied while the store holds their
 * tenants' writes back, and reread under that hold, so a pass never overtakes a newer write.
 */
@Injectable()
export class ScheduleReconciler
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger('RedisScheduler');
  private readonly store: DurableStore | undefined;
  private watermark: ScheduleWatermark | null = null;
  private passes = 0;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = false;
  private readonly pauses: TenantPauses;
  private readonly marks: StoreMarks;
  private readonly statics: StaticPauses;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly scheduler: SchedulerService,
    private readonly locks: RedisLockService,
    private readonly events: SchedulerEvents,
    private readonly connection: RedisConnection,
    private readonly history: RunHistoryWriter,
    redis: RedisSchedules,
    clock: RedisClock,
    staticSync: StaticScheduleSync,
    private readonly registry: HandlerRegistry,
  ) {
    this.store = options.store;
    this.pauses = new TenantPauses(connection, new TenantOperations(connection, redis, () => {}));
    this.marks = new StoreMarks(connection, clock);
    this.statics = new StaticPauses(connection, redis, staticSync);
  }

  async onModuleInit(): Promise<void> {
    await this.store?.init();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.store) return;
    await this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
    await this.history.drain();
    await this.store?.close();
  }

  /**
   * One pass now if no other pod runs one (null then); `full` compares every row. Resolves with
   * what it repaired.
   */
  async reconcile(full = false): Promise<ReconcileReport | null> {
    const store = this.store;
    if (!store) return null;
    // Renewed while a pass runs; short, so that a lock whose acquisition reply was lost (Redis
    // failing) holds the passes back for a moment only.
    const ttlMs = Math.min(20_000, Math.max(2_000, this.options.reconcileIntervalMs * 2));
    try {
      return await this.locks.withLock(LOCK_KEY, ttlMs, async () => {
        // Gone means Redis lost its data (FLUSHALL, a restart without persistence, a failover
        // that lost writes), so every row is compared again. Else a pass goes on from the
        // watermark any pod's pass reached, and one full pass every FULL_PASS_EVERY intervals.
        const mark = await this.marks.read();
        const lost = mark === 'lost';
        const shared = lost ? null : mark;
        if (shared?.watermark) this.advance(shared.watermark);
        // Paused tenants first: a schedule written again below must not start meanwhile.
        const paused = new Set(await store.pausedTenants());
        await this.pauses.pause(store, paused);
        if (lost) await this.afterDataLoss(store);
        // This pod's statics Redis lost are written back, paused if the store holds them paused.
        const statics = await this.statics.repair(store, this.registry.statics());
        const fullDue = shared
          ? (await this.marks.now()) - shared.fullAt >=
            FULL_PASS_EVERY * this.options.reconcileIntervalMs
          : this.passes % FULL_PASS_EVERY === 0;
        // No watermark in a shared mark: the store was empty at the last full pass.
        if (!(full || lost || (this.watermark === null && !shared) || fullDue)) {
          const report = await this.incrementalPass(store);
          if (shared) await this.marks.advance(shared, this.watermark);
          return { ...report, statics };
        }
        const report = await this.fullPass(store, paused);
        await this.marks.full(this.watermark);
        return { ...report, statics };
      });
    } catch (error) {
      if (error instanceof LockNotAcquiredError) return null;
      throw error;
    } finally {
      this.passes++;
    }
  }

  private async tick(): Promise<void> {
    const pass = this.reconcile().then(
      (report) => report && this.report(report),
      (error: unknown) =>
        this.logger.warn(
          `Reconciling Redis with the schedule store failed (${(error as Error).message}); ` +
            `next try in ${this.options.reconcileIntervalMs} ms`,
        ),
    );
    this.current = pass;
    await pass;
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.reconcileIntervalMs);
    this.timer.unref();
  }

  private report(report: ReconcileReport): void {
    const repaired = report.created + report.updated + report.removed + report.statics;
    if (repaired === 0 && report.failed.length === 0) return;
    this.logger.warn(
      `Reconciled Redis with the schedule store (${report.full ? 'full' : 'incremental'} pass, ` +
        `${report.scanned} rows): ${report.created} missing schedule(s) written, ${report.updated} ` +
        `stale rewritten, ${report.removed} removed, ${report.statics} static(s) repaired, ` +
        `${report.failed.length} failed` +
        report.failed.map((f) => `; ${f.tenantId}/${f.id}: ${f.reason}`).join(''),
    );
    this.events.emit('schedules.reconciled', report);
  }

  /**
   * The mark is missing: a first start on this Redis, or Redis lost its data, when the change
   * epochs and fencing counters restarted from zero. Moving them far on first means a run a pod reserved before the
   * loss is not confirmed on the epoch fast path once its schedule is written again (it is checked,
   * found without its run state, and not started), and fencing tokens keep growing.
   */
  private async afterDataLoss(store: DurableStore): Promise<void> {
    const { client, keys } = this.connection;
    // Past every value the counters had before the loss, so they keep growing (reservations are
    // confirmed against the least epoch of a batch): 100 per ms since 2020, more than the counters
    // move between two losses, and under 1e14 (exact in the scripts' number formatting) until 2050.
    const jump = (Date.now() - EPOCH_FLOOR_ORIGIN_MS) * 100;
    await Promise.all(
      keys.partitionBases.flatMap((_, p) => [
        client.incrby(keys.epochCounter(p), jump),
        client.incrby(keys.fenceCounter(p), jump),
      ]),
    );
    this.logger.warn(
      'The schedule store mark is missing in Redis (first start on this Redis, or Redis lost its ' +
        'data): comparing every schedule with the store',
    );
    // Every pod's runs completed before the loss reach the store's history (flushed every second)
    // before a schedule is armed after its last completed fire time: none of them runs again.
    if (store.recordRuns) await new Promise((r) => setTimeout(r, 2 * FLUSH_EVERY_MS + 500));
  }

  private async incrementalPass(store: DurableStore): Promise<ReconcileReport> {
    const report = emptyReport(false);
    const from = this.watermark;
    const at = from?.updatedAt.getTime() ?? 0;
    // Well after the watermark's change (2 lags, for clock skew), no late commit before it is
    // expected: start at it, not a lag back (else every pass rereads and reapplies that window).
    let cursor: ScheduleWatermark | null =
      from === null || Date.now() > at + 2 * WATERMARK_LAG_MS
        ? from
        : { updatedAt: new Date(at - WATERMARK_LAG_MS), tenantId: '', id: '' };
    for (;;) {
      const after: ScheduleWatermark | null = cursor;
      const batch = await store.changedSince(after, PAGE);
      if (batch.length === 0) break;
      await this.applyLocked(store, batch, () => store.changedSince(after, PAGE), report);
      cursor = batch[batch.length - 1];
      this.advance(cursor);
      if (batch.length < PAGE) break;
    }
    return finish(report);
  }

  private async fullPass(
    store: DurableStore,
    paused: ReadonlySet<string>,
  ): Promise<ReconcileReport> {
    const report = emptyReport(true);
    const tenants = new Map<string, Set<string>>(); // the live ids the pass saw
    let after: { tenantId: string; id: string } | null = null;
    for (;;) {
      const from = after;
      const page = await store.page(from, PAGE);
      await this.applyLocked(store, page, () => store.page(from, PAGE), report);
      for (const row of page) {
        this.advance(row);
        const live = tenants.get(row.tenantId) ?? new Set<string>();
        if (row.definition) live.add(row.id);
        tenants.set(row.tenantId, live);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
    const { client, keys } = this.connection;
    for (const [t, seen] of tenants) {
      // Reread under the tenant's hold only when Redis has an id the pass did not see live.
      const ids = await client.smembers(keys.tenantSet(t));
      if (ids.some((id) => !seen.has(id))) report.removed += await this.removeOrphans(store, t);
      if (!paused.has(t)) await this.pauses.resume(store, t);
    }
    return finish(report);
  }

  /** Applies `rows` while their tenants' writes are held back, from a reread under the hold. */
  private async applyLocked(
    store: DurableStore,
    rows: StoredScheduleRecord[],
    reread: () => Promise<StoredScheduleRecord[]>,
    report: ReconcileReport,
  ): Promise<void> {
    if (rows.length === 0) return;
    const tenants = new Set(rows.map((r) => r.tenantId));
    const counts = await store.lockTenants([...tenants], async () => {
      // Rows of other tenants in the reread were written (and applied) by their writer meanwhile.
      const fresh = (await reread()).filter((r) => tenants.has(r.tenantId));
      return this.scheduler.applyStored(fresh);
    });
    report.scanned += rows.length;
    report.created += counts.created;
    report.updated += counts.updated;
    report.removed += counts.removed;
    report.failed.push(...counts.failed);
  }

  private async removeOrphans(store: DurableStore, tenantId: string): Promise<number> {
    return store.lockTenants([tenantId], async () => {
      const live = new Set<string>();
      let after = { tenantId, id: '' };
      for (;;) {
        const page = (await store.page(after, PAGE)).filter((r) => r.tenantId === tenantId);
        for (const r of page) if (r.definition) live.add(r.id);
        if (page.length < PAGE) break;
        after = page[page.length - 1];
      }
      const { removed } = await this.scheduler.applyStored([], new Map([[tenantId, live]]));
      return removed;
    });
  }

  private advance(row: ScheduleWatermark): void {
    const w = this.watermark;
    if (!w || row.updatedAt.getTime() > w.updatedAt.getTime()) {
      this.watermark = { updatedAt: row.updatedAt, tenantId: row.tenantId, id: row.id };
    }
  }
}
