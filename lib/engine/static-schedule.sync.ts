import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import { HandlerRegistry, type StaticScheduleSpec } from '../discovery/handler.registry';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { SchedulerError } from '../errors/scheduler.error';
import { StaticScheduleConflictError } from '../errors/static-schedule-conflict.error';
import { staticHandlerKey } from '../redis/key-space';
import { RedisConnection } from '../redis/redis-client.provider';
import { STATIC_TIMING_DIFFERS } from '../redis-scheduler.messages';
import { newPodId } from './pod-id';
import { describeTiming, encodeTiming } from './static-declaration';
import { StaticDeclarations } from './static-declarations';
import { ScheduleStore } from './schedule.store';
import { CronSchedule, hashSeedOf } from '../time/cron';
import { timerDelay } from '../time/timer-delay';

const RETRY_MS = 2_000;
/** How schedules are stored (hash fields, scripts); written to the keyPrefix's meta hash. */
const DATA_LAYOUT = '2';

/**
 * Writes this pod's @DistributedCron specs to Redis at boot. The write is the same idempotent
 * upsert dynamic schedules use: a pod of the same version changes nothing, a pod of a newer
 * version with another expression re-arms it. Pods only claim due indexes of handlers they have,
 * so an older pod never runs a static it lacks, and a static no running pod declares never fires.
 * Before writing, the pod declares where each static comes from (see StaticDeclarations): a name
 * another live pod declares from another class or method (another service on the same keyPrefix)
 * refuses the boot with StaticScheduleConflictError; the same method with another timing (a
 * rolling deploy that changes it) is logged once and written, the last pod to boot deciding.
 * Boot has waited for Redis already (RedisConnection, connectTimeoutMs); if Redis goes away between
 * that wait and the sync, the sync retries in the background instead of failing the boot.
 */
@Injectable()
export class StaticScheduleSync implements BeforeApplicationShutdown {
  private readonly logger = new Logger('RedisScheduler');
  private readonly declarations: StaticDeclarations;
  private readonly warned = new Set<string>();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly registry: HandlerRegistry,
    private readonly store: ScheduleStore,
  ) {
    this.declarations = new StaticDeclarations(newPodId(), connection.keys, connection.scripts);
  }

  async start(): Promise<void> {
    try {
      await this.sync();
    } catch (error) {
      if (error instanceof SchedulerError) throw error;
      this.logger.warn(`Cannot write static schedules yet (${(error as Error).message}); retrying`);
      this.retry = setTimeout(() => {
        this.start().catch((err: Error) =>
          this.logger.error(`Static schedules not written: ${err.message}`),
        );
      }, timerDelay(RETRY_MS));
      this.retry.unref();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    await this.declarations.stop();
  }

  private async sync(): Promise<void> {
    await this.checkPartitions();
    await this.checkEvictionPolicy();
    await this.checkDeclarations();
    const store = this.options.store;
    const specs = this.registry.statics();
    if (!store?.pausedStatics || specs.length === 0) return this.write(specs, new Set());
    // The statics paused in the store are written paused (Redis may have lost their pause); a
    // store that cannot be read fails the sync, retried by start().
    await store.lockTenants([''], async () =>
      this.write(specs, new Set(await store.pausedStatics?.())),
    );
  }

  /**
   * Writes the statics `specs` (the same idempotent upsert at every boot); those named in
   * `paused` (held paused by the durable store) are written paused and marked paused at runtime,
   * as pauseStatic() does. With a store, callers hold its statics' lock (lockTenants(['']).
   */
  async write(specs: readonly StaticScheduleSpec[], paused: ReadonlySet<string>): Promise<void> {
    const { keys } = this.connection;
    await Promise.all(
      specs.map((spec) =>
        this.store.write({
          kind: 'static',
          keys: keys.staticSchedule(spec.name),
          tenantId: '',
          id: spec.name,
          series:
            spec.everyMs === undefined
              ? CronSchedule.of(spec.cron, spec.timeZone, hashSeedOf(spec.name))
              : { everyMs: spec.everyMs },
          written: spec.everyMs === undefined ? spec.cron : (spec.writtenEvery ?? ''),
          jitterMs: spec.jitterMs,
          payloadJson: '',
          enabled: spec.enabled && !paused.has(spec.name),
          policyJson: spec.policyJson,
        }),
      ),
    );
    for (const spec of specs) {
      if (paused.has(spec.name))
        await this.store.setEnabledAt(keys.staticSchedule(spec.name), false, true);
    }
  }

  /** Refuses a static another service declares; says once when a deploy changes a timing. */
  private async checkDeclarations(): Promise<void> {
    const statics = this.registry.statics().map((spec) => ({
      name: spec.name,
      source: this.registry.get(staticHandlerKey(spec.name))?.source ?? spec.name,
      timing: encodeTiming(spec),
    }));
    const verdicts = await this.declarations.declare(statics);
    verdicts.forEach((verdict, i) => {
      const { name, source, timing } = statics[i];
      if (verdict.kind === 'other-source') {
        const error = new StaticScheduleConflictError(
          name,
          source,
          verdict.sources.map((g) => g.value),
          this.connection.keys.prefix,
          verdict.sources.flatMap((g) => g.pods),
        );
        this.logger.error(error.message);
        throw error;
      }
      if (verdict.kind === 'other-timing' && !this.warned.has(name)) {
        this.warned.add(name);
        const theirs = verdict.timings.map(
          (g) => `${describeTiming(g.value)} (${g.pods.length} pod(s))`,
        );
        this.logger.warn(STATIC_TIMING_DIFFERS(name, source, describeTiming(timing), theirs));
      }
    });
  }

  /** An evicting Redis can silently drop schedules: say so once at boot. */
  private async checkEvictionPolicy(): Promise<void> {
    let policy: string | undefined;
    try {
      const reply = (await this.connection.client.call(
        'CONFIG',
        'GET',
        'maxmemory-policy',
      )) as string[];
      policy = reply[1];
    } catch {
      return; // CONFIG is disabled on some managed services: nothing to check
    }
    if (policy && policy !== 'noeviction') {
      this.logger.warn(
        `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict schedules, leases ` +
          `and exactly-once marks. Set maxmemory-policy to noeviction for the guarantees to hold.`,
      );
    }
  }

  /**
   * Every process sharing a keyPrefix must agree on the partition count, and on the layout of
   * the data (a version that stores schedules differently refuses a keyPrefix it cannot read).
   */
  private async checkPartitions(): Promise<void> {
    const { client, keys } = this.connection;
    const wanted = String(this.options.partitions);
    const pipeline = client.pipeline();
    pipeline.hsetnx(keys.meta, 'partitions', wanted);
    pipeline.hsetnx(keys.meta, 'layout', DATA_LAYOUT);
    pipeline.hmget(keys.meta, 'partitions', 'layout');
    const replies = (await pipeline.exec()) ?? [];
    const [error, stored] = replies[2] ?? [new Error('no reply'), null];
    if (error) throw error;
    const [partitions, layout] = stored as (string | null)[];
    if (layout !== DATA_LAYOUT) {
      throw new InvalidOptionsError(
        'option `keyPrefix`',
        `keyPrefix "${keys.prefix}" holds schedules in data layout ${layout}, which this version (layout ${DATA_LAYOUT}) cannot read; use a new keyPrefix, or run the version that wrote them`,
      );
    }
    if (partitions !== wanted) {
      throw new InvalidOptionsError(
        'option `partitions`',
        `this process uses ${wanted} but keyPrefix "${keys.prefix}" was set up with ${partitions}; every process sharing a keyPrefix must use the same value`,
      );
    }
  }
}
