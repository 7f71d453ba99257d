import { Injectable, Logger } from '@nestjs/common';
import { DistributedCron, ScheduleContext } from '../../lib';
import { createApp, freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import {
  behaviour,
  everySecondStatic,
  recordingHandlers,
  resetRecorder,
  runs,
} from '../fixtures/recorder';
import { redisNow } from '../support/redis-time';
import { sleep, waitFor } from '../support/wait-for';

let server: RedisServerHandle;
beforeAll(async () => (server = await startRedisServer({ appendonly: true })));
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
const everySecond = { tenantId: 'acme', id: 'job', cron: '* * * * * *', handler: 'record' };

describe('graceful shutdown', () => {
  it('lets an in-flight run finish and records it', async () => {
    const prefix = freshPrefix();
    const app = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open }, [
      recordingHandlers('a'),
    ]);
    behaviour.delayMs = 800;
    await app.scheduler.upsert(everySecond);
    await waitFor(() => runs.length === 1);
    await app.close();
    const check = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: open },
      [recordingHandlers('check')],
    );
    try {
      const stored = await check.scheduler.get('acme', 'job');
      expect(stored).toMatchObject({ lastStatus: 'succeeded', running: false });
      expect(stored!.lastFireAt!.getTime()).toBe(runs[0].fireTime);
    } finally {
      await check.close();
    }
  });

  it('after shutdownTimeoutMs aborts the run’s signal and gives its lease back for another pod', async () => {
    const prefix = freshPrefix();
    const options = {
      redis: server.url,
      keyPrefix: prefix,
      tenantGuards: open,
      leaseMs: 60_000,
      shutdownTimeoutMs: 300,
    };
    const leaving = await createApp(options, [recordingHandlers('leaving')]);
    behaviour.waitForAbort = true;
    await leaving.scheduler.upsert(everySecond);
    await waitFor(() => runs.length === 1);
    const staying = await createApp(options, [recordingHandlers('staying')]);
    try {
      await leaving.close();
      expect(runs[0].ctx.signal.aborted).toBe(true);
      behaviour.waitForAbort = false;
      // Re-run long before the 60 s lease would have expired.
      await waitFor(
        () => runs.some((r) => r.app === 'staying' && r.fireTime === runs[0].fireTime),
        {
          timeoutMs: 5_000,
          message: 'the given-back run was not re-run',
        },
      );
      const rerun = runs.find((r) => r.app === 'staying' && r.fireTime === runs[0].fireTime)!;
      expect(rerun.attempt).toBe(2);
      expect(rerun.fencingToken).toBeGreaterThan(runs[0].fencingToken);
    } finally {
      await staying.close();
    }
  });
});

describe('rolling deploys', () => {
  @Injectable()
  class NewOnlyStatic {
    @DistributedCron('* * * * * *', { name: 'new-only' })
    async tick(ctx: ScheduleContext) {
      runs.push({
        app: 'new',
        scheduleId: ctx.scheduleId,
        fireTime: ctx.fireTime.getTime(),
        attempt: ctx.attempt,
        fencingToken: ctx.fencingToken,
        startedAt: Date.now(),
        ctx,
      });
    }
  }

  it('never runs a schedule on a pod that lacks its handler', async () => {
    const prefix = freshPrefix();
    const oldPod = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open }, [
      recordingHandlers('old'),
    ]);
    const newPod = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open }, [
      NewOnlyStatic,
    ]);
    try {
      await newPod.scheduler.upsert(everySecond).catch(() => undefined); // the new pod has no 'record' handler
      await oldPod.scheduler.upsert(everySecond);
      await waitFor(
        () =>
          runs.filter((r) => r.scheduleId === 'job').length >= 2 &&
          runs.some((r) => r.scheduleId === 'new-only'),
      );
      // A window for a wrong start: one more fire time of each schedule.
      const jobRuns = runs.filter((r) => r.scheduleId === 'job').length;
      const newOnlyRuns = runs.filter((r) => r.scheduleId === 'new-only').length;
      await waitFor(
        () =>
          runs.filter((r) => r.scheduleId === 'job').length > jobRuns &&
          runs.filter((r) => r.scheduleId === 'new-only').length > newOnlyRuns,
        { timeoutMs: 5_000, message: 'one more fire time of each schedule' },
      );
      expect(runs.filter((r) => r.scheduleId === 'job').every((r) => r.app === 'old')).toBe(true);
      expect(runs.filter((r) => r.scheduleId === 'new-only').every((r) => r.app === 'new')).toBe(
        true,
      );
    } finally {
      await Promise.all([oldPod.close(), newPod.close()]);
    }
  });

  it('stops firing a static once no running pod declares it', async () => {
    const prefix = freshPrefix();
    const withStatic = await createApp({ redis: server.url, keyPrefix: prefix }, [
      everySecondStatic('v1', 'retired'),
    ]);
    const without = await createApp({ redis: server.url, keyPrefix: prefix }, [NewOnlyStatic]);
    try {
      await waitFor(() => runs.some((r) => r.scheduleId === 'retired'));
      await withStatic.close();
      const closedAt = await redisNow(server.client());
      const count = runs.filter((r) => r.scheduleId === 'retired').length;
      // A window for a wrong start: until the other pod has run a fire time 2 s after the close.
      await waitFor(
        () => runs.some((r) => r.scheduleId === 'new-only' && r.fireTime >= closedAt + 2_000),
        { timeoutMs: 5_000, message: 'the other static to fire 2 s after the close' },
      );
      expect(runs.filter((r) => r.scheduleId === 'retired').length).toBe(count);
      expect(runs.filter((r) => r.scheduleId === 'new-only').length).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([withStatic.close(), without.close()]);
    }
  });
});

