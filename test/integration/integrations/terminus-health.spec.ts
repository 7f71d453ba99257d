import { Controller, Get, Injectable } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { randomUUID } from 'node:crypto';
import {
  ScheduleHandler,
  SchedulerService,
  type RedisSchedulerModuleOptions,
  type ScheduleContext,
} from 'nestjs-redis-scheduler';
import {
  SchedulerHealthIndicator,
  SchedulerHealthModule,
  type SchedulerHealthOptions,
} from 'nestjs-redis-scheduler/terminus';
import { everySecondStatic, resetRecorder, runs } from '../../fixtures/recorder';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';
import { HttpApp, startHttpApp } from './http-app';

/*
 * Issue 11, item 1: SchedulerHealthIndicator through a real HTTP app with TerminusModule. GET
 * /health is 200, turns 503 within 5 s of Redis being paused (SIGSTOP) or stopped, and is 200 again
 * once Redis is back; it is 503 when the fleet falls behind; a `worker: false` pod checks Redis only.
 */

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function healthApp(
  options: Partial<RedisSchedulerModuleOptions>,
  health: SchedulerHealthOptions,
  providers: Parameters<typeof startHttpApp>[1]['providers'] = [],
): Promise<HttpApp> {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly checks: HealthCheckService,
      private readonly scheduler: SchedulerHealthIndicator,
    ) {}

    @Get()
    @HealthCheck()
    check() {
      return this.checks.check([() => this.scheduler.isHealthy('scheduler', health)]);
    }
  }
  const app = await startHttpApp(
    { redis: server.url, keyPrefix: `t-${randomUUID().slice(0, 8)}`, ...options },
    { imports: [SchedulerHealthModule], controllers: [HealthController], providers },
  );
  apps.push(app);
  return app;
}

interface HealthBody {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
}
const parse = (body: string): HealthBody => JSON.parse(body) as HealthBody;

/** Polls GET /health until it answers `status`; returns the body and how long it took. */
async function healthIs(app: HttpApp, status: number, timeoutMs: number) {
  const since = Date.now();
  const res = await waitFor(
    async () => {
      const r = await app.get('/health');
      return r.status === status ? r : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `GET /health to answer ${status}` },
  );
  return { body: parse(res.body), afterMs: Date.now() - since };
}

const bounds: SchedulerHealthOptions = { redisTimeoutMs: 1_000, maxTickAgeMs: 10_000 };

describe('SchedulerHealthIndicator over HTTP (Terminus)', () => {
  it('is 200 with its figures, 503 within 5 s of Redis paused (SIGSTOP), 200 once resumed', async () => {
    const app = await healthApp({}, bounds, [everySecondStatic('a')]);
    const up = await healthIs(app, 200, 20_000);
    expect(up.body.status).toBe('ok');
    expect(up.body.info?.scheduler).toMatchObject({
      status: 'up',
      worker: true,
      redis: 'up',
      runsInFlight: expect.any(Number),
      reservedRuns: expect.any(Number),
      backlogMs: expect.any(Number),
    });
    expect(typeof up.body.info?.scheduler.lastTickAt).toBe('string');
    await waitFor(() => runs.length > 0, { message: 'a run' });

    server.pause();
    try {
      const down = await healthIs(app, 503, 5_000);
      expect(down.body.error?.scheduler).toMatchObject({
        status: 'down',
        redis: 'down',
        message: 'Redis did not answer within 1000 ms',
      });
    } finally {
      server.resume();
    }
    const back = await healthIs(app, 200, 20_000);
    expect(back.body.info?.scheduler.redis).toBe('up');
  });

  it('is 503 within 5 s of Redis stopped, and 200 again once it is back', async () => {
    const app = await healthApp({}, bounds, [everySecondStatic('b')]);
    await healthIs(app, 200, 20_000);
    // The fault: Redis is down for 8 s (a fault duration, not a wait for anything).
    const restarting = server.restart({ downMs: 8_000 });
    try {
      const down = await healthIs(app, 503, 5_000);
      expect(down.body.error?.scheduler).toMatchObject({ status: 'down', redis: 'down' });
    } finally {
      await restarting;
    }
    const back = await healthIs(app, 200, 30_000);
    expect(back.body.info?.scheduler.redis).toBe('up');
  });

  it('is 503 when the oldest due run is later than the bound; a worker: false pod stays 200', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    @Injectable()
    class Blocking {
      @ScheduleHandler('block')
      async block(_: unknown, ctx: ScheduleContext): Promise<void> {
        runs.push({
          app: 'w',
          ...ctx,
          fireTime: ctx.fireTime.getTime(),
          startedAt: Date.now(),
          ctx,
        });
        await Promise.race([
          gate,
          new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
        ]);
      }
    }
    const keyPrefix = `t-${randomUUID().slice(0, 8)}`;
    const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
    const behind = { ...bounds, maxBacklogMs: 1_500 };
    const worker = await healthApp(
      { keyPrefix, concurrency: 1, tenantGuards: open, shutdownTimeoutMs: 1_000 },
      behind,
      [Blocking],
    );
    const manager = await healthApp({ keyPrefix, worker: false, tenantGuards: open }, behind, [
      Blocking,
    ]);
    await healthIs(worker, 200, 20_000);
    const scheduler = worker.app.get(SchedulerService);
    for (const id of ['s1', 's2', 's3']) {
      await scheduler.upsert({ tenantId: 'acme', id, cron: '* * * * * *', handler: 'block' });
    }
    try {
      const down = await healthIs(worker, 503, 20_000);
      expect(down.body.error?.scheduler.message).toMatch(
        /^the oldest due run \(handler "block"\) is \d+ ms late \(bound 1500 ms\): the fleet is falling behind$/,
      );
      expect(down.body.error?.scheduler.backlogMs).toBeGreaterThan(1_500);
      // The same backlog, seen from a pod that runs nothing: it checks Redis only.
      const managerHealth = await manager.get('/health');
      expect(managerHealth.status).toBe(200);
      expect(parse(managerHealth.body).info?.scheduler).toEqual({
        status: 'up',
        worker: false,
        redis: 'up',
        redisLatencyMs: expect.any(Number),
      });
    } finally {
      release();
      for (const id of ['s1', 's2', 's3']) await scheduler.remove('acme', id);
    }
  });
});
