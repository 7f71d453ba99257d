import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  DistributedInterval,
  IntervalTooShortError,
  InvalidTimingError,
  ScheduleContext,
  ScheduleInput,
  SchedulerError,
  TenantQuotaExceededError,
} from '../../lib';
import { KeySpace } from '../../lib/redis/key-space';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { behaviour, recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
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

async function pod(
  prefix: string,
  extra: Record<string, unknown> = {},
  providers: unknown[] = [recordingHandlers('a')],
): Promise<TestApp> {
  const app = await createApp(
    { redis: server.url, keyPrefix: prefix, tenantGuards: open, ...extra },
    providers as never[],
  );
  apps.push(app);
  return app;
}

const job = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id: 'job',
  handler: 'record',
  ...over,
});

async function redisNow(): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The anchor stored in an interval's timing ('@every:<ms>:<anchor>|UTC|<jitter>'). */
async function anchorOf(hashKey: string): Promise<number> {
  const timing = (await client.hget(hashKey, 't')) ?? '';
  const match = /^@every:(\d+):(\d+)\|/.exec(timing);
  if (!match) throw new Error(`not an interval timing: ${timing}`);
  return Number(match[2]);
}

const firesOf = (id: string): number[] =>
  runs.filter((r) => r.scheduleId === id).map((r) => r.fireTime);

describe('every: intervals', () => {
  it('fires at anchor + k × every (anchored at creation), and an identical upsert or a new jitter keeps the anchor', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix);
    const hashKey = new KeySpace(prefix, 1).dynamicSchedule('acme', 'job').hash;
    const before = await redisNow();
    const created = await app.scheduler.upsert(job({ every: '700ms' }));
    const anchor = await anchorOf(hashKey);
    expect(anchor).toBeGreaterThanOrEqual(before);
    expect(anchor).toBeLessThanOrEqual(created.createdAt.getTime());
    expect(created.every).toBe('700ms');
    expect(created.cron).toBe('');
    expect(created.nextFireAt?.getTime()).toBe(anchor + 700);
    await waitFor(() => firesOf('job').length >= 3, { message: 'three interval runs expected' });

    const again = await app.scheduler.upsert(job({ every: '700ms' }));
    expect(await anchorOf(hashKey)).toBe(anchor);
    expect(again.updatedAt.getTime()).toBeGreaterThanOrEqual(created.createdAt.getTime());
    await app.scheduler.upsert(job({ every: 700, jitterMs: 300 }));
    expect(await anchorOf(hashKey)).toBe(anchor);
    const shown = await app.scheduler.get('acme', 'job');
    expect(shown?.every).toBe(700);
    expect(shown?.state).toBe('active');
    const count = firesOf('job').length;
    await waitFor(() => firesOf('job').length >= count + 3);
    const fires = firesOf('job');
    for (const fire of fires) expect((fire - anchor) % 700).toBe(0);
    expect(new Set(fires).size).toBe(fires.length);

    // Another period is another series: anchored anew.
    await app.scheduler.upsert(job({ every: '2s' }));
    expect(await anchorOf(hashKey)).toBeGreaterThan(anchor);
  });

  it('applies tenantGuards.minIntervalMs to `every`, and refuses bad timings with nothing written', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix, {
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 60_000, maxPayloadBytes: 0 },
    });
    const bad: [Partial<ScheduleInput>, new (...args: never[]) => SchedulerError, RegExp][] = [
      [{ cron: '0 * * * *', every: '5m' }, InvalidTimingError, /cron and every are set together/],
      [{ every: '5m', at: new Date() }, InvalidTimingError, /every and at/],
      [{}, InvalidTimingError, /none is set/],
      [{ every: '5 minutes' }, InvalidTimingError, /cannot be read/],
      [{ every: 0 }, InvalidTimingError, /whole number of milliseconds/],
      [{ every: '59s' }, IntervalTooShortError, /59000 ms.*at least 60000 ms/],
      [{ at: 'tomorrow' }, InvalidTimingError, /not a valid date/],
      [{ at: new Date(Number.NaN) }, InvalidTimingError, /an invalid Date/],
      [{ at: '2030-13-45T00:00:00Z' }, InvalidTimingError, /not a valid date/],
    ];
    for (const [over, type, message] of bad) {
      const attempt = app.scheduler.upsert(job(over));
      await expect(attempt).rejects.toBeInstanceOf(type);
      await expect(app.scheduler.upsert(job(over))).rejects.toThrow(message);
    }
    expect(await client.keys(`${new KeySpace(prefix, 1).partitionBases[0]}*`)).toEqual([]);
    await expect(app.scheduler.upsert(job({ every: '1m' }))).resolves.toMatchObject({
      every: '1m',
    });
  });
});

