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
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import { HandlerRegistry } from '../discovery/handler.registry';
import { RunInstrumentation } from '../events/run-instrumentation';
import { SchedulerEvents } from '../events/scheduler-events';
import { RedisConnection } from '../redis/redis-client.provider';
import { RedisClock } from '../time/redis-clock';
import { timerDelay } from '../time/timer-delay';
import { type DueTarget, dueTargets } from './due-target';
import type { EngineFigures } from './engine-figures';
import { PodRegistry } from './pod-registry';
import { reservationLeaseMs } from './run-lease';
import { RunCoordinator } from './run-coordinator';
import { StaticScheduleSync } from './static-schedule.sync';
import { WakeSubscription } from './wake-subscription';

const MAX_BACKOFF_MS = 5_000;
/** Period of the pod registry's heartbeats (a pod is out after three missed ones). */
const HEARTBEAT_MS = 1_000;

/**
 * The tick loop. Each tick claims, from the due indexes of the handlers this pod has (one
 * pipelined round trip per partition), what is due and the first attempts due within lookAheadMs,
 * and hands them to the RunCoordinator (which starts reservations at their due time), then sleeps
 * until lookAheadMs before the earliest known due time (capped by maxIdleMs; a pub/sub wake from a
 * writer cuts the sleep short). The pod keeps no schedule state: what it knows of due times is
 * only a hint for when to look again. While Redis is unreachable it backs off exponentially and
 * logs once per outage.
 */
