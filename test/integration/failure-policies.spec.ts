import type { Redis } from 'ioredis';
import { RunTimeoutError, ScheduleInput, SchedulerEvents } from '../../lib';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import {
  behaviour,
  everySecondStatic,
  recordingHandlers,
  RecordedRun,
  resetRecorder,
  runs,
} from '../fixtures/recorder';
import { untilRedisTime } from '../support/redis-time';
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
  name: string,
  extra: Record<string, unknown> = {},
): Promise<TestApp> {
  const app = await createApp(
    { redis: server.url, keyPrefix: prefix, tenantGuards: open, ...extra },
    [recordingHandlers(name)],
  );
  apps.push(app);
  return app;
}

const job = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id: 'job',
  cron: '* * * * * *',
  handler: 'record',
  ...over,
});

const ofFire = (fire: number): RecordedRun[] => runs.filter((r) => r.fireTime === fire);

describe('retries', () => {
  it('retries a failed run for the same fire time with attempt + 1 and a larger fencing token', async () => {
    const app = await pod(freshPrefix(), 'a', { runHistory: 10 });
    behaviour.failAttempts = 2;
    await app.scheduler.upsert(
      job({ retry: { attempts: 3, backoff: 'fixed', delayMs: 300, jitter: false } }),
    );
    await waitFor(() => runs.length >= 3, { message: 'three attempts expected' });
    const [first, second, third] = ofFire(runs[0].fireTime);
    expect([first.attempt, second.attempt, third.attempt]).toEqual([1, 2, 3]);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
    expect(second.startedAt - first.startedAt).toBeGreaterThanOrEqual(290);
    // One idempotency key for every attempt of the fire time.
    expect(first.ctx.idempotencyKey).toBe(`t:acme:job@${first.fireTime}`);
    expect([second.ctx.idempotencyKey, third.ctx.idempotencyKey]).toEqual([
      first.ctx.idempotencyKey,
      first.ctx.idempotencyKey,
    ]);
    await waitFor(async () => (await app.scheduler.get('acme', 'job'))?.lastStatus === 'succeeded');
    expect(await app.scheduler.deadLetters('acme')).toEqual([]);
    // The history, recorded by the same script as each outcome, newest first.
    const history = (await app.scheduler.history('acme', 'job')).reverse().slice(0, 3);
    expect(history.map((h) => [h.fireTime.getTime(), h.attempt, h.fencingToken, h.status])).toEqual(
      [
        [first.fireTime, 1, first.fencingToken, 'retry'],
        [first.fireTime, 2, second.fencingToken, 'retry'],
        [first.fireTime, 3, third.fencingToken, 'succeeded'],
      ],
    );
    await app.scheduler.remove('acme', 'job');
    expect(await app.scheduler.history('acme', 'job')).toEqual([]);
  });

  it('gives two tenants’ schedules with the same id and fire time different idempotency keys', async () => {
    const app = await pod(freshPrefix(), 'a');
    await app.scheduler.upsert(job());
    await app.scheduler.upsert(job({ tenantId: 'globex' }));
    const [acme, globex] = await waitFor(() => {
      for (const r of runs) {
        const other = runs.find((o) => o.fireTime === r.fireTime && o.tenantId !== r.tenantId);
        if (other) return r.tenantId === 'acme' ? [r, other] : [other, r];
      }
      return null;
    });
    expect(acme.ctx.idempotencyKey).toBe(`t:acme:job@${acme.fireTime}`);
    expect(globex.ctx.idempotencyKey).toBe(`t:globex:job@${acme.fireTime}`);
  });

  it('is durable: a retry is run by another pod when the first one is gone', async () => {
    const prefix = freshPrefix();
    const first = await pod(prefix, 'first', { shutdownTimeoutMs: 0 });
    behaviour.failAttempts = 1;
    await first.scheduler.upsert(
      job({ retry: { attempts: 2, backoff: 'fixed', delayMs: 1_500, jitter: false } }),
    );
    await waitFor(() => runs.length === 1);
    await first.close();
    await pod(prefix, 'second');
    const retry = await waitFor(() =>
      runs.find((r) => r.app === 'second' && r.fireTime === runs[0].fireTime),
    );
    expect(retry.attempt).toBe(2);
  });

  it('records an exhausted run as failed and keeps it as a dead letter, readable and clearable per tenant', async () => {
    const app = await pod(freshPrefix(), 'a');
    behaviour.fail = true;
    const events = app.module.get(SchedulerEvents);
    const failed: string[] = [];
    events.on('run.failed', (e) => failed.push(`${e.scheduleId}@${e.attempt}`));
    await app.scheduler.upsert(job({ retry: { attempts: 2, backoff: 'fixed', delayMs: 100 } }));
    await app.scheduler.upsert(
      job({ tenantId: 'globex', retry: { attempts: 2, backoff: 'fixed', delayMs: 100 } }),
    );
    const letters = await waitFor(async () => {
      const l = await app.scheduler.deadLetters('acme');
      return l.length > 0 ? l : null;
    });
    expect(letters[0]).toMatchObject({
      tenantId: 'acme',
      scheduleId: 'job',
      handler: 'record',
      attempts: 2,
      error: 'handler failed on purpose (attempt 2)',
    });
    expect(letters[0].fireTime).toBeInstanceOf(Date);
    expect(failed).toContain('job@2');
    expect((await app.scheduler.get('acme', 'job'))?.lastStatus).toBe('failed');
    await waitFor(async () => (await app.scheduler.deadLetters('globex')).length > 0);
    expect((await app.scheduler.deadLetters()).map((l) => l.tenantId).sort()).toEqual(
      expect.arrayContaining(['acme', 'globex']),
    );
  });

  it('clears dead letters of one tenant only, or all', async () => {
    const app = await pod(freshPrefix(), 'a', { worker: true });
    behaviour.fail = true;
    await app.scheduler.upsert(job());
    await app.scheduler.upsert(job({ tenantId: 'globex' }));
    await waitFor(async () => (await app.scheduler.deadLetters()).length >= 2);
    await app.scheduler.pause('acme', 'job');
    await app.scheduler.pause('globex', 'job');
    // A run started before the pause still ends and adds its dead letter: wait until none runs.
    await waitFor(
      async () =>
        (
          await Promise.all([app.scheduler.get('acme', 'job'), app.scheduler.get('globex', 'job')])
        ).every((s) => s?.running === false),
      { timeoutMs: 5_000, message: 'the runs started before the pause to end' },
    );
    const acme = (await app.scheduler.deadLetters('acme')).length;
    const globex = (await app.scheduler.deadLetters('globex')).length;
    expect(await app.scheduler.clearDeadLetters('acme')).toBe(acme);
    expect(await app.scheduler.deadLetters('acme')).toEqual([]);
    expect(await app.scheduler.deadLetters('globex')).toHaveLength(globex);
    expect(await app.scheduler.clearDeadLetters()).toBe(globex);
    expect(await app.scheduler.deadLetters()).toEqual([]);
  });
});