describe('at: one-off tasks', () => {
  it('runs once at `at`, counts toward the quota until done, then is kept keepFinishedMs as finished and deleted', async () => {
    const prefix = freshPrefix();
    const guards = { maxSchedulesPerTenant: 2, minIntervalMs: 0, maxPayloadBytes: 0 };
    const app = await pod(prefix, { tenantGuards: guards, keepFinishedMs: 2_500, runHistory: 5 });
    const keys = new KeySpace(prefix, 1);
    const at = new Date((await redisNow()) + 1_500);
    const created = await app.scheduler.upsert(job({ id: 'once', at: at.toISOString() }));
    expect(created.at).toBe(at.toISOString());
    expect(created.nextFireAt?.getTime()).toBe(at.getTime());
    await app.scheduler.upsert(job({ id: 'other', cron: '0 0 1 1 *' }));
    // Pending: the one-off fills the second place of the quota.
    await expect(app.scheduler.upsert(job({ id: 'third', cron: '0 0 1 1 *' }))).rejects.toThrow(
      TenantQuotaExceededError,
    );

    const done = await waitFor(async () => {
      const s = await app.scheduler.get('acme', 'once');
      return s?.state === 'finished' ? s : null;
    });
    expect(firesOf('once')).toEqual([at.getTime()]);
    expect(done).toMatchObject({ lastStatus: 'succeeded', nextFireAt: null, enabled: true });
    expect(done.at).toBe(at.toISOString());
    expect(done.lastFireAt?.getTime()).toBe(at.getTime());
    // Done: it no longer counts, and list() shows the schedules that can still run.
    await app.scheduler.upsert(job({ id: 'third', cron: '0 0 1 1 *' }));
    expect((await app.scheduler.list('acme')).map((s) => s.id).sort()).toEqual(['other', 'third']);
    const hashKey = keys.dynamicSchedule('acme', 'once').hash;
    const historyKey = keys.history(keys.dynamicSchedule('acme', 'once'));
    expect(await client.pttl(hashKey)).toBeGreaterThan(0);
    expect(await client.pttl(historyKey)).toBeGreaterThan(0);

    await waitFor(async () => (await app.scheduler.get('acme', 'once')) === null, {
      message: 'the finished one-off should be deleted after keepFinishedMs',
    });
    expect(await client.exists(hashKey, historyKey)).toBe(0);
    const once = keys.dynamicSchedule('acme', 'once', 'record');
    expect(await client.smembers(once.tenantSet)).not.toContain('once');
    expect(await client.zscore(once.due, once.member)).toBeNull();
    expect(firesOf('once')).toHaveLength(1);
  });

  it('runs an `at` in the past as soon as possible, once, with that fire time (given as a Date)', async () => {
    const app = await pod(freshPrefix());
    const at = new Date((await redisNow()) - 60_000);
    const created = await app.scheduler.upsert(job({ id: 'late', at, misfire: 'skip' }));
    expect(created.at).toEqual(at);
    const run = await waitFor(() => runs.find((r) => r.scheduleId === 'late'));
    expect(run.fireTime).toBe(at.getTime());
    expect(run.attempt).toBe(1);
    await waitFor(async () => (await app.scheduler.get('acme', 'late'))?.state === 'finished');
  });

  it('retries a failed one-off per its retry policy, then finishes it as failed with a dead letter', async () => {
    const prefix = freshPrefix();
    const guards = { maxSchedulesPerTenant: 1, minIntervalMs: 0, maxPayloadBytes: 0 };
    const app = await pod(prefix, { tenantGuards: guards });
    behaviour.fail = true;
    const at = new Date((await redisNow()) + 500);
    await app.scheduler.upsert(
      job({
        id: 'flaky',
        at,
        retry: { attempts: 3, backoff: 'fixed', delayMs: 300, jitter: false },
      }),
    );
    const done = await waitFor(async () => {
      const s = await app.scheduler.get('acme', 'flaky');
      return s?.state === 'finished' ? s : null;
    });
    expect(
      runs.filter((r) => r.scheduleId === 'flaky').map((r) => [r.fireTime, r.attempt]),
    ).toEqual([
      [at.getTime(), 1],
      [at.getTime(), 2],
      [at.getTime(), 3],
    ]);
    expect(done.lastStatus).toBe('failed');
    expect(done.lastError).toMatch(/attempt 3/);
    expect((await app.scheduler.deadLetters('acme')).map((d) => d.scheduleId)).toEqual(['flaky']);
    // Failed for good is done too: the quota of 1 has room again.
    await app.scheduler.upsert(job({ id: 'next', cron: '0 0 1 1 *' }));
  });

  it('creates a finished one-off anew when the same id is upserted again, and runs it at its new time', async () => {
    const app = await pod(freshPrefix());
    await app.scheduler.upsert(job({ id: 'again', at: new Date((await redisNow()) + 300) }));
    await waitFor(async () => (await app.scheduler.get('acme', 'again'))?.state === 'finished');
    const second = new Date((await redisNow()) + 300);
    const recreated = await app.scheduler.upsert(job({ id: 'again', at: second }));
    expect(recreated.state).toBe('active');
    expect(recreated.lastStatus).toBeNull();
    await waitFor(() => firesOf('again').length === 2);
    expect(firesOf('again')[1]).toBe(second.getTime());
    await waitFor(async () => (await app.scheduler.get('acme', 'again'))?.state === 'finished');
  });

  it('never runs a one-off twice when its overlap policy is allow (nothing to detach to)', async () => {
    const app = await pod(freshPrefix());
    await app.scheduler.upsert(
      job({ id: 'allow', at: new Date((await redisNow()) + 300), overlap: 'allow' }),
    );
    await waitFor(async () => (await app.scheduler.get('acme', 'allow'))?.state === 'finished');
    // A negative observation window: a second run would start within it.
    await sleep(1_000);
    expect(firesOf('allow')).toHaveLength(1);
  });
});

