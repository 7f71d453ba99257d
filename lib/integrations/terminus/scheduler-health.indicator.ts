import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { SchedulerMonitor } from '../../index';

/** The bounds of SchedulerHealthIndicator.isHealthy; every field has a default. */
export interface SchedulerHealthOptions {
  /** Longest wait for Redis to answer PING (and the backlog sample). @default 1_000 */
  redisTimeoutMs?: number;
  /** Longest time since this pod's claim loop last completed a tick. @default 30_000 */
  maxTickAgeMs?: number;
  /** Most lateness of the oldest due run before the fleet counts as falling behind (0: not checked). @default 60_000 */
  maxBacklogMs?: number;
}

/**
 * Terminus health of this pod's scheduler. Down when Redis does not answer PING within
 * `redisTimeoutMs`; on a pod that claims runs, also when its claim loop has not completed a tick
 * for `maxTickAgeMs`, or when the oldest due run is later than `maxBacklogMs`. A `worker: false`
 * pod checks Redis only. The details carry the figures either way.
 */
@Injectable()
export class SchedulerHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly monitor: SchedulerMonitor,
  ) {}

  async isHealthy<const Key extends string = 'scheduler'>(
    key: Key = 'scheduler' as Key,
    options: SchedulerHealthOptions = {},
  ) {
    const { redisTimeoutMs = 1_000, maxTickAgeMs = 30_000, maxBacklogMs = 60_000 } = options;
    const indicator = this.health.check(key);
    const snapshot = this.monitor.snapshot();
    const redis = await this.monitor.pingRedis(redisTimeoutMs);
    const details: Record<string, unknown> = {
      worker: snapshot.worker,
      redis: redis.ok ? 'up' : 'down',
      ...(redis.ok ? { redisLatencyMs: Math.round(redis.latencyMs) } : {}),
    };
    if (!redis.ok) return indicator.down({ ...details, message: redis.error });
    if (!snapshot.claiming) return indicator.up(details);

    const tickAgeMs =
      snapshot.lastTickAt === null ? null : Date.now() - snapshot.lastTickAt.getTime();
    Object.assign(details, {
      lastTickAt: snapshot.lastTickAt?.toISOString() ?? null,
      tickAgeMs,
      runsInFlight: snapshot.runsInFlight,
      reservedRuns: snapshot.reservedRuns,
    });
    if (tickAgeMs === null || tickAgeMs > maxTickAgeMs) {
      const message =
        tickAgeMs === null
          ? 'the claim loop has not completed a tick yet'
          : `the claim loop has not completed a tick for ${tickAgeMs} ms (bound ${maxTickAgeMs} ms)`;
      return indicator.down({ ...details, message });
    }
    if (maxBacklogMs > 0) {
      const backlog = await this.monitor.sampleBacklog(redisTimeoutMs);
      if (!backlog.ok) return indicator.down({ ...details, message: backlog.error });
      details.backlogMs = Math.round(backlog.lateMs);
      if (backlog.lateMs > maxBacklogMs) {
        const message =
          `the oldest due run (handler "${backlog.handler}") is ${Math.round(backlog.lateMs)} ms ` +
          `late (bound ${maxBacklogMs} ms): the fleet is falling behind`;
        return indicator.down({ ...details, message });
      }
    }
    return indicator.up(details);
  }
}