describe('handler failures', () => {
  it('records a failed run with its error and keeps firing', async () => {
    const prefix = freshPrefix();
    const app = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open }, [
      recordingHandlers('a'),
    ]);
    try {
      behaviour.fail = true;
      await app.scheduler.upsert(everySecond);
      const failed = await waitFor(async () => {
        const s = await app.scheduler.get('acme', 'job');
        return s?.lastStatus === 'failed' ? s : null;
      });
      expect(failed.lastError).toBe('handler failed on purpose (attempt 1)');
      await waitFor(() => runs.length >= 2);
      behaviour.fail = false;
      await waitFor(
        async () => (await app.scheduler.get('acme', 'job'))?.lastStatus === 'succeeded',
      );
    } finally {
      await app.close();
    }
  });
});

describe('Redis outages', () => {
  it('survives a paused Redis: no crash, runs resume, no duplicates', async () => {
    const prefix = freshPrefix();
    const apps = await Promise.all(
      [0, 1].map((i) =>
        createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open, leaseMs: 10_000 }, [
          recordingHandlers(`p${i}`),
        ]),
      ),
    );
    try {
      await apps[0].scheduler.upsert(everySecond);
      await waitFor(() => runs.length >= 2);
      server.pause();
      await sleep(3_000); // the fault: Redis answers nothing for 3 s
      server.resume();
      const resumedAt = Date.now();
      await waitFor(() => runs.some((r) => r.startedAt > resumedAt + 1_000), {
        timeoutMs: 15_000,
        message: 'no runs after resume',
      });
      const fires = runs.map((r) => r.fireTime);
      expect(new Set(fires).size).toBe(fires.length);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('survives a Redis restart with AOF: schedules intact, runs continue, no duplicates', async () => {
    const prefix = freshPrefix();
    const app = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open }, [
      recordingHandlers('a'),
    ]);
    try {
      await app.scheduler.upsert(everySecond);
      await waitFor(() => runs.length >= 2);
      await server.restart();
      const restartedAt = Date.now();
      await waitFor(() => runs.some((r) => r.startedAt > restartedAt + 1_000), {
        timeoutMs: 15_000,
        message: 'no runs after restart',
      });
      expect(await app.scheduler.get('acme', 'job')).toMatchObject({
        enabled: true,
        cron: '* * * * * *',
      });
      const fires = runs.map((r) => r.fireTime);
      expect(new Set(fires).size).toBe(fires.length);
    } finally {
      await app.close();
    }
  });
});

describe('Redis settings', () => {
  it('warns at boot when maxmemory-policy could evict schedules', async () => {
    const admin = server.client();
    const warnings: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const app = await createApp({ redis: server.url, keyPrefix: freshPrefix() }, [
        everySecondStatic('a'),
      ]);
      await app.close();
      expect(warnings.some((w) => /maxmemory-policy is "allkeys-lru"/.test(w))).toBe(true);
      warnings.length = 0;
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      const quiet = await createApp({ redis: server.url, keyPrefix: freshPrefix() }, [
        everySecondStatic('b'),
      ]);
      await quiet.close();
      expect(warnings.some((w) => /maxmemory-policy/.test(w))).toBe(false);
    } finally {
      spy.mockRestore();
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});