describe('SchedulerEvents', () => {
  it('reports starts, retries, success and skipped fire times of this pod', async () => {
    const app = await pod(freshPrefix(), 'a');
    const events = app.module.get(SchedulerEvents);
    const seen: string[] = [];
    events.on('run.started', (e) => seen.push(`started ${e.attempt}`));
    events.on('run.retrying', (e) => seen.push(`retrying ${e.attempt}`));
    events.on('run.succeeded', (e) => seen.push(`succeeded ${e.attempt}`));
    const skipped: number[] = [];
    events.on('fires.skipped', (e) => skipped.push(e.count));
    behaviour.failAttempts = 1;
    behaviour.delayMs = 1_200; // longer than a period: the next fire time is skipped
    await app.scheduler.upsert(
      job({ retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false } }),
    );
    await waitFor(() => seen.includes('succeeded 2') && skipped.length > 0, { timeoutMs: 15_000 });
    expect(seen.slice(0, 4)).toEqual(['started 1', 'retrying 1', 'started 2', 'succeeded 2']);
    expect(skipped[0]).toBeGreaterThanOrEqual(1);
  });
});

describe('timeouts', () => {
  it('aborts ctx.signal after timeoutMs, counts a failure and retries', async () => {
    const app = await pod(freshPrefix(), 'a');
    behaviour.waitForAbort = true;
    await app.scheduler.upsert(
      job({ timeoutMs: 300, retry: { attempts: 2, backoff: 'fixed', delayMs: 100 } }),
    );
    await waitFor(() => runs.length >= 2, { message: 'the timed-out run was not retried' });
    expect(runs[0].ctx.signal.aborted).toBe(true);
    expect(runs[0].ctx.signal.reason).toBeInstanceOf(RunTimeoutError);
    expect(runs[1]).toMatchObject({ fireTime: runs[0].fireTime, attempt: 2 });
    expect(runs[1].startedAt - runs[0].startedAt).toBeGreaterThanOrEqual(350);
    const letter = await waitFor(async () => (await app.scheduler.deadLetters('acme'))[0]);
    expect(letter.error).toMatch(/timeoutMs of 300 ms/);
  });
});