describe('pause and resume', () => {
  it('resumes an interval at the next lattice point after now, and a paused one-off whose time passed at once', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix);
    const hashKey = new KeySpace(prefix, 1).dynamicSchedule('acme', 'tick').hash;
    await app.scheduler.upsert(job({ id: 'tick', every: 600 }));
    const anchor = await anchorOf(hashKey);
    await app.scheduler.pause('acme', 'tick');
    const at = new Date((await redisNow()) + 300);
    await app.scheduler.upsert(job({ id: 'later', at, enabled: false }));
    // A negative observation window: the one-off's time passes while it is paused.
    await sleep(800);
    expect(firesOf('later')).toEqual([]);
    const resumedAt = await redisNow();
    const resumed = await app.scheduler.resume('acme', 'tick');
    const next = resumed?.nextFireAt?.getTime() ?? 0;
    expect((next - anchor) % 600).toBe(0);
    expect(next).toBeGreaterThan(resumedAt);
    expect(next - resumedAt).toBeLessThanOrEqual(600 + 1_000); // generous: a loaded machine
    await app.scheduler.resume('acme', 'later');
    const run = await waitFor(() => runs.find((r) => r.scheduleId === 'later'));
    expect(run.fireTime).toBe(at.getTime());
    await waitFor(() => firesOf('tick').length >= 2);
    for (const fire of firesOf('tick')) expect((fire - anchor) % 600).toBe(0);
  });
  it('runs a one-off whose time passed while its tenant was paused at once after resumeTenant', async () => {
    const prefix = freshPrefix();
    const app = await pod(prefix);
    const at = new Date((await redisNow()) + 300);
    await app.scheduler.upsert(job({ id: 'later', at }));
    await app.scheduler.pauseTenant('acme');
    // A negative observation window: the one-off's time passes while its tenant is paused.
    await sleep(800);
    expect(firesOf('later')).toEqual([]);
    expect(await app.scheduler.resumeTenant('acme')).toBe(1);
    const run = await waitFor(() => runs.find((r) => r.scheduleId === 'later'));
    expect(run.fireTime).toBe(at.getTime());
  });
});

describe('@DistributedInterval', () => {
  const fires: { fireTime: number; app: string }[] = [];

  function intervalStatic(app: string) {
    @Injectable()
    class Ticker {
      @DistributedInterval('700ms', { name: 'ticker' })
      async tick(ctx: ScheduleContext): Promise<void> {
        fires.push({ fireTime: ctx.fireTime.getTime(), app });
      }
    }
    return Ticker;
  }

  it('runs a static every `every` from its anchor, once per fire time across pods, and keeps the anchor across boots', async () => {
    const prefix = freshPrefix();
    const hashKey = new KeySpace(prefix, 1).staticSchedule('ticker').hash;
    const a = await pod(prefix, {}, [intervalStatic('a')]);
    const anchor = await waitFor(async () =>
      (await client.hget(hashKey, 't')) ? anchorOf(hashKey) : null,
    );
    expect(await a.scheduler.getStatic('ticker')).toMatchObject({ every: '700ms', cron: '' });
    const b = await pod(prefix, {}, [intervalStatic('b')]);
    expect(await anchorOf(hashKey)).toBe(anchor);
    await waitFor(() => fires.length >= 6, { message: 'six ticks expected' });
    await a.close();
    await b.close();
    await pod(prefix, {}, [intervalStatic('c')]);
    expect(await anchorOf(hashKey)).toBe(anchor);
    await waitFor(() => fires.some((f) => f.app === 'c'));
    const times = fires.map((f) => f.fireTime);
    expect(new Set(times).size).toBe(times.length);
    for (const t of times) expect((t - anchor) % 700).toBe(0);
  });
});
