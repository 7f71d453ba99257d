import { randomUUID } from 'node:crypto';
import type { Provider } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Pool } from 'pg';
import {
  REDIS_SCHEDULER_CLIENT,
  ScheduleStoreUnavailableError,
  TenantQuotaExceededError,
  type ScheduleInput,
  type ScheduleStore,
} from 'nestjs-redis-scheduler';
import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { ScheduleReconciler } from '../../../lib/reconcile/schedule-reconciler';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { everySecondStatic, recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { sleep, waitFor } from '../../support/wait-for';

let pg: PostgresServerHandle;
let redisServer: RedisServerHandle;
let sql: Pool;
beforeAll(async () => {
  [pg, redisServer] = await Promise.all([startPostgresServer(), startRedisServer()]);
  sql = new Pool({ connectionString: pg.url });
  sql.on('error', () => undefined); // idle clients lose their server when a test stops it
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([pg?.stop(), redisServer?.stop()]);
});

const input = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id: 'weekly',
  cron: '0 9 * * 1',
  handler: 'record',
  ...over,
});

describe('tenant operations, one-offs, intervals and history with a PostgreSQL store', () => {
  let app: TestApp;
  let schema: string;
  let prefix: string;
  const query = async <R extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
    (await sql.query<R>(text.replaceAll('{s}', `"${schema}"`), values)).rows;
  const newStore = () =>
    new PostgresScheduleStore({ connectionString: pg.url, schema, connectionTimeoutMs: 1_000 });
  const boot = (
    maxSchedulesPerTenant = 100,
    providers: Provider[] = [recordingHandlers('a')],
    store: ScheduleStore = newStore(),
  ) =>
    createApp(
      {
        redis: { host: redisServer.host, port: redisServer.port, maxRetriesPerRequest: 1 },
        keyPrefix: prefix,
        tenantGuards: { maxSchedulesPerTenant, minIntervalMs: 0 },
        store,
        reconcileIntervalMs: 60_000,
      },
      providers,
    );
  const flushRedisAndReconcile = async () => {
    await app.module.get<Redis>(REDIS_SCHEDULER_CLIENT).flushall();
    return app.module.get(ScheduleReconciler).reconcile(true);
  };

  beforeEach(() => {
    resetRecorder();
    schema = `s_${randomUUID().slice(0, 8)}`;
    prefix = freshPrefix();
  });
  afterEach(() => app?.close());

  it('commits pauseTenant, resumeTenant and removeTenant to PostgreSQL first; Redis data loss keeps them', async () => {
    app = await boot();
    await app.scheduler.upsertMany([input({ id: 'a' }), input({ id: 'b', enabled: false })]);
    expect(await app.scheduler.pauseTenant('acme')).toBe(2);
    expect(await query('SELECT tenant_id FROM {s}.paused_tenants')).toEqual([
      { tenant_id: 'acme' },
    ]);
    // Redis loses everything: the reconciler writes the schedules back with their tenant paused.
    await flushRedisAndReconcile();
    expect(await app.scheduler.get('acme', 'a')).toMatchObject({
      state: 'paused',
      tenantPaused: true,
    });
    expect(await app.scheduler.resumeTenant('acme')).toBe(1);
    expect(await query('SELECT tenant_id FROM {s}.paused_tenants')).toEqual([]);
    expect(await app.scheduler.get('acme', 'a')).toMatchObject({ state: 'active' });
    expect(await app.scheduler.get('acme', 'b')).toMatchObject({ state: 'paused', enabled: false });

    // PostgreSQL down: a typed error at once, and Redis is not touched.
    await pg.down();
    try {
      await expect(app.scheduler.pauseTenant('acme')).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
      await expect(app.scheduler.removeTenant('acme')).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
    } finally {
      await pg.up();
    }
    expect(await app.scheduler.get('acme', 'a')).toMatchObject({ state: 'active' });

    expect(await app.scheduler.removeTenant('acme')).toBe(2);
    expect(await query('SELECT id, definition FROM {s}.schedules ORDER BY id')).toEqual([
      { id: 'a', definition: null },
      { id: 'b', definition: null },
    ]);
    // Tombstones: a full pass after Redis lost its data does not bring them back.
    expect(await flushRedisAndReconcile()).toMatchObject({ created: 0 });
    expect(await app.scheduler.list('acme')).toEqual([]);
  });

  it('a one-off that ran is finished in PostgreSQL: out of the quota, never written back or run again', async () => {
    app = await boot(1);
    const at = new Date(Date.now() + 1_000);
    await app.scheduler.upsert(input({ id: 'once', cron: undefined, at }));
    expect(await query('SELECT definition FROM {s}.schedules')).toEqual([
      { definition: expect.objectContaining({ at: at.toISOString() }) },
    ]);
    await expect(app.scheduler.upsert(input({ id: 'other' }))).rejects.toBeInstanceOf(
      TenantQuotaExceededError,
    );
    await waitFor(() => runs.find((r) => r.scheduleId === 'once' && r.endedAt), {
      message: 'the one-off ran',
    });
    await waitFor(
      async () => (await query('SELECT finished_at FROM {s}.schedules'))[0].finished_at !== null,
      { message: 'its completion reached PostgreSQL' },
    );
    // Out of the quota (in PostgreSQL as in Redis).
    await app.scheduler.upsert(input({ id: 'other' }));
    await app.scheduler.remove('acme', 'other');
    // Redis loses everything: the reconciler leaves the finished one-off out.
    const report = await flushRedisAndReconcile();
    expect(report).toMatchObject({ created: 0, failed: [] });
    expect(await app.scheduler.get('acme', 'once')).toBeNull();
    // Negative observation window: nothing runs it again.
    await sleep(1_500);
    expect(runs.filter((r) => r.scheduleId === 'once')).toHaveLength(1);
  });

  it('keeps an interval in the stored definition and writes it back after Redis data loss', async () => {
    app = await boot();
    await app.scheduler.upsert(input({ id: 'tick', cron: undefined, every: '1h' }));
    expect(await query('SELECT definition FROM {s}.schedules')).toEqual([
      { definition: expect.objectContaining({ every: '1h' }) },
    ]);
    expect(await query('SELECT definition FROM {s}.schedules')).toEqual([
      { definition: expect.not.objectContaining({ cron: expect.anything() }) },
    ]);
    expect(await flushRedisAndReconcile()).toMatchObject({ created: 1, failed: [] });
    expect(await app.scheduler.get('acme', 'tick')).toMatchObject({ every: '1h', state: 'active' });
    // Identical on the next pass: left alone.
    expect(await app.module.get(ScheduleReconciler).reconcile(true)).toMatchObject({
      created: 0,
      updated: 0,
    });
  });

  it('describe() and history() read the runs from PostgreSQL', async () => {
    app = await boot();
    await app.scheduler.upsert(input({ id: 'sec', cron: '* * * * * *' }));
    await waitFor(
      async () => (await query("SELECT 1 FROM {s}.runs WHERE schedule_id = 'sec'")).length >= 2,
      { message: 'two runs reached PostgreSQL' },
    );
    await app.scheduler.pause('acme', 'sec');
    const stored = await query<{ pod: string; fire_time: Date }>(
      "SELECT pod, fire_time FROM {s}.runs WHERE schedule_id = 'sec' ORDER BY fire_time DESC",
    );
    const history = await app.scheduler.history('acme', 'sec');
    expect(history.map((r) => r.fireTime)).toEqual(stored.map((r) => r.fire_time));
    expect(history[0]).toMatchObject({ podId: stored[0].pod, status: 'succeeded' });
    // Numbered as the Redis ring numbers them: 1 for the first run, newest first.
    expect(history.map((r) => r.sequence)).toEqual(stored.map((_, i) => stored.length - i));
    const described = await app.scheduler.describe('acme', 'sec', { last: 1 });
    expect(described?.lastRuns.map((r) => r.fireTime)).toEqual([stored[0].fire_time]);
    // From PostgreSQL, not from Redis's ring: gone there, gone here.
    await query("DELETE FROM {s}.runs WHERE schedule_id = 'sec'");
    expect(await app.scheduler.history('acme', 'sec')).toEqual([]);
    expect((await app.scheduler.describe('acme', 'sec'))?.lastRuns).toEqual([]);
  });

  it('keeps pauseStatic in PostgreSQL: after Redis data loss the static is written back paused; resumed, it fires', async () => {
    app = await boot(100, [recordingHandlers('a'), everySecondStatic('a', 'nightly')]);
    const fired = () => runs.filter((r) => r.scheduleId === 'nightly').length;
    await waitFor(() => fired() > 0, { message: 'the static fired' });
    expect(await app.scheduler.pauseStatic('nightly')).toMatchObject({ state: 'paused' });
    expect(await query('SELECT name FROM {s}.paused_statics')).toEqual([{ name: 'nightly' }]);
    // A static no pod declares: null, and nothing stored.
    expect(await app.scheduler.pauseStatic('nobody')).toBeNull();
    expect(await query('SELECT name FROM {s}.paused_statics')).toHaveLength(1);

    // Redis loses everything: the repair writes the static back, paused.
    expect(await flushRedisAndReconcile()).toMatchObject({ statics: 1, failed: [] });
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({
      enabled: false,
      state: 'paused',
      nextFireAt: null,
    });
    const before = fired();
    // Negative observation window: a paused every-second static does not fire.
    await sleep(2_500);
    expect(fired()).toBe(before);
    // Identical on the next pass: nothing to repair.
    expect(await app.module.get(ScheduleReconciler).reconcile()).toMatchObject({ statics: 0 });

    // A pod booting on a Redis that lost the static writes it paused too (the boot sync reads it).
    await app.close();
    await redisServer.client().flushall();
    app = await boot(100, [recordingHandlers('a'), everySecondStatic('a', 'nightly')]);
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'paused' });

    // PostgreSQL down: a typed error, and Redis keeps the pause.
    await pg.down();
    try {
      await expect(app.scheduler.resumeStatic('nightly')).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
    } finally {
      await pg.up();
    }
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'paused' });

    expect(await app.scheduler.resumeStatic('nightly')).toMatchObject({ state: 'active' });
    expect(await query('SELECT name FROM {s}.paused_statics')).toEqual([]);
    await waitFor(() => fired() > before, { message: 'the resumed static fired' });
    // Resumed in the store: written back active after another loss.
    await flushRedisAndReconcile();
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'active' });
  });

  it("a pass pauses or resumes a static whose pause in Redis differs from the store's (its Redis write failed after the commit)", async () => {
    app = await boot(100, [recordingHandlers('a'), everySecondStatic('a', 'nightly')]);
    const reconcile = () => app.module.get(ScheduleReconciler).reconcile();
    // Committed, not applied: the store holds it paused, Redis does not.
    await query("INSERT INTO {s}.paused_statics (name) VALUES ('nightly')");
    expect(await reconcile()).toMatchObject({ statics: 1 });
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'paused' });
    // In agreement now: nothing to repair.
    expect(await reconcile()).toMatchObject({ statics: 0 });
    // A resume committed, not applied.
    await query("DELETE FROM {s}.paused_statics WHERE name = 'nightly'");
    expect(await reconcile()).toMatchObject({ statics: 1 });
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'active' });
  });

  it('a store without static pauses still works: pauseStatic is kept in Redis only', async () => {
    const pgStore = newStore();
    // The required methods only (no writeStaticPause, pausedStatics or history).
    const narrow: ScheduleStore = {
      init: pgStore.init.bind(pgStore),
      close: pgStore.close.bind(pgStore),
      write: pgStore.write.bind(pgStore),
      get: pgStore.get.bind(pgStore),
      changedSince: pgStore.changedSince.bind(pgStore),
      page: pgStore.page.bind(pgStore),
      lockTenants: pgStore.lockTenants.bind(pgStore),
      writeTenant: pgStore.writeTenant.bind(pgStore),
      pausedTenants: pgStore.pausedTenants.bind(pgStore),
    };
    app = await boot(100, [recordingHandlers('a'), everySecondStatic('a', 'nightly')], narrow);
    expect(await app.scheduler.pauseStatic('nightly')).toMatchObject({ state: 'paused' });
    expect(await query('SELECT name FROM {s}.paused_statics')).toEqual([]);
    // Lost with Redis's data: written back as declared.
    expect(await flushRedisAndReconcile()).toMatchObject({ statics: 1 });
    expect(await app.scheduler.getStatic('nightly')).toMatchObject({ state: 'active' });
  });

  it('writes an interval back after Redis data loss on its stored anchor: fire times stay anchor + k × every', async () => {
    app = await boot();
    const every = 1_500;
    await app.scheduler.upsert(input({ id: 'grid', cron: undefined, every }));
    const [{ anchor_at: anchor }] = await query<{ anchor_at: Date }>(
      "SELECT anchor_at FROM {s}.schedules WHERE id = 'grid'",
    );
    const fires = () => runs.filter((r) => r.scheduleId === 'grid').map((r) => r.fireTime);
    const onGrid = (ms: number) => (ms - anchor.getTime()) % every === 0;
    await waitFor(() => fires().length >= 2, { message: 'two fire times before the loss' });
    expect(await flushRedisAndReconcile()).toMatchObject({ created: 1, failed: [] });
    const next = (await app.scheduler.get('acme', 'grid'))?.nextFireAt?.getTime() ?? NaN;
    expect(onGrid(next)).toBe(true);
    const n = fires().length;
    await waitFor(() => fires().length >= n + 2, { message: 'two fire times after the loss' });
    expect(fires().filter((ms) => !onGrid(ms))).toEqual([]);
    // Paused, resumed and changed in its payload: the same anchor; a new every: a new one.
    await app.scheduler.pause('acme', 'grid');
    await app.scheduler.resume('acme', 'grid');
    await app.scheduler.upsert(input({ id: 'grid', cron: undefined, every, payload: { n: 2 } }));
    const anchorNow = async () =>
      (await query<{ a: Date }>("SELECT anchor_at AS a FROM {s}.schedules WHERE id = 'grid'"))[0].a;
    expect(await anchorNow()).toEqual(anchor);
    await app.scheduler.upsert(input({ id: 'grid', cron: undefined, every: 2_000 }));
    expect((await anchorNow()).getTime()).toBeGreaterThan(anchor.getTime());
  });
});
