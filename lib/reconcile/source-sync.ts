import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { ScheduleInput } from '../interfaces/schedule.interface';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { RedisLockService } from '../lock/redis-lock.service';
import { SchedulerService } from '../scheduler/scheduler.service';
import type { SyncResult } from '../scheduler/schedule-sync';

const LOCK_KEY = 'rsched-internal:source';

/**
 * The module's `source` option (issue 12): at boot and every `reconcileIntervalMs`, one pod at a
 * time (a RedisLockService lock) reads every schedule the source yields and makes Redis match it
 * with SchedulerService.sync(records, { removeMissing: true }). A failing load is logged and tried
 * again at the next interval; nothing is removed from a load that failed.
 */
@Injectable()
export class SourceSync implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RedisScheduler');
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly scheduler: SchedulerService,
    private readonly locks: RedisLockService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.source) await this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  /** One pass now unless another pod runs one (null then). */
  async syncNow(): Promise<SyncResult | null> {
    const source = this.options.source;
    if (!source) return null;
    const ttlMs = Math.min(20_000, Math.max(2_000, this.options.reconcileIntervalMs * 2));
    try {
      return await this.locks.withLock(LOCK_KEY, ttlMs, async () => {
        const records: ScheduleInput[] = [];
        for await (const record of source.load()) records.push(record);
        return this.scheduler.sync(records, { removeMissing: true });
      });
    } catch (error) {
      if (error instanceof LockNotAcquiredError) return null;
      throw error;
    }
  }

  private async tick(): Promise<void> {
    const pass = this.syncNow().then(
      (r) => {
        if (r && r.created + r.updated + r.removed > 0) {
          this.logger.log(
            `Schedules synced from the source: ${r.created} created, ${r.updated} updated, ` +
              `${r.removed} removed, ${r.unchanged} unchanged`,
          );
        }
      },
      (error: unknown) =>
        this.logger.warn(
          `Syncing schedules from the source failed (${(error as Error).message}); next try in ` +
            `${this.options.reconcileIntervalMs} ms`,
        ),
    );
    this.current = pass;
    await pass;
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.reconcileIntervalMs);
    this.timer.unref();
  }
}
