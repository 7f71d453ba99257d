import type { Redis } from 'ioredis';
import { SchedulerEvents } from '../../lib';
import { RedisConnection } from '../../lib/redis/redis-client.provider';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { waitFor } from '../support/wait-for';

/*
 * A schedule whose fire times cannot be computed (cron-parser throws "loop limit exceeded" for
 * `0 2 * * *` in Australia/Lord_Howe after 2026-04-03T15:00Z, the day before its half-hour
 * fall-back) is parked: the other schedules of the same claim batch run, the pod lives on, and
 * the parked schedule shows its state, a dead letter and an event. Each test writes the state a
 * real upsert leaves at such a fire time (a fire time in the past is due at once).
 */

let server: RedisServerHandle;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
/** The fire time after which cron-parser gives up on the poison's next one. */
const POISON_FIRE = Date.parse('2026-04-03T15:00:00Z');
const HEALTHY = 20;

async function boot(keyPrefix: string, worker: boolean): Promise<TestApp> {
  const options = { redis: server.url, keyPrefix, tenantGuards: open, leaseMs: 3_000, worker };
  const app = await createApp(options, [recordingHandlers('a')]);
  apps.push(app);
  return app;
}

async function withPoison(runState: (pastMs: number) => string | undefined): Promise<TestApp> {
  const keyPrefix = freshPrefix();
  // Written while no worker claims: the worker's first claim gets the poison and the healthy
  // schedules in one batch (same handler, same due index), the poison first (its score is oldest).
  const app = await boot(keyPrefix, false);
  await app.scheduler.upsert({
    tenantId: 'acme',
    id: 'poison',
    cron: '0 2 * * *',
    timeZone: 'Australia/Lord_Howe',
    handler: 'record',
  });
  const keys = app.module.get(RedisConnection).keys.dynamicSchedule('acme', 'poison', 'record');
  const pastMs = Number((await client.time())[0]) * 1000 - 5_000;
  await client.hset(keys.hash, 'nf', POISON_FIRE);
  const state = runState(pastMs);
  if (state !== undefined) await client.hset(keys.hash, 'r', state);
  await client.zadd(keys.due, state === undefined ? POISON_FIRE : pastMs, keys.member);
  for (let i = 0; i < HEALTHY; i++) {
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: `healthy-${i}`,
      cron: '* * * * * *',
      handler: 'record',
    });
  }
  return boot(keyPrefix, true);
}

async function expectParkedWhileOthersRun(app: TestApp): Promise<void> {
  const parked: string[] = [];
  app.module.get(SchedulerEvents).on('schedule.parked', (e) => parked.push(e.scheduleId));
  // Every healthy schedule runs twice: nothing in the poison's batch was held up.
  await waitFor(
    () =>
      Array.from({ length: HEALTHY }, (_, i) => `healthy-${i}`).every(
        (id) => runs.filter((r) => r.scheduleId === id).length >= 2,
      ),
    { message: 'every healthy schedule to run twice', timeoutMs: 15_000 },
  );
  const poison = await waitFor(async () => {
    const s = await app.scheduler.get('acme', 'poison');
    return s?.state === 'parked' ? s : null;
  });
  expect(poison.enabled).toBe(false);
  expect(poison.nextFireAt).toBeNull();
  expect(poison.parked?.reason).toMatch(/cannot compute its fire times: .*loop limit exceeded/);
  expect(poison.lastError).toBe(poison.parked?.reason);
  const letters = await app.scheduler.deadLetters('acme');
  expect(letters.filter((d) => d.scheduleId === 'poison')).toHaveLength(1);
  // Out of the due index: never claimed again.
  const { keys } = app.module.get(RedisConnection);
  const due = keys.dynamicSchedule('acme', 'poison', 'record');
  expect(await client.zscore(due.due, due.member)).toBeNull();
  await waitFor(() => parked.length === 1 || parked.length > 1, { message: 'the parked event' });
  expect(parked).toEqual(['poison']);

  // Resume re-arms it from now (where cron-parser can compute it again).
  const resumed = await app.scheduler.resume('acme', 'poison');
  expect(resumed?.state).toBe('active');
  expect(resumed?.parked).toBeNull();
  expect(resumed?.nextFireAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  expect(await client.zscore(due.due, due.member)).not.toBeNull();
}

describe('a schedule whose fire times cannot be computed', () => {
  it('is parked at its claim (misfire path) while the rest of the batch runs', async () => {
    const app = await withPoison(() => undefined);
    await expectParkedWhileOthersRun(app);
    expect(runs.filter((r) => r.scheduleId === 'poison')).toEqual([]);
  });

  it('is parked after its handler ran (record path) without crashing the pod', async () => {
    // A retry waiting for attempt 2: claimed as a re-run, it starts without the misfire policy.
    const app = await withPoison((past) => `${POISON_FIRE}:1:0:${past}:`);
    await expectParkedWhileOthersRun(app);
    const ran = runs.filter((r) => r.scheduleId === 'poison');
    expect(ran.map((r) => [r.fireTime, r.attempt])).toEqual([[POISON_FIRE, 2]]);
    const poison = await app.scheduler.get('acme', 'poison');
    // The handler's own outcome is recorded; the schedule is parked after it.
    expect(poison?.lastStatus).toBe('succeeded');
    expect(poison?.lastFireAt?.getTime()).toBe(POISON_FIRE);
  });

  it('is parked when it has used up its attempts, and the rest of the batch runs', async () => {
    const app = await withPoison((past) => `${POISON_FIRE}:3:0:${past}:`);
    await expectParkedWhileOthersRun(app);
    expect(runs.filter((r) => r.scheduleId === 'poison')).toEqual([]);
  });

  it('is un-parked by an upsert', async () => {
    const app = await withPoison(() => undefined);
    await waitFor(async () => (await app.scheduler.get('acme', 'poison'))?.state === 'parked', {
      message: 'the poison to be parked',
    });
    const upserted = await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'poison',
      cron: '0 2 * * *',
      timeZone: 'Australia/Lord_Howe',
      handler: 'record',
    });
    expect(upserted.state).toBe('active');
    const read = await app.scheduler.get('acme', 'poison');
    expect(read?.state).toBe('active');
    expect(read?.parked).toBeNull();
    expect(read?.nextFireAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});
