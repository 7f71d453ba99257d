import type { Redis } from 'ioredis';
import type { ScheduleInput } from '../../lib';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import {
  behaviour,
  everySecondStatic,
  recordingHandlers,
  resetRecorder,
  runs,
} from '../fixtures/recorder';
import { sleep, waitFor } from '../support/wait-for';

let server: RedisServerHandle;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** A pod with the 'record' handler, and (withStatic) the static 'every-second'. */
async function pod(prefix: string, name: string, withStatic = false) {
  const providers = [recordingHandlers(name), ...(withStatic ? [everySecondStatic(name)] : [])];
  const app = await createApp(
    { redis: server.url, keyPrefix: prefix, tenantGuards: open },
    providers,
  );
  apps.push(app);
  return app;
}

/** Fires on January 1st only: no run of the series comes during a test. */
const yearly = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id: 'report',
  cron: '0 0 1 1 *',
  handler: 'record',
  ...over,
});

const hashOf = (prefix: string, member: string) => `${prefix}:{p0}:s:${member}`;

describe('trigger', () => {
  it('starts one extra run, exactly once across three pods, with ctx.trigger, without moving the series', async () => {
    const prefix = freshPrefix();
    const [a] = await Promise.all(['a', 'b', 'c'].map((n) => pod(prefix, n)));
    const before = await a.scheduler.upsert(yearly({ jitterMs: 60_000 }));
    const stateBefore = await client.hmget(hashOf(prefix, 't:acme:report'), 'nf', 'nd', 'r', 'rv');

    const result = await a.scheduler.trigger('acme', 'report');
    if (!result?.triggered) throw new Error(`not triggered: ${JSON.stringify(result)}`);
    await waitFor(() => runs.length >= 1, { message: 'the triggered run should start' });
    // Negative observation window: no pod may start it a second time.
    await sleep(1_500);

    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run.ctx.trigger).toBe(true);
    expect(run.attempt).toBe(1);
    expect(run.fireTime).toBe(result.fireTime.getTime());
    // Due when triggered: a jittered schedule (60 s) adds no jitter offset to a trigger.
    expect(run.ctx.dueTime.getTime()).toBe(run.fireTime);
    expect(run.ctx.idempotencyKey).toBe(result.idempotencyKey);
    expect(result.idempotencyKey).toMatch(/^t:acme:report@\d+:n\d+$/);
    // The series: same next fire time, same exactly-once mark, same revision.
    await waitFor(
      async () => (await a.scheduler.get('acme', 'report'))?.lastStatus === 'succeeded',
    );
    const after = await a.scheduler.get('acme', 'report');
    expect(after?.nextFireAt).toEqual(before.nextFireAt);
    expect(await client.hmget(hashOf(prefix, 't:acme:report'), 'nf', 'nd', 'r', 'rv')).toEqual(
      stateBefore,
    );
    // The run record is gone, and nothing of it is left in the due index.
    expect(await client.smembers(`${prefix}:{p0}:runs:t:acme:report`)).toEqual([]);
    expect(await client.zrange(`${prefix}:{p0}:due:h:record`, '0', '-1')).toEqual([
      't:acme:report',
    ]);
  });

  it('leaves the fire times of the series running as before, with ctx.trigger false', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a', true);
    await waitFor(() => runs.length >= 2, { message: 'the static fires every second' });
    // Under overlap 'skip' a trigger is refused ('running', nothing written) while a fire time of
    // the series is in progress, which a loaded machine makes likelier: try until one is accepted.
    const result = await waitFor(async () => {
      const reply = await app.scheduler.triggerStatic('every-second');
      if (reply?.triggered === false) expect(reply.reason).toBe('running');
      return reply?.triggered ? reply : undefined;
    });
    expect(result.triggered).toBe(true);
    await waitFor(() => runs.some((r) => r.ctx.trigger));
    await waitFor(
      () =>
        runs.filter((r) => r.startedAt > (result as { fireTime: Date }).fireTime.getTime() + 1_000)
          .length >= 2,
      {
        message: 'the series keeps firing after the trigger',
      },
    );
    const triggered = runs.filter((r) => r.ctx.trigger);
    expect(triggered).toHaveLength(1);
    const series = runs.filter((r) => !r.ctx.trigger).map((r) => r.fireTime);
    // Every fire time of the series once, whole seconds, none skipped around the trigger.
    expect(new Set(series).size).toBe(series.length);
    expect(series.every((f) => f % 1000 === 0)).toBe(true);
    for (let i = 1; i < series.length; i++) expect(series[i] - series[i - 1]).toBe(1_000);
  });

  it('is refused while a run is in progress under overlap skip, and runs each accepted trigger once', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    await app.scheduler.upsert(yearly());
    behaviour.delayMs = 1_500;
    const first = await app.scheduler.trigger('acme', 'report');
    expect(first?.triggered).toBe(true);
    // Pending or running, the first trigger is a run in progress: the second is refused.
    expect(await app.scheduler.trigger('acme', 'report')).toEqual({
      triggered: false,
      reason: 'running',
    });
    await waitFor(() => runs.length === 1);
    expect(await app.scheduler.trigger('acme', 'report')).toEqual({
      triggered: false,
      reason: 'running',
    });
    await waitFor(
      async () => (await app.scheduler.get('acme', 'report'))?.lastStatus === 'succeeded',
    );
    behaviour.delayMs = 0;
    const third = await app.scheduler.trigger('acme', 'report');
    expect(third?.triggered).toBe(true);
    await waitFor(() => runs.length === 2);
    expect(runs.map((r) => r.ctx.idempotencyKey)).toEqual([
      (first as { idempotencyKey: string }).idempotencyKey,
      (third as { idempotencyKey: string }).idempotencyKey,
    ]);
  });

  it('is refused while a fire time of the series runs under overlap skip', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    behaviour.delayMs = 3_000;
    await app.scheduler.upsert(yearly({ cron: '* * * * * *' }));
    await waitFor(() => runs.length === 1, { message: 'a run of the series starts' });
    expect(await app.scheduler.trigger('acme', 'report')).toEqual({
      triggered: false,
      reason: 'running',
    });
  });

  it('holds the series back while a triggered run runs under overlap skip, and re-arms it as soon as the trigger ends', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    await app.scheduler.upsert(yearly({ cron: '* * * * * *' }));
    await waitFor(() => runs.length >= 2, { message: 'the series fires every second' });
    behaviour.triggerDelayMs = 3_000;
    // Refused while a (short) run of the series is in progress: try again until accepted.
    await waitFor(async () => (await app.scheduler.trigger('acme', 'report'))?.triggered, {
      message: 'a trigger to be accepted',
    });
    const triggered = await waitFor(() => runs.find((r) => r.ctx.trigger));
    await waitFor(() => triggered.endedAt !== undefined, { message: 'the triggered run ends' });
    const ended = triggered.endedAt!;
    const next = await waitFor(() => runs.find((r) => !r.ctx.trigger && r.startedAt > ended), {
      message: 'the series fires again after the trigger',
    });
    // No run of the series started while the triggered run ran (started before it began and
    // still running at its start excluded: overlap 'skip' refused the trigger then).
    const during = runs.filter(
      (r) => !r.ctx.trigger && r.startedAt >= triggered.startedAt && r.startedAt < ended,
    );
    expect(during).toEqual([]);
    // Re-armed when the trigger ended, not when a lease ran out (leaseMs 30 s by default).
    expect(next.startedAt - ended).toBeLessThan(2_500);
    // The held-back fire time ran late once (misfire runOnce), then the series is on time again.
    await waitFor(() => runs.filter((r) => !r.ctx.trigger && r.startedAt > ended).length >= 3);
    const after = runs.filter((r) => !r.ctx.trigger && r.startedAt > ended).map((r) => r.fireTime);
    expect(new Set(after).size).toBe(after.length);
  });

  it('runs two triggers in a row side by side under overlap allow, each once', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    await app.scheduler.upsert(yearly({ overlap: 'allow' }));
    behaviour.delayMs = 1_000;
    const results = [
      await app.scheduler.trigger('acme', 'report'),
      await app.scheduler.trigger('acme', 'report'),
    ];
    expect(results.map((r) => r?.triggered)).toEqual([true, true]);
    await waitFor(() => runs.length === 2);
    // Negative observation window: neither starts twice.
    await sleep(1_500);
    expect(runs).toHaveLength(2);
    expect(new Set(runs.map((r) => r.ctx.idempotencyKey)).size).toBe(2);
    expect(runs.every((r) => r.ctx.trigger)).toBe(true);
  });

  it('retries a failed triggered run with the same fire time and key, attempt 2, larger fencing token', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    await app.scheduler.upsert(
      yearly({ retry: { attempts: 2, backoff: 'fixed', delayMs: 200, jitter: false } }),
    );
    behaviour.failAttempts = 1;
    const result = await app.scheduler.trigger('acme', 'report');
    expect(result?.triggered).toBe(true);
    await waitFor(() => runs.length === 2, { message: 'the retry should start' });
    const [first, second] = runs;
    expect([first.attempt, second.attempt]).toEqual([1, 2]);
    expect([first.ctx.trigger, second.ctx.trigger]).toEqual([true, true]);
    expect(second.fireTime).toBe(first.fireTime);
    expect(second.ctx.idempotencyKey).toBe(first.ctx.idempotencyKey);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await waitFor(
      async () => (await app.scheduler.get('acme', 'report'))?.lastStatus === 'succeeded',
    );
  });

  it('answers null for an unknown schedule, and refuses a paused or parked one, writing nothing', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a');
    expect(await app.scheduler.trigger('acme', 'nope')).toBeNull();
    expect(await app.scheduler.triggerStatic('nope')).toBeNull();
    await app.scheduler.upsert(yearly());
    await app.scheduler.pause('acme', 'report');
    const keysBefore = (await client.keys(`${prefix}:*`)).sort();
    expect(await app.scheduler.trigger('acme', 'report')).toEqual({
      triggered: false,
      reason: 'paused',
    });
    // Parked, as completeRuns parks a schedule whose fire times cannot be computed.
    await client.hset(hashOf(prefix, 't:acme:report'), 'pk', '1:cannot compute');
    expect(await app.scheduler.trigger('acme', 'report')).toEqual({
      triggered: false,
      reason: 'parked',
    });
    expect((await client.keys(`${prefix}:*`)).sort()).toEqual(keysBefore);
    await expect(app.scheduler.trigger('acme', 'a:b')).rejects.toThrow(/id/);
    // Negative observation window: nothing was triggered.
    await sleep(500);
    expect(runs.filter((r) => r.ctx.trigger)).toEqual([]);
  });
});

