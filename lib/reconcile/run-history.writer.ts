import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { hostname } from 'node:os';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type {
  ScheduleStore as DurableStore,
  StoredRun,
} from '../interfaces/schedule-store.interface';
import { SchedulerEvents, type RunEvent } from '../events/scheduler-events';

/** Runs written by one statement. */
const BATCH = 1_000;
export const FLUSH_EVERY_MS = 1_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 5_000;
const DAY_MS = 86_400_000;
/** Starts remembered for their durations (a run whose end never comes is forgotten past it). */
const MAX_STARTS = 100_000;

/**
 * With a `store` that keeps execution history (issue 12): every run this pod records (succeeded,
 * failed, retry) is written to the store in batches, off the run path: the run events fill a
 * bounded buffer (historyBufferSize) that a timer flushes every second. While the store is down the buffer waits and
 * is flushed when it is back; what overflows is counted and logged, never a crash. Runs that ended
 * more than `historyRetentionDays` ago are pruned in batches, hourly.
 */
@Injectable()
export class RunHistoryWriter implements OnModuleInit {
  private readonly logger = new Logger('RedisScheduler');
  private readonly store: DurableStore | undefined;
  private readonly pod = `${hostname()}:${process.pid}`;
  private readonly starts = new Map<string, number>();
  private buffer: StoredRun[] = [];
  /** Runs dropped since the last log line. */
  private dropped = 0;
  /** Runs dropped since boot. */
  droppedTotal = 0;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastPruneMs = 0;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly events: SchedulerEvents,
  ) {
    this.store = options.store?.recordRuns ? options.store : undefined;
  }

  /** Runs waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  onModuleInit(): void {
    if (!this.store) return;
    const key = (e: RunEvent) => `${e.tenantId ?? ''}|${e.scheduleId}|${+e.fireTime}|${e.attempt}`;
    this.unsubscribe.push(
      this.events.on('run.started', (e) => {
        if (this.starts.size >= MAX_STARTS) this.starts.clear();
        this.starts.set(key(e), Date.now());
      }),
      this.events.on('run.succeeded', (e) => this.add(e, key(e), 'succeeded', null)),
      this.events.on('run.failed', (e) => this.add(e, key(e), 'failed', e.error)),
      this.events.on('run.retrying', (e) => this.add(e, key(e), 'retry', e.error)),
    );
    this.arm();
  }

  /** Stops listening and writes what is left (the reconciler calls it before closing the store). */
  async drain(): Promise<void> {
    this.unsubscribe.splice(0).forEach((off) => off());
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.store && this.buffer.length > 0) await this.flush().catch(() => undefined);
  }

  /** Writes what the buffer holds now (the timer does it every second). */
  async flush(): Promise<void> {
    const store = this.store;
    if (!store?.recordRuns) return;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, BATCH);
      await store.recordRuns(batch);
      this.buffer.splice(0, batch.length);
    }
  }

  private add(e: RunEvent, key: string, status: StoredRun['status'], error: string | null): void {
    const endedAt = Date.now();
    const started = this.starts.get(key);
    this.starts.delete(key);
    if (this.buffer.length >= this.options.historyBufferSize) {
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    this.buffer.push({
      tenantId: e.tenantId ?? '',
      scheduleId: e.scheduleId,
      fireTime: e.fireTime,
      attempt: e.attempt,
      fencingToken: e.fencingToken,
      status,
      startedAt: started === undefined ? null : new Date(started),
      endedAt: new Date(endedAt),
      durationMs: started === undefined ? null : endedAt - started,
      error,
      pod: this.pod,
    });
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.flushing = this.tick().finally(() => {
        this.flushing = undefined;
        if (this.timer) this.arm();
      });
    }, FLUSH_EVERY_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.flush();
      if (this.failing) this.logger.log('Run history: the schedule store is back, buffer flushed');
      this.failing = false;
      await this.prune();
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          `Run history: the schedule store refused a batch (${(error as Error).message}); ` +
            `keeping up to ${this.options.historyBufferSize} runs and retrying every ${FLUSH_EVERY_MS} ms`,
        );
      }
      this.failing = true;
    }
    if (this.dropped > 0) {
      this.logger.warn(
        `Run history: ${this.dropped} run(s) dropped, the buffer of ` +
          `${this.options.historyBufferSize} (historyBufferSize) was full ` +
          `(${this.droppedTotal} since start); the runs themselves were not affected`,
      );
      this.dropped = 0;
    }
  }

  private async prune(): Promise<void> {
    const store = this.store;
    const now = Date.now();
    if (!store?.pruneRuns || now - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = now;
    const before = new Date(now - this.options.historyRetentionDays * DAY_MS);
    while ((await store.pruneRuns(before, PRUNE_BATCH)) === PRUNE_BATCH) {
      // the next batch
    }
  }
}