describe('misfire policies (no worker running across several fire times)', () => {
  async function missThree(
    policy: Partial<ScheduleInput>,
  ): Promise<{ app: TestApp; first: number }> {
    const prefix = freshPrefix();
    const api = await pod(prefix, 'api', { worker: false });
    const schedule = await api.scheduler.upsert(job(policy));
    const first = schedule.nextFireAt!.getTime();
    // first … first+3 s go by unrun.
    await untilRedisTime(client, first + 3_300, 'four fire times to go by unrun');
    const app = await pod(prefix, 'worker');
    return { app, first };
  }

  it('runOnce (default): runs only the latest missed fire time and counts the others', async () => {
    const { app, first } = await missThree({});
    await waitFor(() => runs.length >= 1);
    expect(runs[0].fireTime).toBe(first + 3_000);
    expect(runs.some((r) => r.fireTime < first + 3_000)).toBe(false);
    expect((await app.scheduler.get('acme', 'job'))?.skippedFires).toBe(3);
  });

  it('skip: runs none of them and resumes at the next fire time', async () => {
    const { app, first } = await missThree({ misfire: 'skip' });
    await waitFor(() => runs.length >= 1);
    expect(runs[0].fireTime).toBe(first + 4_000);
    expect((await app.scheduler.get('acme', 'job'))?.skippedFires).toBe(4);
  });

  it('runAll: runs each missed fire time, oldest first', async () => {
    await missThree({ misfire: 'runAll' });
    await waitFor(() => runs.length >= 5);
    const fires = runs.map((r) => r.fireTime);
    expect(fires.slice(0, 4)).toEqual([0, 1, 2, 3].map((i) => fires[0] + i * 1_000));
    expect(new Set(fires).size).toBe(fires.length);
  });

  it('runAll: keeps only the latest maxCatchUp', async () => {
    const { first } = await missThree({ misfire: 'runAll', maxCatchUp: 2 });
    await waitFor(() => runs.length >= 2);
    expect(runs[0].fireTime).toBe(first + 2_000);
    expect(runs[1].fireTime).toBe(first + 3_000);
  });

  it('runOnce with catchUpWindowMs: a missed fire time older than the window is skipped', async () => {
    const prefix = freshPrefix();
    const api = await pod(prefix, 'api', { worker: false });
    const schedule = await api.scheduler.upsert(
      job({ cron: '*/5 * * * * *', catchUpWindowMs: 500 }),
    );
    const first = schedule.nextFireAt!.getTime();
    await untilRedisTime(client, first + 1_500, 'the first fire time to be 1.5 s old');
    await pod(prefix, 'worker');
    await waitFor(() => runs.length >= 1, { timeoutMs: 10_000 });
    expect(runs[0].fireTime).toBe(first + 5_000);
  });
});