describe('pauseStatic / resumeStatic', () => {
  it('pauses a static on every pod, keeps it paused across a restart, and resumes it from now', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, 'a', true);
    await waitFor(() => runs.length >= 1, { message: 'the static fires' });
    const paused = await app.scheduler.pauseStatic('every-second');
    expect(paused).toMatchObject({ name: 'every-second', enabled: false, state: 'paused' });
    const startedBefore = runs.length;
    // Negative observation window (a run already in flight may still finish starting).
    await sleep(2_500);
    expect(runs.length).toBeLessThanOrEqual(startedBefore + 1);
    const settled = runs.length;

    // Every pod restarts: the static is declared again at boot and stays paused.
    await Promise.all(apps.splice(0).map((a) => a.close()));
    const again = await pod(prefix, 'b', true);
    expect(await again.scheduler.getStatic('every-second')).toMatchObject({ enabled: false });
    // Negative observation window after the redeclaration.
    await sleep(2_000);
    expect(runs.length).toBe(settled);

    const resumedAt = Date.now();
    const resumed = await again.scheduler.resumeStatic('every-second');
    expect(resumed).toMatchObject({ enabled: true, state: 'active' });
    expect(resumed!.nextFireAt!.getTime()).toBeGreaterThan(resumedAt - 1_000);
    await waitFor(() => runs.length >= settled + 2, { message: 'the static fires again' });
    expect(runs.slice(settled).every((r) => r.app === 'b' && r.fireTime > resumedAt - 1_000)).toBe(
      true,
    );
    // After a resume, a restart keeps it running.
    await Promise.all(apps.splice(0).map((a) => a.close()));
    const third = await pod(prefix, 'c', true);
    await waitFor(() => runs.some((r) => r.app === 'c'), { message: 'runs after the restart' });
    expect(await third.scheduler.getStatic('every-second')).toMatchObject({ enabled: true });
  });

  it('answers null for a static no pod declared, and refuses a bad name', async () => {
    const app = await pod(freshPrefix(), 'a', true);
    expect(await app.scheduler.pauseStatic('nope')).toBeNull();
    expect(await app.scheduler.resumeStatic('nope')).toBeNull();
    await expect(app.scheduler.pauseStatic('a b')).rejects.toThrow(/name/);
  });
});
