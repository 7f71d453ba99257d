import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import { HandlerRegistry } from '../discovery/handler.registry';
import { dueTargets } from '../engine/due-target';
import { SchedulerEngine } from '../engine/scheduler.engine';
import { RedisConnection } from '../redis/redis-client.provider';
import { RedisClock } from '../time/redis-clock';
import { withTimeLimit } from '../time/time-limit';

/** This pod's scheduler now, without a Redis call (SchedulerMonitor.snapshot). */
export interface SchedulerSnapshot {
  podId: string;
  /** The module option `worker`: false, this pod never runs schedules. */
  worker: boolean;
  /** Whether the claim loop runs (a worker pod with handlers, between bootstrap and shutdown). */
  claiming: boolean;
  /** When the claim loop last completed a tick (null: never). */
  lastTickAt: Date | null;
  /** Handlers running on this pod now. */
  runsInFlight: number;
  /** Runs this pod reserved ahead of their due time and has not started yet. */
  reservedRuns: number;
}

/** A Redis probe (SchedulerMonitor.pingRedis): its round trip, or why it failed. */
export type RedisProbe = { ok: true; latencyMs: number } | { ok: false; error: string };

/** The oldest due entry of this pod's handlers (SchedulerMonitor.sampleBacklog), or why not known. */
export type BacklogSample =
  { ok: true; lateMs: number; handler: string | undefined } | { ok: false; error: string };

/**
 * A read-only view of this pod's scheduler, for health checks and metrics: `snapshot()` reads
 * in-process figures (no Redis call); `pingRedis()` and `sampleBacklog()` each make one bounded
 * call to Redis, per health check or scrape, never per run.
 */
@Injectable()
export class SchedulerMonitor {
  constructor(
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly engine: SchedulerEngine,
    private readonly handlers: HandlerRegistry,
    private readonly clock: RedisClock,
  ) {}

  snapshot(): SchedulerSnapshot {
    const f = this.engine.figures();
    return {
      podId: this.engine.podId,
      worker: this.options.worker,
      claiming: f.claiming,
      lastTickAt: f.lastTickAtMs === 0 ? null : new Date(f.lastTickAtMs),
      runsInFlight: f.runsInFlight,
      reservedRuns: f.reservedRuns,
    };
  }

  /** Redis time now (ms), estimated without a round trip: for latenesses measured against due times. */
  redisTime(): number {
    return this.clock.now();
  }

  /** PING, answered within `timeoutMs` or failed. */
  async pingRedis(timeoutMs = 1_000): Promise<RedisProbe> {
    const sentAt = performance.now();
    const result = await withTimeLimit(this.connection.client.ping(), timeoutMs);
    if (result === 'done') return { ok: true, latencyMs: performance.now() - sentAt };
    return {
      ok: false,
      error: result === 'timeout' ? `Redis did not answer within ${timeoutMs} ms` : result.message,
    };
  }

  /**
   * How late the oldest due entry of the due indexes of this pod's handlers is, in Redis time
   * (0 when nothing is late): one `ZRANGE <due index> 0 0 WITHSCORES` per index, answered within
   * `timeoutMs`. An entry a run holds is scored at its lease expiry, so only runs nobody has
   * claimed in time (or whose lease ran out) count: the fleet is falling behind.
   */
  async sampleBacklog(timeoutMs = 1_000): Promise<BacklogSample> {
    const targets = dueTargets(this.connection.keys, this.handlers.all());
    let oldest = Infinity;
    let handler: string | undefined;
    const work = Promise.all(
      targets.map(async (t) => {
        const [, score] = await this.connection.client.zrange(t.due, '0', '0', 'WITHSCORES');
        if (score !== undefined && Number(score) < oldest) {
          oldest = Number(score);
          handler = t.handler.name;
        }
      }),
    ).then(() => this.clock.fresh());
    const result = await withTimeLimit(work, timeoutMs);
    if (result !== 'done') {
      const error =
        result === 'timeout' ? `Redis did not answer within ${timeoutMs} ms` : result.message;
      return { ok: false, error };
    }
    if (oldest === Infinity) return { ok: true, lateMs: 0, handler: undefined };
    return { ok: true, lateMs: Math.max(0, this.clock.now() - oldest), handler };
  }
}