@Injectable()
export class SchedulerEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly podId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger('RedisScheduler');
  private readonly runs: RunCoordinator;
  private readonly registry: PodRegistry;
  private readonly byDueKey = new Map<string, DueTarget>();
  private targets: DueTarget[] = [];
  private running = false;
  private ticking = false;
  private tickAgain = false;
  private starved = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private nextFullPollAt = 0;
  private failures = 0;
  private lastTickAtMs = 0;
  private readonly wake: WakeSubscription;
  /** The tick under way, awaited by shutdown so that no claim lands after it. */
  private current: Promise<void> | undefined;

  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly handlers: HandlerRegistry,
    private readonly clock: RedisClock,
    private readonly staticSync: StaticScheduleSync,
    private readonly events: SchedulerEvents,
    instrumentation: RunInstrumentation,
  ) {
    this.registry = new PodRegistry(this.podId, connection.keys, connection.scripts, HEARTBEAT_MS);
    this.runs = new RunCoordinator(
      options,
      connection,
      clock,
      events,
      this.registry,
      (source, dueMs) => this.rearmed(source as DueTarget, dueMs),
      () => {
        if (this.starved) this.arm(0);
      },
      instrumentation,
    );
    this.wake = new WakeSubscription(connection, {
      epochBumped: () => this.runs.noteWrite(),
      registryChanged: (key) => this.registry.changed(key),
      due: (dueKey, dueMs) => this.notifyDue(dueKey, dueMs),
      pushed: (live) => this.runs.changesPushed(live),
      unavailable: (error) => {
        if (!this.running) return;
        this.logger.warn(
          `Wake-up channel unavailable (${error.message}); polling every ${this.options.maxIdleMs} ms`,
        );
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.staticSync.start();
    const names = this.handlers.all().map((h) => h.name);
    this.logger.log(
      `Scheduler started on pod ${this.podId}: worker ${this.options.worker}, ` +
        `${this.options.partitions} partition(s), handlers: ${names.join(', ') || 'none'}`,
    );
    if (!this.options.worker) return;
    this.targets = dueTargets(this.connection.keys, this.handlers.all());
    for (const target of this.targets) this.byDueKey.set(target.due, target);
    if (this.targets.length === 0) return;
    this.running = true;
    this.wake.open();
    // Knowing the other pods first (bounded: Redis may be down) spares handing runs over later.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.registry.start(this.handlers.all().map((h) => h.key)),
      new Promise((resolve) => (timer = setTimeout(resolve, timerDelay(1_000)))),
    ]);
    clearTimeout(timer);
    this.arm(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.runs.close();
    // Leaving the registries first lets the other pods take this pod's schedules over at once.
    const leaving = this.registry.stop();
    // A claim in flight still delivers its runs; the coordinator gives them back at once.
    if (this.current) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.current,
        new Promise(
          (resolve) => (timer = setTimeout(resolve, timerDelay(this.options.shutdownTimeoutMs))),
        ),
      ]);
      clearTimeout(timer);
    }
    await this.wake.close();
    const inFlight = this.runs.running;
    await this.runs.shutdown(this.options.shutdownTimeoutMs);
    await leaving;
    this.logger.log(
      `Scheduler stopped on pod ${this.podId}: ${inFlight} run(s) were in flight when it began ` +
        'stopping (each finished or was given back); runs not started were handed back',
    );
  }

  /**
   * A remove, pause or upsert made through this process has been applied in Redis: this pod's runs
   * waiting for a slot are confirmed again before they start (see RunSlots), so none starts with
   * the old state once the call resolves.
   */
  noteWrite(): void {
    this.runs.noteWrite();
  }

  /** What the engine is doing now (SchedulerMonitor). */
  figures(): EngineFigures {
    return {
      claiming: this.running,
      lastTickAtMs: this.lastTickAtMs,
      runsInFlight: this.runs.running,
      reservedRuns: this.runs.reserved,
    };
  }

  /** A writer in this process stored a due time: look at it in time without waiting for pub/sub. */
  notifyDue(dueKey: string, dueMs: number): void {
    const target = this.byDueKey.get(dueKey);
    if (target) this.rearmed(target, dueMs);
  }

  private rearmed(target: DueTarget, dueMs: number): void {
    if (!this.running) return;
    const wakeAt = dueMs - this.options.lookAheadMs;
    target.wakeAtMs = Math.min(target.wakeAtMs, wakeAt);
    target.hintMs = Math.min(target.hintMs, wakeAt);
    this.arm(wakeAt - this.clock.now());
  }

  private arm(delayMs: number): void {
    if (!this.running) return;
    // Never past a full poll: a yearly cron's next due time would overflow setTimeout.
    const delay = timerDelay(delayMs, this.options.maxIdleMs);
    const at = performance.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.current = this.tick();
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
      delay = await this.claim();
      this.lastTickAtMs = Date.now();
      if (this.failures > 0) {
        this.logger.log(`Claiming again after ${this.failures} failed attempt(s)`);
        this.failures = 0;
      }
    } catch (error) {
      this.failures++;
      if (this.events.wants('redis.error')) {
        this.events.emit('redis.error', { operation: 'claim', error: (error as Error).message });
      }
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
  private async claim(): Promise<number> {
    const budget = this.runs.claimBudget;
    if (budget <= 0) {
      this.starved = true;
      return this.options.maxIdleMs;
    }
    const { lookAheadMs, batchSize, leaseMs } = this.options;
    const now = this.clock.now();
    const fullPoll = now >= this.nextFullPollAt;
    if (fullPoll) this.nextFullPollAt = now + this.options.maxIdleMs;
    const hot = fullPoll ? this.targets : this.targets.filter((t) => t.wakeAtMs <= now + 1);
    if (hot.length > 0) {
      const limit = Math.max(1, Math.min(batchSize, Math.floor(budget / hot.length)));
      // Reservations (first attempts not yet due) stay within the look-ahead room.
      const maxAhead = Math.max(0, Math.floor(this.runs.lookAheadRoom / hot.length));
      const groups = new Map<number, DueTarget[]>();
      for (const t of hot) {
        const group = groups.get(t.partition);
        if (group) group.push(t);
        else groups.set(t.partition, [t]);
      }
      let full = false;
      await Promise.all(
        [...groups.values()].map(async (group) => {
          // Hints that came before this claim are covered by it (they follow their writes).
          for (const t of group) t.hintMs = Infinity;
          const sentAt = performance.now();
          const replies = await this.connection.scripts.claimDue(
            group.map((t) => {
              if (fullPoll) t.offset = 0;
              if (t.offset === 0) t.heldMs = Infinity; // a new round
              return { ...t, share: this.registry.shareOf(t.handler.key), maxAhead };
            }),
            limit,
            leaseMs,
            lookAheadMs,
            reservationLeaseMs(leaseMs),
          );
          replies.forEach((reply, i) => {
            const target = group[i];
            this.clock.observe(reply.nowMs, sentAt);
            target.heldMs = Math.min(target.heldMs, reply.heldScoreMs ?? Infinity);
            // A hint that came while the claim was in flight may be newer than its reply.
            target.wakeAtMs = Math.min(
              reply.nextScoreMs === null ? Infinity : reply.nextScoreMs - lookAheadMs,
              target.heldMs,
              target.hintMs,
            );
            // A claim cut short by the limit goes on at once, past what it left alone.
            if (reply.more) full = true;
            target.offset = reply.more ? target.offset + reply.passed : 0;
            this.runs.dispatchAll(target, reply.runs, { nowMs: reply.nowMs, epoch: reply.epoch });
          });
        }),
      );
      this.starved = full;
      if (full) return this.runs.claimBudget > 0 ? 0 : this.options.maxIdleMs;
    }
    let earliest = this.nextFullPollAt;
    for (const t of this.targets) earliest = Math.min(earliest, t.wakeAtMs);
    return Math.min(this.options.maxIdleMs, earliest - this.clock.now());
  }
}
