import { Injectable } from '@nestjs/common';
import { ScheduleContext, ScheduleHandler } from '../../lib';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { startTcpProxy, TcpProxyHandle } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

/*
 * A pod cut off from Redis (a proxy that stops forwarding, sockets left open) must abort its
 * run's signal before its lease can run out, so that the run another pod starts once the lease
 * has expired never overlaps it.
 */

interface Hold {
  app: string;
  attempt: number;
  fireTime: number;
  startedAt: number;
  abortedAt?: number;
}
const holds: Hold[] = [];

function holdingHandlers(app: string) {
  @Injectable()
  class Holding {
    @ScheduleHandler('hold')
    async hold(_payload: unknown, ctx: ScheduleContext): Promise<void> {
      const hold: Hold = {
        app,
        attempt: ctx.attempt,
        fireTime: ctx.fireTime.getTime(),
        startedAt: Date.now(),
      };
      holds.push(hold);
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener(
          'abort',
          () => {
            hold.abortedAt = Date.now();
            resolve();
          },
          { once: true },
        ),
      );
    }
  }
  return Holding;
}

let server: RedisServerHandle;
let proxy: TcpProxyHandle;
const apps: TestApp[] = [];
beforeAll(async () => (server = await startRedisServer()));
afterAll(() => server.stop());
beforeEach(async () => {
  holds.length = 0;
  proxy = await startTcpProxy(server.port);
});
afterEach(async () => {
  proxy.heal();
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await proxy.close();
});

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

async function pod(name: string, url: string, keyPrefix: string, leaseMs: number) {
  const options = { redis: url, keyPrefix, leaseMs, tenantGuards: open, shutdownTimeoutMs: 200 };
  const app = await createApp(options, [holdingHandlers(name)]);
  apps.push(app);
  return app;
}

describe.each([4_500, 10_000])('a pod cut off from Redis, leaseMs %i', (leaseMs) => {
  it('aborts its run before another pod re-runs that fire time', async () => {
    const keyPrefix = freshPrefix();
    const cutOff = await pod('cut-off', proxy.url, keyPrefix, leaseMs);
    // Every second, overlap 'skip': while the run holds its lease, nothing else of it starts.
    await cutOff.scheduler.upsert({
      tenantId: 'acme',
      id: 'long',
      cron: '* * * * * *',
      handler: 'hold',
      overlap: 'skip',
    });
    const first = await waitFor(() => holds.find((h) => h.app === 'cut-off'), {
      message: 'the cut-off pod to start the run',
    });
    proxy.cut();
    await pod('healthy', server.url, keyPrefix, leaseMs);
    const rerun = await waitFor(
      () => holds.find((h) => h.app === 'healthy' && h.fireTime === first.fireTime),
      { timeoutMs: leaseMs + 10_000, message: 'the healthy pod to re-run the lost run' },
    );
    expect(rerun.attempt).toBe(2);
    expect(first.abortedAt).toBeDefined();
    // Aborted before the replacement started, by a margin of about one renewal tick.
    expect(rerun.startedAt - (first.abortedAt as number)).toBeGreaterThan(0);
  });
});
