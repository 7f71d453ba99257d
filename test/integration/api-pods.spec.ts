import type { Redis } from 'ioredis';
import { UnknownHandlerError } from '../../lib';
import type { ScheduleInput } from '../../lib';
import { KeySpace } from '../../lib/redis/key-space';
import { LiveHandlers } from '../../lib/scheduler/live-handlers';
import { recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { createApp, freshPrefix, type TestApp } from '../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * API-only pods (issue 10, A4): a worker: false app without the @ScheduleHandler class accepts
 * schedules for a handler that a live worker pod declares (read from the pod registries), and
 * refuses with UnknownHandlerError, writing nothing, when no live pod declares it.
 */

let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterAll(() => server.stop());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
const apps: TestApp[] = [];
let prefix: string;
beforeEach(() => {
  resetRecorder();
  prefix = freshPrefix();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function app(worker: boolean, withHandler: boolean): Promise<TestApp> {
  const created = await createApp(
    { redis: server.url, keyPrefix: prefix, worker, tenantGuards: open },
    withHandler ? [recordingHandlers(worker ? 'worker' : 'api')] : [],
  );
  apps.push(created);
  return created;
}

const input = (id: string): ScheduleInput => ({
  tenantId: 'acme',
  id,
  cron: '* * * * * *',
  handler: 'record',
});

async function snapshot(): Promise<Record<string, string>> {
  const keys = (await redis.keys(`${prefix}:*`)).sort();
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = JSON.stringify(await redis.dump(key));
  return out;
}

/** The worker has joined the registry of 'record' (it does at boot). */
async function workerRegistered(): Promise<void> {
  const registry = new KeySpace(prefix, 1).podRegistry('h:record');
  await waitFor(async () => (await redis.zcard(registry)) > 0, {
    timeoutMs: 5_000,
    message: "the worker in the registry of 'record'",
  });
}

describe('an API app (worker: false) without the handler class', () => {
  it('upserts for a handler a live worker declares, and the worker runs it', async () => {
    await app(true, true);
    const api = await app(false, false);
    await workerRegistered();
    const stored = await api.scheduler.upsert(input('from-api'));
    expect(stored).toMatchObject({ id: 'from-api', handler: 'record', enabled: true });
    expect(await api.scheduler.upsertMany([input('bulk-1'), input('bulk-2')])).toHaveLength(2);
    await waitFor(() => runs.some((r) => r.scheduleId === 'from-api' && r.app === 'worker'), {
      timeoutMs: 5_000,
      message: 'a run of the schedule the API app wrote',
    });
  });

  it('refuses with UnknownHandlerError, writing nothing, when no live pod declares the handler', async () => {
    const api = await app(false, false);
    const before = await snapshot();
    const error = await api.scheduler.upsert(input('orphan')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownHandlerError);
    expect((error as Error).message).toContain("No live pod declares handler 'record'");
    expect((error as Error).message).toContain('start a worker');
    await expect(api.scheduler.upsertMany([input('a'), input('b')])).rejects.toThrow(
      UnknownHandlerError,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('refuses again once the last worker has left', async () => {
    const worker = await app(true, true);
    const api = await app(false, false);
    await workerRegistered();
    // A name first seen now (nothing cached): the registry is empty once the worker left.
    await worker.close();
    await expect(api.scheduler.upsert(input('late'))).rejects.toThrow(UnknownHandlerError);
  });

  it('keeps the local check: an API app with the handler needs no worker', async () => {
    const api = await app(false, true);
    await expect(api.scheduler.upsert(input('local'))).resolves.toMatchObject({ id: 'local' });
  });
});

describe('LiveHandlers', () => {
  it('asks Redis once per batch of names, and trusts a live name for a while', async () => {
    await app(true, true);
    await workerRegistered();
    const client = server.client();
    const pipelines = jest.spyOn(client, 'pipeline');
    const live = new LiveHandlers(client, new KeySpace(prefix, 1));
    expect(await live.which(['record', 'record', 'nope', 'bad name', 42])).toEqual(
      new Set(['record']),
    );
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(await live.which(['record'])).toEqual(new Set(['record']));
    expect(pipelines).toHaveBeenCalledTimes(1);
    // A name not live is asked again (a worker may have started since).
    expect(await live.which(['record', 'nope'])).toEqual(new Set(['record']));
    expect(pipelines).toHaveBeenCalledTimes(2);
  });
});
