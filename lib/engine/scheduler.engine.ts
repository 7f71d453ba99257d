import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import { LATE_COMPLETION_REJECTED } from '../redis-scheduler.messages';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';
import { HandlerRegistry, RegisteredHandler } from '../discovery/handler.registry';
import { RedisConnection } from '../redis/redis-client.provider';
import type { ClaimedRun, ClaimTarget, Completion, RedisClient } from '../redis/redis-scripts';
import { CronSchedule } from '../time/cron';
import { RedisClock } from '../time/redis-clock';
import { Arming, planAfterRun, supersededBy, withJitter } from './fire-planner';
import { RunCompletions } from './run-completions';
import { RunExecutor } from './run-executor';
import { LeasedRun, LeaseKeeper } from './run-lease';
import { StaticScheduleSync } from './static-schedule.sync';

/** One (partition, handler) due index this pod claims from. */
interface Target extends ClaimTarget {
  partition: number;
  handler: RegisteredHandler;
  /** Earliest score last seen in the index (Redis ms); Infinity when empty. */
  earliestMs: number;
}

interface ActiveRun extends LeasedRun {
  /** Shutdown handed the lease back: the run's end must not be recorded. */
  givenBack: boolean;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * The tick loop. Each tick claims what is due from the due indexes of the handlers this pod has
 * (one pipelined round trip per partition), runs it, and sleeps until the earliest known due time
 * (capped by maxIdleMs; a pub/sub wake from a writer cuts the sleep short). The pod keeps no
 * schedule state: what it knows of due times is only a hint for when to look again.
 */
@Injectable()
export class SchedulerEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly podId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger('RedisScheduler');
  private readonly executor = new RunExecutor();
  private readonly leases: LeaseKeeper;
  private readonly completions: RunCompletions;
  private readonly byDueKey = new Map<string, Target>();
  private readonly active = new Set<ActiveRun>();
  private targets: Target[] = [];
  private running = false;
  private ticking = false;
  private tickAgain = false;
  private starved = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private nextFullPollAt = 0;
  private failures = 0;
  private subscriber: RedisClient | undefined;
  private drained: (() => void) | undefined;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly registry: HandlerRegistry,
    private readonly clock: RedisClock,
    private readonly staticSync: StaticScheduleSync,
  ) {
    this.leases = new LeaseKeeper(options.leaseMs, clock, connection.scripts, connection.keys);
    this.completions = new RunCompletions(connection.scripts, connection.keys, options.batchSize);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.staticSync.start();
    if (!this.options.worker) return;
    this.targets = this.buildTargets();
    if (this.targets.length === 0) return;
    this.running = true;
    this.subscribe();
    this.arm(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.subscriber) {
      await this.connection.close(this.subscriber).catch(() => undefined);
      this.subscriber = undefined;
    }
    await this.drain(this.options.shutdownTimeoutMs);
    const remaining = [...this.active];
    if (remaining.length > 0) {
      this.logger.warn(
        `Shutting down with ${remaining.length} run(s) still in flight after ${this.options.shutdownTimeoutMs} ms: ` +
          'aborting their signals and giving their leases back',
      );
      for (const run of remaining) {
        run.givenBack = true;
        run.controller.abort(new Error('The application is shutting down'));
      }
      await this.leases
        .giveBack(remaining)
        .catch((error: Error) =>
          this.logger.warn(
            `Could not give leases back (${error.message}); they expire after leaseMs`,
          ),
        );
    }
    this.leases.stop();
  }

  /** A writer in this process stored a due time: look at it in time without waiting for pub/sub. */
  notifyDue(dueKey: string, dueMs: number): void {
    const target = this.byDueKey.get(dueKey);
    if (!target || !this.running) return;
    target.earliestMs = Math.min(target.earliestMs, dueMs);
    this.arm(dueMs - this.clock.now());
  }

  private buildTargets(): Target[] {
    const { keys } = this.connection;
    const targets: Target[] = [];
    for (const handler of this.registry.all()) {
      const partitions =
        handler.kind === 'static'
          ? [keys.partitionOf(handler.name)]
          : keys.partitionBases.map((_, p) => p);
      for (const partition of partitions) {
        const target: Target = {
          partition,
          handler,
          due: keys.dueIndex(partition, handler.key),
          fence: keys.fenceCounter(partition),
          hashBase: keys.hashBase(partition),
          earliestMs: 0,
        };
        targets.push(target);
        this.byDueKey.set(target.due, target);
      }
    }
    return targets;
  }

  private subscribe(): void {
    const subscriber = this.connection.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      const space = message.lastIndexOf(' ');
      this.notifyDue(message.slice(0, space), Number(message.slice(space + 1)));
    });
    subscriber.subscribe(this.connection.keys.wakeChannel).catch((error: Error) => {
      this.logger.warn(
        `Wake-up channel unavailable (${error.message}); polling every ${this.options.maxIdleMs} ms`,
      );
    });
  }

  private arm(delayMs: number): void {
    if (!this.running) return;
    const delay = Math.max(0, Math.ceil(delayMs));
    const at = performance.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.tick();
    }, delay);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    let delay = this.options.maxIdleMs;
    try {
      delay = await this.claimAndDispatch();
      if (this.failures > 0) {
        this.logger.log(`Claiming again after ${this.failures} failed attempt(s)`);
        this.failures = 0;
      }
    } catch (error) {
      this.failures++;
      if (this.failures === 1) {
        this.logger.warn(
          `Cannot claim due runs: ${(error as Error).message}; retrying with backoff`,
        );
      }
      this.nextFullPollAt = 0;
      delay =
        Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(this.failures - 1, 6)) *
        (0.75 + Math.random() / 2);
    } finally {
      this.ticking = false;
    }
    if (this.tickAgain) {
      this.tickAgain = false;
      delay = 0;
    }
    this.arm(delay);
  }

  /** One claim round; returns how long to sleep before the next. */
  private async claimAndDispatch(): Promise<number> {
    const free = this.options.concurrency - this.active.size;
    if (free <= 0) {
      this.starved = true;
      return this.options.maxIdleMs;
    }
    const now = this.clock.now();
    const fullPoll = now >= this.nextFullPollAt;
    if (fullPoll) this.nextFullPollAt = now + this.options.maxIdleMs;
    const hot = fullPoll ? this.targets : this.targets.filter((t) => t.earliestMs <= now + 1);
    if (hot.length > 0) {
      const limit = Math.max(1, Math.min(this.options.batchSize, Math.floor(free / hot.length)));
      const groups = new Map<number, Target[]>();
      for (const t of hot) groups.set(t.partition, [...(groups.get(t.partition) ?? []), t]);
      let full = false;
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const sentAt = performance.now();
          const replies = await this.connection.scripts.claimDue(
            group,
            limit,
            this.options.leaseMs,
            this.podId,
            this.options.maxAttempts,
          );
          replies.forEach((reply, i) => {
            const target = group[i];
            this.clock.observe(reply.nowMs, sentAt);
            target.earliestMs = reply.earliestMs ?? Infinity;
            if (reply.runs.length >= limit) full = true;
            for (const run of reply.runs) this.dispatch(target, run, reply.nowMs);
          });
        }),
      );
      this.starved = full;
      if (full) return this.active.size < this.options.concurrency ? 0 : this.options.maxIdleMs;
    }
    let earliest = this.nextFullPollAt;
    for (const t of this.targets) earliest = Math.min(earliest, t.earliestMs);
    return Math.min(this.options.maxIdleMs, earliest - this.clock.now());
  }

  private dispatch(target: Target, run: ClaimedRun, nowMs: number): void {
    let cron: CronSchedule;
    try {
      cron = CronSchedule.of(run.cron, run.timeZone);
    } catch (error) {
      this.logger.error(`Schedule "${run.id}" holds an unusable cron: ${(error as Error).message}`);
      return;
    }
    const after = (fireMs: number): Arming & { skipped?: boolean } =>
      planAfterRun(cron, run.member, run.jitterMs, fireMs, this.clock.now());
    if (run.claim === 'stale') {
      void this.complete(target, run, 'skipped', '', after(run.fireMs));
      return;
    }
    if (run.claim === 'abandon') {
      const why = `gave up after ${this.options.maxAttempts} attempts that each lost their lease`;
      this.logger.error(`Run of "${run.id}" for ${new Date(run.fireMs).toISOString()} ${why}`);
      void this.complete(target, run, 'failed', why, after(run.fireMs));
      return;
    }
    if (run.claim === 'run') {
      const latest = supersededBy(cron, run.member, run.jitterMs, run.fireMs, nowMs);
      if (latest) {
        void this.complete(target, run, 'skipped', '', latest);
        return;
      }
    }
    void this.execute(target, run, cron);
  }

  private async execute(target: Target, run: ClaimedRun, cron: CronSchedule): Promise<void> {
    const active: ActiveRun = {
      partition: target.partition,
      member: run.member,
      token: run.token,
      scheduleId: run.id,
      leaseUntilMs: run.leaseUntilMs,
      controller: new AbortController(),
      givenBack: false,
    };
    this.active.add(active);
    this.leases.add(active);
    const ctx: ScheduleContext = {
      scheduleId: run.id,
      fireTime: new Date(run.fireMs),
      dueTime: new Date(withJitter(cron, run.member, run.jitterMs, run.fireMs).dueMs),
      attempt: run.attempt,
      fencingToken: run.fencingToken,
      signal: active.controller.signal,
    };
    if (run.kind === 't') ctx.tenantId = run.tenantId;
    const outcome = await this.executor.execute(target.handler, run.payload, ctx);
    this.leases.delete(active);
    if (!active.givenBack) {
      const next = planAfterRun(cron, run.member, run.jitterMs, run.fireMs, this.clock.now());
      await this.complete(target, run, outcome.status, outcome.error, next, active);
    }
    this.active.delete(active);
    if (this.active.size === 0) this.drained?.();
    if (this.starved) this.arm(0);
  }

  /** Records a run's end and re-arms its schedule; retries while the lease is still ours. */
  private async complete(
    target: Target,
    run: ClaimedRun,
    outcome: Completion['outcome'],
    error: string,
    next: Arming,
    active?: ActiveRun,
  ): Promise<void> {
    const completion: Completion = {
      member: run.member,
      token: run.token,
      outcome,
      timingRevision: run.timingRevision,
      nextFireMs: next.fireMs,
      nextDueMs: next.dueMs,
      error,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const code = await this.completions.submit(target.partition, completion);
        if (code < 0) {
          const reason = active?.controller.signal.aborted
            ? 'lease lost during the run'
            : `code ${code}`;
          this.logger.warn(LATE_COMPLETION_REJECTED(run.id, new Date(run.fireMs), reason));
        } else {
          target.earliestMs = Math.min(target.earliestMs, next.dueMs);
          this.arm(next.dueMs - this.clock.now());
        }
        return;
      } catch (err) {
        const leaseUntil = active?.leaseUntilMs ?? run.leaseUntilMs;
        if (this.clock.now() >= leaseUntil) {
          this.logger.warn(
            `Could not record the run of "${run.id}" for ${new Date(run.fireMs).toISOString()} ` +
              `(${(err as Error).message}); its lease has expired, so it will be re-run`,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
  }

  private drain(timeoutMs: number): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
