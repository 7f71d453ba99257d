import { HealthIndicatorService } from '@nestjs/terminus';
import type {
  BacklogSample,
  RedisProbe,
  SchedulerMonitor,
  SchedulerSnapshot,
} from 'nestjs-redis-scheduler';
import { SchedulerHealthIndicator } from 'nestjs-redis-scheduler/terminus';

/*
 * The decisions of SchedulerHealthIndicator on given figures (the HTTP tests, against a real
 * redis-server, cover Redis stopped, paused and a fleet falling behind): a claim loop that stopped
 * ticking while Redis answers, a backlog that cannot be sampled, and what a worker: false pod skips.
 */

const NOW = Date.now();

function indicator(
  snapshot: Partial<SchedulerSnapshot>,
  redis: RedisProbe = { ok: true, latencyMs: 1.4 },
  backlog: BacklogSample = { ok: true, lateMs: 0, handler: undefined },
) {
  const sampled: number[] = [];
  const monitor = {
    snapshot: (): SchedulerSnapshot => ({
      podId: 'pod',
      worker: true,
      claiming: true,
      lastTickAt: new Date(NOW),
      runsInFlight: 2,
      reservedRuns: 3,
      ...snapshot,
    }),
    pingRedis: async () => redis,
    sampleBacklog: async (timeoutMs: number) => {
      sampled.push(timeoutMs);
      return backlog;
    },
  } as unknown as SchedulerMonitor;
  return { health: new SchedulerHealthIndicator(new HealthIndicatorService(), monitor), sampled };
}

describe('SchedulerHealthIndicator', () => {
  it('is up with its figures when Redis answers, the loop ticks and nothing is late', async () => {
    const { health, sampled } = indicator({ lastTickAt: new Date(Date.now() - 500) });
    const result = await health.isHealthy('jobs', { redisTimeoutMs: 700 });
    expect(result.jobs).toMatchObject({
      status: 'up',
      worker: true,
      redis: 'up',
      redisLatencyMs: 1,
      runsInFlight: 2,
      reservedRuns: 3,
      backlogMs: 0,
    });
    expect(sampled).toEqual([700]);
  });

  it('is down when the claim loop has not completed a tick within maxTickAgeMs, Redis up', async () => {
    const { health } = indicator({ lastTickAt: new Date(Date.now() - 45_000) });
    const result = await health.isHealthy('scheduler', { maxTickAgeMs: 30_000 });
    expect(result.scheduler.status).toBe('down');
    expect(result.scheduler.message).toMatch(
      /^the claim loop has not completed a tick for \d+ ms \(bound 30000 ms\)$/,
    );
  });

  it('is down while a claiming pod has not completed its first tick', async () => {
    const { health } = indicator({ lastTickAt: null });
    const result = await health.isHealthy();
    expect(result.scheduler).toMatchObject({
      status: 'down',
      lastTickAt: null,
      message: 'the claim loop has not completed a tick yet',
    });
  });

  it('is down when the backlog cannot be sampled in time', async () => {
    const { health } = indicator({}, undefined, {
      ok: false,
      error: 'Redis did not answer within 1000 ms',
    });
    const result = await health.isHealthy();
    expect(result.scheduler).toMatchObject({
      status: 'down',
      message: 'Redis did not answer within 1000 ms',
    });
  });

  it('does not sample the backlog with maxBacklogMs 0', async () => {
    const { health, sampled } = indicator({});
    const result = await health.isHealthy('scheduler', { maxBacklogMs: 0 });
    expect(result.scheduler.status).toBe('up');
    expect(sampled).toEqual([]);
  });

  it('checks Redis only on a pod that does not claim (worker: false)', async () => {
    const { health, sampled } = indicator({ worker: false, claiming: false, lastTickAt: null });
    const result = await health.isHealthy();
    expect(result.scheduler).toEqual({
      status: 'up',
      worker: false,
      redis: 'up',
      redisLatencyMs: 1,
    });
    expect(sampled).toEqual([]);
    const down = await indicator(
      { worker: false, claiming: false },
      { ok: false, error: 'refused' },
    ).health.isHealthy();
    expect(down.scheduler).toEqual({
      status: 'down',
      worker: false,
      redis: 'down',
      message: 'refused',
    });
  });
});
