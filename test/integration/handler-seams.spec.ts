import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  InvalidOptionsError,
  NonRetryableError,
  PayloadTarget,
  PreparePayload,
  ScheduleContext,
  ScheduleHandler,
  SchedulerEvents,
} from '../../lib';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * The seams a handler module (nestjs-redis-scheduler/http) builds on: a NonRetryableError ends a
 * fire time at once, a handler's return value reaches `run.succeeded`, and a @PreparePayload
 * method checks and transforms a payload at upsert, before anything is written.
 */

let server: RedisServerHandle;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const attempts: { mode: string; attempt: number; fencingToken: number }[] = [];

@Injectable()
class SeamHandlers {
  @ScheduleHandler('seam')
  async run(payload: { mode: string }, ctx: ScheduleContext): Promise<unknown> {
    attempts.push({ mode: payload.mode, attempt: ctx.attempt, fencingToken: ctx.fencingToken });
    if (payload.mode === 'final') throw new NonRetryableError('the target refused it (HTTP 400)');
    if (payload.mode === 'fail') throw new Error('the target is down (HTTP 503)');
    return { status: 200, durationMs: 7 };
  }

  @PreparePayload('seam')
  prepare(payload: unknown, target: PayloadTarget): unknown {
    const mode = (payload as { mode?: unknown } | undefined)?.mode;
    if (typeof mode !== 'string') {
      throw new InvalidOptionsError('payload.mode', 'it must be a string');
    }
    return { mode, preparedFor: `${target.tenantId}/${target.id}/${target.handler}` };
  }
}

async function pod(extra: Record<string, unknown> = {}): Promise<TestApp> {
  const app = await createApp(
    { redis: server.url, keyPrefix: freshPrefix(), tenantGuards: open, ...extra },
    [SeamHandlers],
  );
  apps.push(app);
  return app;
}

const retry = { attempts: 3, backoff: 'fixed' as const, delayMs: 200, jitter: false };

beforeEach(() => (attempts.length = 0));

describe('NonRetryableError', () => {
  it('fails the fire time at once, with a dead letter, though the retry policy has attempts left', async () => {
    const app = await pod();
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'final',
      cron: '* * * * * *',
      handler: 'seam',
      payload: { mode: 'final' },
      retry,
    });
    const [letter] = await waitFor(async () => {
      const l = await app.scheduler.deadLetters('acme');
      return l.length > 0 ? l : null;
    });
    expect(letter).toMatchObject({
      scheduleId: 'final',
      attempts: 1,
      error: 'the target refused it (HTTP 400)',
    });
    await app.scheduler.pause('acme', 'final');
    await waitFor(async () => (await app.scheduler.get('acme', 'final'))?.running === false);
    // Every fire time ran once: no attempt 2 (retries of a retryable error take 200 ms, so a
    // retry would have shown up in the time the pause took; the next test proves they do).
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a.attempt === 1)).toBe(true);
  });

  it('leaves any other error to the retry policy (the control case)', async () => {
    const app = await pod();
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'fail',
      cron: '* * * * * *',
      handler: 'seam',
      payload: { mode: 'fail' },
      retry,
    });
    await waitFor(() => attempts.some((a) => a.attempt === 3), { message: 'a third attempt' });
    await app.scheduler.pause('acme', 'fail');
  });
});

describe('what a handler returns', () => {
  it('reaches run.succeeded as `result`', async () => {
    const app = await pod();
    const results: unknown[] = [];
    app.module.get(SchedulerEvents).on('run.succeeded', (e) => results.push(e.result));
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'ok',
      cron: '* * * * * *',
      handler: 'seam',
      payload: { mode: 'ok' },
    });
    await waitFor(() => results.length > 0);
    expect(results[0]).toEqual({ status: 200, durationMs: 7 });
  });
});

describe('@PreparePayload', () => {
  it('stores what it returns, for upsert and upsertMany, and the handler gets that', async () => {
    const app = await pod();
    const schedule = await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'prepared',
      cron: '* * * * * *',
      handler: 'seam',
      payload: { mode: 'ok' },
    });
    expect(schedule.payload).toEqual({ mode: 'ok', preparedFor: 'acme/prepared/seam' });
    expect((await app.scheduler.get('acme', 'prepared'))?.payload).toEqual(schedule.payload);
    const [many] = await app.scheduler.upsertMany([
      {
        tenantId: 'globex',
        id: 'bulk',
        cron: '0 0 1 1 *',
        handler: 'seam',
        payload: { mode: 'x' },
      },
    ]);
    expect(many.payload).toEqual({ mode: 'x', preparedFor: 'globex/bulk/seam' });
  });

  it('refuses a payload with its typed error and writes nothing', async () => {
    const app = await pod();
    const before = await client.dbsize();
    const bad = { tenantId: 'acme', id: 'bad', cron: '* * * * * *', handler: 'seam', payload: {} };
    await expect(app.scheduler.upsert(bad)).rejects.toThrow(InvalidOptionsError);
    await expect(app.scheduler.upsertMany([bad])).rejects.toThrow(/payload\.mode/);
    expect(await app.scheduler.get('acme', 'bad')).toBeNull();
    expect(await client.dbsize()).toBe(before);
  });

  it('runs in an API pod (worker: false) too', async () => {
    const app = await pod({ worker: false });
    await expect(
      app.scheduler.upsert({ tenantId: 'acme', id: 'api', cron: '0 0 1 1 *', handler: 'seam' }),
    ).rejects.toThrow(InvalidOptionsError);
    expect(await app.scheduler.get('acme', 'api')).toBeNull();
  });
});