describe('misfire under sustained overload', () => {
  it('runOnce keeps running the latest fire times when every claim is late', async () => {
    // 1,000 schedules per second, one run of 100 ms at a time: every claim is more than a period
    // late. Re-arming each late claim (instead of running its latest fire time) would cycle
    // claims and re-arms forever and run almost nothing.
    const app = await pod(freshPrefix(), 'a', { concurrency: 1 });
    behaviour.delayMs = 100;
    await app.scheduler.upsertMany(
      Array.from({ length: 1_000 }, (_, i) => job({ tenantId: `t${i % 50}`, id: `s${i}` })),
    );
    // A window of sustained overload: the checks below look at its last 4 s, once the backlog of
    // a broken re-arm would have grown old.
    await sleep(6_000);
    const recent = runs.filter((r) => r.startedAt > Date.now() - 4_000);
    expect(recent.length).toBeGreaterThanOrEqual(20);
    // Every run is of a recent fire time, not of an ever older backlog.
    for (const r of recent) expect(r.startedAt - r.fireTime).toBeLessThan(2_500);
    const keys = runs.map((r) => `${r.scheduleId}@${r.fireTime}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('overlap policies (runs of 2.5 s on a schedule firing every second)', () => {
  async function slowRuns(
    overlap: 'skip' | 'bufferOne' | 'allow',
    count: number,
  ): Promise<TestApp> {
    const app = await pod(freshPrefix(), 'a');
    behaviour.delayMs = 2_500;
    await app.scheduler.upsert(job({ overlap }));
    await waitFor(() => runs.length >= count, { timeoutMs: 15_000 });
    return app;
  }

  it('skip (default): fire times that come during a run are skipped and counted', async () => {
    const app = await slowRuns('skip', 2);
    expect(runs[1].fireTime - runs[0].fireTime).toBe(3_000);
    expect(runs[1].startedAt - runs[1].fireTime).toBeLessThan(300);
    expect((await app.scheduler.get('acme', 'job'))?.skippedFires).toBeGreaterThanOrEqual(2);
  });

  it('counts skipped fire times of a static schedule too, readable with getStatic', async () => {
    const app = await createApp({ redis: server.url, keyPrefix: freshPrefix() }, [
      everySecondStatic('s', 'slow-static'),
    ]);
    apps.push(app);
    behaviour.delayMs = 2_500;
    await waitFor(() => runs.length >= 2, { timeoutMs: 15_000 });
    const state = await waitFor(async () => {
      const s = await app.scheduler.getStatic('slow-static');
      return s && s.skippedFires >= 2 ? s : null;
    });
    expect(state).toMatchObject({
      name: 'slow-static',
      cron: '* * * * * *',
      enabled: true,
      lastStatus: 'succeeded',
    });
    expect(await app.scheduler.getStatic('nope')).toBeNull();
  });

  it('bufferOne: the latest fire time that came during the run starts as soon as it ends', async () => {
    await slowRuns('bufferOne', 2);
    expect(runs[1].fireTime - runs[0].fireTime).toBe(2_000);
    expect(runs[1].startedAt - runs[0].startedAt).toBeGreaterThanOrEqual(2_450);
    expect(runs[1].startedAt - runs[0].startedAt).toBeLessThan(2_900);
  });

  it('allow: every fire time starts on time while earlier runs go on', async () => {
    const app = await slowRuns('allow', 4);
    const fires = runs.slice(0, 4).map((r) => r.fireTime);
    expect(fires).toEqual([0, 1, 2, 3].map((i) => fires[0] + i * 1_000));
    for (const run of runs.slice(0, 4)) expect(run.startedAt - run.fireTime).toBeLessThan(300);
    // The overlapping runs all complete and are recorded.
    await waitFor(async () => (await app.scheduler.get('acme', 'job'))?.lastStatus === 'succeeded');
    expect((await app.scheduler.get('acme', 'job'))?.skippedFires).toBe(0);
  });
});
