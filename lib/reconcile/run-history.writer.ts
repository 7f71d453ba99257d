import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { hostname } from 'node:os';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type {
  ScheduleStore as DurableStore,
  RunColumns,
  StoredRun,
} from '../interfaces/schedule-store.interface';
import { SchedulerEvents, type RunSink } from '../events/scheduler-events';
import { parseResult } from '../engine/run-result';

/** Runs written by one statement at most. */
const BATCH = 5_000;
export const FLUSH_EVERY_MS = 1_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 5_000;
const DAY_MS = 86_400_000;

/**
 * With a `store` that keeps execution history (issue 12): every run this pod records (succeeded,
 * failed, retry) is written to the store in batches, off the run path: the recorder hands each
 * run's fields to a sink that appends them to columns (no object per run), a bounded buffer
 * (historyBufferSize) that a timer flushes every second. While the store is down the buffer waits and
 * is flushed when it is back; what overflows is counted and logged, never a crash. Runs that ended
 * more than `historyRetentionDays` ago are pruned in batches, hourly.
 */
@Injectable()
export class RunHistoryWriter implements OnModuleInit {
  private readonly logger = new Logger('RedisScheduler');
  private readonly store: DurableStore | undefined;
  private readonly pod = `${hostname()}:${process.pid}`;
  private buffer: RunColumns = emptyColumns('');
  /** Runs taken out of the buffer by the write in flight (still counted toward its bound). */
  private writing = 0;
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
    this.buffer = emptyColumns(this.pod);
  }

  /** Runs waiting to be written. */
  get pending(): number {
    return this.buffer.fireMs.length + this.writing;
  }

  onModuleInit(): void {
    if (!this.store) return;
    this.events.runSink = this.add;
    this.unsubscribe.push(() => {
      if (this.events.runSink === this.add) this.events.runSink = undefined;
    });
    this.arm();
  }

  /** Stops listening and writes what is left (the reconciler calls it before closing the store). */
  async drain(): Promise<void> {
    this.unsubscribe.splice(0).forEach((off) => off());
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.store && this.pending > 0) await this.flush().catch(() => undefined);
  }

  /**
   * Writes what the buffer holds now (the timer does it every second). The buffer's columns are
   * handed to the store as they are (a fresh buffer takes new runs meanwhile) unless they hold more
   * than one statement's worth; a batch the store refuses goes back in front of the buffer.
   */
  async flush(): Promise<void> {
    const store = this.store;
    if (!store?.recordRuns) return;
    while (this.buffer.fireMs.length > 0) {
      const all = this.buffer;
      const batch = all.fireMs.length > BATCH ? sliceColumns(all, 0, BATCH) : all;
      this.buffer = batch === all ? emptyColumns(this.pod) : sliceColumns(all, BATCH, Infinity);
      this.writing = batch.fireMs.length;
      try {
        if (store.recordRunColumns) await store.recordRunColumns(batch);
        else await store.recordRuns(toRuns(batch));
      } catch (error) {
        this.buffer = concatColumns(batch, this.buffer);
        throw error;
      } finally {
        this.writing = 0;
      }
    }
  }

  /** The recorder's sink: one run's fields appended to the columns. */
  private readonly add: RunSink = (info, run, completion, startedMs, endedMs, sequence) => {
    const b = this.buffer;
    if (b.fireMs.length + this.writing >= this.options.historyBufferSize) {
      this.dropped++;
      this.droppedTotal++;
      return;
    }
    const { outcome } = completion;
    b.tenantIds.push(info.tenantId ?? '');
    b.scheduleIds.push(info.id);
    b.fireMs.push(run.fireMs);
    b.attempts.push(run.attempt);
    b.fencingTokens.push(run.fencingToken);
    // 'skipped' is reported as a failure, as run.failed does.
    b.statuses.push(outcome === 'skipped' ? 'failed' : outcome);
    b.startedMs.push(startedMs);
    b.endedMs.push(endedMs);
    b.errors.push(outcome === 'succeeded' ? null : completion.error);
    b.results.push(completion.result === '' ? null : completion.result);
    b.sequences.push(sequence);
  };

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

function emptyColumns(pod: string): RunColumns {
  return {
    pod,
    tenantIds: [],
    scheduleIds: [],
    fireMs: [],
    attempts: [],
    fencingTokens: [],
    statuses: [],
    startedMs: [],
    endedMs: [],
    errors: [],
    results: [],
    sequences: [],
  };
}

function sliceColumns(c: RunColumns, from: number, to: number): RunColumns {
  return {
    pod: c.pod,
    tenantIds: c.tenantIds.slice(from, to),
    scheduleIds: c.scheduleIds.slice(from, to),
    fireMs: c.fireMs.slice(from, to),
    attempts: c.attempts.slice(from, to),
    fencingTokens: c.fencingTokens.slice(from, to),
    statuses: c.statuses.slice(from, to),
    startedMs: c.startedMs.slice(from, to),
    endedMs: c.endedMs.slice(from, to),
    errors: c.errors.slice(from, to),
    results: c.results.slice(from, to),
    sequences: c.sequences.slice(from, to),
  };
}

/** The runs of `a`, then those of `b`. */
function concatColumns(a: RunColumns, b: RunColumns): RunColumns {
  return {
    pod: a.pod,
    tenantIds: a.tenantIds.concat(b.tenantIds),
    scheduleIds: a.scheduleIds.concat(b.scheduleIds),
    fireMs: a.fireMs.concat(b.fireMs),
    attempts: a.attempts.concat(b.attempts),
    fencingTokens: a.fencingTokens.concat(b.fencingTokens),
    statuses: a.statuses.concat(b.statuses),
    startedMs: a.startedMs.concat(b.startedMs),
    endedMs: a.endedMs.concat(b.endedMs),
    errors: a.errors.concat(b.errors),
    results: a.results.concat(b.results),
    sequences: a.sequences.concat(b.sequences),
  };
}

/** The runs as objects, for a store without recordRunColumns. */
function toRuns(c: RunColumns): StoredRun[] {
  return c.fireMs.map((fireMs, i) => {
    const started = c.startedMs[i];
    return {
      tenantId: c.tenantIds[i],
      scheduleId: c.scheduleIds[i],
      fireTime: new Date(fireMs),
      attempt: c.attempts[i],
      fencingToken: c.fencingTokens[i],
      status: c.statuses[i],
      startedAt: started > 0 ? new Date(started) : null,
      endedAt: new Date(c.endedMs[i]),
      durationMs: started > 0 ? c.endedMs[i] - started : null,
      error: c.errors[i],
      pod: c.pod,
      result: parseResult(c.results[i] ?? ''),
      sequence: c.sequences[i],
    };
  });
}
