import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import { HandlerRegistry } from '../discovery/handler.registry';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { SchedulerError } from '../errors/scheduler.error';
import { RedisConnection } from '../redis/redis-client.provider';
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
 * Boot has waited for Redis already (RedisConnection, connectTimeoutMs); if Redis goes away between
 * that wait and the sync, the sync retries in the background instead of failing the boot.
 */
@Injectable()
export class StaticScheduleSync implements BeforeApplicationShutdown {
  private readonly logger = new Logger('RedisScheduler');
  private retry: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly registry: HandlerRegistry,
    private readonly store: ScheduleStore,
  ) {}

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

  beforeApplicationShutdown(): void {
    if (this.retry) clearTimeout(this.retry);
  }

  private async sync(): Promise<void> {
    await this.checkPartitions();
    await this.checkEvictionPolicy();
    const { keys } = this.connection;
    await Promise.all(
      this.registry.statics().map((spec) =>
        this.store.write({
          kind: 'static',
          keys: keys.staticSchedule(spec.name),
          tenantId: '',
          id: spec.name,
          cron: CronSchedule.of(spec.cron, spec.timeZone, hashSeedOf(spec.name)),
          writtenCron: spec.cron,
          jitterMs: spec.jitterMs,
          payloadJson: '',
          enabled: spec.enabled,
          policyJson: spec.policyJson,
        }),
      ),
    );
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
