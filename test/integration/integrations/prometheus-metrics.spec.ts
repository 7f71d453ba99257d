import { Controller, type DynamicModule, Get, Header, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ScheduleHandler,
  SchedulerEvents,
  SchedulerMonitor,
  SchedulerService,
  type RedisSchedulerModuleOptions,
  type ScheduleContext,
  type SchedulerEventMap,
} from 'nestjs-redis-scheduler';
import { HttpTargetsModule } from 'nestjs-redis-scheduler/http';
import {
  SchedulerMetricsModule,
  type SchedulerMetricsOptions,
} from 'nestjs-redis-scheduler/prometheus';
import { Registry } from 'prom-client';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';
import { HttpApp, startHttpApp } from './http-app';
import { parseMetrics, type Sample, valueOf } from './prometheus-text';

/*
 * Issue 11, item 2: the scheduler's Prometheus metrics, scraped from a real /metrics endpoint of a
 * real HTTP app after known runs: the counters equal the runs observed (by the handlers and by
 * SchedulerEvents), outcomes succeeded, failed, retrying, rejected and skipped included.
 */

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

const invoked = { ok: 0, bad: 0, slow: 0, hold: 0 };
let holding: ScheduleContext[] = [];

@Injectable()
class Jobs {
  @ScheduleHandler('ok')
  ok(): void {
    invoked.ok++;
  }

  @ScheduleHandler('bad')
  bad(): void {
    invoked.bad++;
    throw new Error('bad on purpose');
  }

  @ScheduleHandler('slow')
  async slow(): Promise<void> {
    invoked.slow++;
    // The handler's own work, longer than the cron's period: later fire times overlap and are skipped.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
  }

  @ScheduleHandler('hold')
  async hold(_: unknown, ctx: ScheduleContext): Promise<void> {
    invoked.hold++;
    holding.push(ctx);
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  }
}

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
beforeEach(() => {
  Object.assign(invoked, { ok: 0, bad: 0, slow: 0, hold: 0 });
  holding = [];
});

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

async function metricsApp(
  metrics: SchedulerMetricsOptions,
  options: Partial<RedisSchedulerModuleOptions> = {},
  imports: DynamicModule[] = [],
) {
  const registry = new Registry();
  @Controller('metrics')
  class MetricsController {
    @Get()
    @Header('Content-Type', registry.contentType)
    scrape(): Promise<string> {
      return registry.metrics();
    }
  }
  const app = await startHttpApp(
    {
      redis: server.url,
      keyPrefix: `t-${randomUUID().slice(0, 8)}`,
      tenantGuards: open,
      ...options,
    },
    {
      imports: [SchedulerMetricsModule.forRoot({ ...metrics, registry }), ...imports],
      controllers: [MetricsController],
      providers: [Jobs],
    },
  );
  apps.push(app);
  const scrape = async (): Promise<Sample[]> => {
    const res = await app.get('/metrics');
    expect(res.status).toBe(200);
    return parseMetrics(res.body);
  };
  return {
    app,
    scrape,
    scheduler: app.app.get(SchedulerService),
    monitor: app.app.get(SchedulerMonitor),
    observed: observe(app.app.get(SchedulerEvents)),
  };
}

/** Every event of the app, as SchedulerEvents tells them. */
function observe(events: SchedulerEvents) {
  const seen: { [E in keyof SchedulerEventMap]?: SchedulerEventMap[E][] } = {};
  events.onAny((event, payload) => {
    ((seen[event] ??= []) as unknown[]).push(payload);
  });
  const list = <E extends keyof SchedulerEventMap>(e: E) =>
    (seen[e] ?? []) as SchedulerEventMap[E][];
  return {
    count: (e: keyof SchedulerEventMap, handler?: string): number =>
      list(e).filter((p) => handler === undefined || ('handler' in p && p.handler === handler))
        .length,
    skipped: (handler: string): number =>
      list('fires.skipped')
        .filter((p) => p.handler === handler)
        .reduce((n, p) => n + p.count, 0),
    ended: (): number =>
      ['run.succeeded', 'run.failed', 'run.retrying', 'run.rejected']
        .map((e) => list(e as keyof SchedulerEventMap).length)
        .reduce((a, b) => a + b, 0),
  };
}

describe('SchedulerMetricsModule, scraped over HTTP', () => {
  it('counts every run by handler and outcome, and times them', async () => {
    const { scrape, scheduler, monitor, observed } = await metricsApp({});
    const every = { cron: '* * * * * *' };
    await scheduler.upsert({ tenantId: 'acme', id: 'ok', handler: 'ok', ...every });
    await scheduler.upsert({
      tenantId: 'acme',
      id: 'bad',
      handler: 'bad',
      retry: { attempts: 2, backoff: 'fixed', delayMs: 200, jitter: false },
      ...every,
    });
    await scheduler.upsert({ tenantId: 'acme', id: 'slow', handler: 'slow', ...every });
    await waitFor(
      () =>
        invoked.ok >= 3 &&
        observed.count('run.failed', 'bad') >= 2 &&
        observed.skipped('slow') >= 1 &&
        observed.count('run.succeeded', 'slow') >= 1,
      { timeoutMs: 30_000, message: 'runs of every outcome' },
    );
    for (const id of ['ok', 'bad', 'slow']) await scheduler.remove('acme', id);
    // Quiet: every started run has its end written, and nothing runs.
    await waitFor(
      () =>
        monitor.snapshot().runsInFlight === 0 && observed.count('run.started') === observed.ended(),
      { timeoutMs: 10_000, message: 'every run ended' },
    );

    const m = await scrape();
    const runs = (handler: string, outcome: string) =>
      valueOf(m, 'scheduler_runs_total', { handler, outcome });
    // A run whose schedule was removed while it ran ends 'rejected'.
    for (const handler of ['ok', 'bad', 'slow']) {
      for (const outcome of ['succeeded', 'failed', 'retrying', 'rejected'] as const) {
        expect(runs(handler, outcome)).toBe(observed.count(`run.${outcome}`, handler));
      }
    }
    const ended = (handler: string): number =>
      ['succeeded', 'failed', 'retrying', 'rejected']
        .map((outcome) => runs(handler, outcome))
        .reduce((a, b) => a + b, 0);
    expect(ended('ok')).toBe(invoked.ok);
    expect(ended('bad')).toBe(invoked.bad);
    expect(ended('slow')).toBe(invoked.slow);
    expect(runs('ok', 'succeeded')).toBeGreaterThanOrEqual(2);
    expect(runs('bad', 'failed')).toBeGreaterThanOrEqual(2);
    expect(runs('bad', 'retrying')).toBeGreaterThanOrEqual(2);
    expect(runs('slow', 'skipped')).toBe(observed.skipped('slow'));
    expect(runs('slow', 'skipped')).toBeGreaterThanOrEqual(1);
    expect(runs('ok', 'failed')).toBe(0);

    for (const [handler, n] of Object.entries({
      ok: invoked.ok,
      bad: invoked.bad,
      slow: invoked.slow,
    })) {
      expect(valueOf(m, 'scheduler_run_lateness_seconds_count', { handler })).toBe(n);
      expect(valueOf(m, 'scheduler_run_duration_seconds_count', { handler })).toBe(n);
    }
    expect(
      valueOf(m, 'scheduler_run_duration_seconds_sum', { handler: 'slow' }),
    ).toBeGreaterThanOrEqual(2.1 * invoked.slow);
    // A run starts within a second of its due time on an idle pod.
    expect(valueOf(m, 'scheduler_run_lateness_seconds_bucket', { handler: 'ok', le: '2.5' })).toBe(
      invoked.ok,
    );
    expect(valueOf(m, 'scheduler_runs_in_flight')).toBe(0);
    expect(m.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'scheduler_reserved_runs',
        'scheduler_due_backlog_seconds',
        'scheduler_lease_lost_total',
      ]),
    );
    expect(valueOf(m, 'scheduler_lease_lost_total')).toBe(0);
    expect(valueOf(m, 'scheduler_due_backlog_seconds')).toBeLessThan(2);
  });

  it('shows runs in flight, counts a lost lease and its rejected run, with bounded tenant labels', async () => {
    const { scrape, scheduler, observed } = await metricsApp(
      { prefix: 'jobs_', tenantLabel: { topN: 1 } },
      { leaseMs: 2_000 },
    );
    await scheduler.upsert({ tenantId: 'acme', id: 'hold', handler: 'hold', cron: '* * * * * *' });
    for (const tenantId of ['t1', 't2', 't3']) {
      await scheduler.upsert({ tenantId, id: 'ok', handler: 'ok', cron: '* * * * * *' });
    }
    await waitFor(() => holding.length === 1 && invoked.ok >= 6, { message: 'a held run' });
    expect(valueOf(await scrape(), 'jobs_runs_in_flight')).toBe(1);

    // Removing the schedule takes the lease from its run: the next renewal is refused.
    await scheduler.remove('acme', 'hold');
    await waitFor(() => observed.count('run.rejected', 'hold') === 1, { message: 'the rejection' });
    for (const tenantId of ['t1', 't2', 't3']) await scheduler.remove(tenantId, 'ok');

    const m = await scrape();
    expect(valueOf(m, 'jobs_lease_lost_total')).toBe(1);
    expect(observed.count('lease.lost')).toBe(1);
    expect(valueOf(m, 'jobs_runs_total', { handler: 'hold', outcome: 'rejected' })).toBe(1);
    expect(valueOf(m, 'jobs_runs_in_flight')).toBe(0);
    // One tenant of t1..t3 has its own label (topN: 1), the others are 'other'; nothing is lost.
    const tenants = new Set(
      m
        .filter((s) => s.name === 'jobs_runs_total' && s.labels.handler === 'ok')
        .map((s) => s.labels.tenant),
    );
    expect(tenants.has('other')).toBe(true);
    expect([...tenants].filter((t) => t !== 'other')).toHaveLength(1);
    expect(valueOf(m, 'jobs_runs_total', { handler: 'ok', outcome: 'succeeded' })).toBe(
      observed.count('run.succeeded', 'ok'),
    );
    expect(valueOf(m, 'scheduler_runs_total')).toBe(0);
  });

  it('counts failed Redis calls of the engine', async () => {
    // Commands fail at once while Redis is down, instead of waiting in ioredis' queue.
    const { scrape, monitor, observed } = await metricsApp(
      {},
      { redis: { host: server.host, port: server.port, maxRetriesPerRequest: 0 }, maxIdleMs: 200 },
    );
    await waitFor(() => monitor.snapshot().lastTickAt !== null, { message: 'a first tick' });
    // The fault: Redis is down for 3 s.
    await server.restart({ downMs: 3_000 });
    const since = Date.now();
    await waitFor(() => (monitor.snapshot().lastTickAt?.getTime() ?? 0) > since, {
      timeoutMs: 20_000,
      message: 'a tick after Redis is back',
    });
    const m = await scrape();
    expect(observed.count('redis.error')).toBeGreaterThan(0);
    expect(valueOf(m, 'scheduler_redis_errors_total')).toBe(observed.count('redis.error'));
    expect(valueOf(m, 'scheduler_redis_errors_total', { operation: 'claim' })).toBeGreaterThan(0);
  });

  it('shows each HTTP target host’s circuit breaker: open while it fails, closed once it recovers', async () => {
    let failing = true;
    const target = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(failing ? 503 : 204).end());
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(target.address() as AddressInfo).port}`;
      const { scrape, scheduler, observed } = await metricsApp({}, {}, [
        HttpTargetsModule.forRoot({
          allow: [`http://${host}/`],
          allowLoopback: true,
          breaker: { failureThreshold: 2, coolDownMs: 1_000 },
        }),
      ]);
      const circuit = async (): Promise<number | undefined> =>
        (await scrape()).find(
          (s) => s.name === 'scheduler_http_target_circuit_state' && s.labels.host === host,
        )?.value;
      expect(await circuit()).toBeUndefined();
      await scheduler.upsert({
        tenantId: 'acme',
        id: 'hook',
        handler: 'http',
        cron: '* * * * * *',
        payload: { url: `http://${host}/hook` },
      });
      await waitFor(async () => (await circuit()) === 2, {
        timeoutMs: 15_000,
        message: 'the gauge to read open (2)',
      });
      failing = false;
      await waitFor(async () => (await circuit()) === 0, {
        timeoutMs: 15_000,
        message: 'the gauge to read closed (0) after the probe succeeded',
      });
      await scheduler.remove('acme', 'hook');
      // It moved through half-open (1): the probe.
      expect(observed.count('target.circuit')).toBe(3);
      // Without the tenant label option, no tenant label.
      const series = (await scrape()).filter(
        (s) => s.name === 'scheduler_http_target_circuit_state',
      );
      expect(series.map((s) => s.labels)).toEqual([{ host }]);
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it('labels the circuit gauge by tenant with tenantLabel: one tenant failing on a shared host is its own series', async () => {
    const target = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/fail' ? 503 : 204).end());
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(target.address() as AddressInfo).port}`;
      const { scrape, scheduler, observed } = await metricsApp({ tenantLabel: true }, {}, [
        HttpTargetsModule.forRoot({
          allow: [`http://${host}/`],
          allowLoopback: true,
          breaker: { failureThreshold: 2, coolDownMs: 60_000 },
        }),
      ]);
      const gauge = async () =>
        (await scrape())
          .filter((s) => s.name === 'scheduler_http_target_circuit_state')
          .map((s) => [s.labels, s.value]);
      for (const [tenantId, path] of [
        ['globex', 'fail'],
        ['acme', 'ok'],
      ]) {
        await scheduler.upsert({
          tenantId,
          id: 'hook',
          handler: 'http',
          cron: '* * * * * *',
          payload: { url: `http://${host}/${path}` },
        });
      }
      await waitFor(async () => JSON.stringify(await gauge()).includes('"tenant":"globex"'), {
        timeoutMs: 15_000,
        message: "globex's series",
      });
      await waitFor(() => observed.count('run.succeeded') >= 3, { message: "acme's calls" });
      expect(await gauge()).toEqual([[{ host, tenant: 'globex' }, 2]]);
      for (const tenantId of ['acme', 'globex']) await scheduler.remove(tenantId, 'hook');
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});
