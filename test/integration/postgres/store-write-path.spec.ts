import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Pool } from 'pg';
import { Test } from '@nestjs/testing';
import {
  BulkUpsertError,
  REDIS_SCHEDULER_CLIENT,
  RedisSchedulerModule,
  SchedulerService,
  ScheduleNotAppliedError,
  ScheduleStoreUnavailableError,
  SchedulerEvents,
  TenantQuotaExceededError,
  type ScheduleInput,
} from 'nestjs-redis-scheduler';
import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { ScheduleReconciler } from '../../../lib/reconcile/schedule-reconciler';
import type { ReconcileReport } from '../../../lib/events/scheduler-events';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { recordingHandlers, resetRecorder } from '../../fixtures/recorder';
import { waitFor } from '../../support/wait-for';

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
  payload: { reportId: 'r1' },
  ...over,
});

interface Row {
  id: string;
  version: string;
  definition: Record<string, unknown> | null;
}

describe('schedule writes with a PostgreSQL store', () => {
  let app: TestApp;
  let schema: string;
  let prefix: string;
  const rows = async (tenantId = 'acme'): Promise<Row[]> =>
    (
      await sql.query<Row>(
        `SELECT id, version, definition FROM "${schema}".schedules WHERE tenant_id = $1 ORDER BY id`,
        [tenantId],
      )
    ).rows;
  const boot = (over: { maxSchedulesPerTenant?: number; reconcileIntervalMs?: number } = {}) =>
    createApp(
      {
        redis: {
          host: redisServer.host,
          port: redisServer.port,
          maxRetriesPerRequest: 1,
          commandTimeout: 1_000,
        },
        keyPrefix: prefix,
        tenantGuards: {
          maxSchedulesPerTenant: over.maxSchedulesPerTenant ?? 100,
          minIntervalMs: 0,
        },
        store: new PostgresScheduleStore({
          connectionString: pg.url,
          schema,
          connectionTimeoutMs: 1_000,
        }),
        reconcileIntervalMs: over.reconcileIntervalMs ?? 60_000,
      },
      [recordingHandlers('a')],
    );

  beforeEach(async () => {
    resetRecorder();
    schema = `s_${randomUUID().slice(0, 8)}`;
    prefix = freshPrefix();
  });
  afterEach(() => app?.close());

  it('commits upsert, pause, resume and remove to PostgreSQL with a version, then to Redis', async () => {
    app = await boot();
    await app.scheduler.upsert(input());
    expect(await rows()).toEqual([
      {
        id: 'weekly',
        version: '1',
        definition: {
          cron: '0 9 * * 1',
          timeZone: 'UTC',
          handler: 'record',
          payload: { reportId: 'r1' },
          jitterMs: 0,
          enabled: true,
        },
      },
    ]);
    expect(await app.scheduler.get('acme', 'weekly')).toMatchObject({ state: 'active' });
    await app.scheduler.upsert(input()); // identical: the version stays
    await app.scheduler.upsert(input({ cron: '0 10 * * 1', retry: { attempts: 2 } }));
    expect((await rows())[0]).toMatchObject({
      version: '2',
      definition: { cron: '0 10 * * 1', retry: { attempts: 2 } },
    });
    expect(await app.scheduler.pause('acme', 'weekly')).toMatchObject({ state: 'paused' });
    expect((await rows())[0]).toMatchObject({ version: '3', definition: { enabled: false } });
    expect(await app.scheduler.resume('acme', 'weekly')).toMatchObject({ state: 'active' });
    expect((await rows())[0]).toMatchObject({ version: '4', definition: { enabled: true } });
    expect(await app.scheduler.remove('acme', 'weekly')).toBe(true);
    expect(await rows()).toEqual([{ id: 'weekly', version: '5', definition: null }]);
    expect(await app.scheduler.get('acme', 'weekly')).toBeNull();
    expect(await app.scheduler.remove('acme', 'weekly')).toBe(false);
    expect(await app.scheduler.pause('acme', 'weekly')).toBeNull();
  });

  it('enforces the tenant quota in the transaction: a refused schedule is in neither store', async () => {
    app = await boot({ maxSchedulesPerTenant: 2 });
    const error = await app.scheduler
      .upsertMany([input({ id: 'a' }), input({ id: 'b' }), input({ id: 'c' })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkUpsertError);
    const failures = (error as BulkUpsertError).failures;
    expect(failures.map((f) => f.index)).toEqual([2]);
    expect(failures[0].error).toBeInstanceOf(TenantQuotaExceededError);
    expect((await rows()).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await app.scheduler.list('acme')).map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('fails at once with ScheduleStoreUnavailableError while PostgreSQL is down, writing nothing', async () => {
    app = await boot();
    await app.scheduler.upsert(input({ id: 'kept' }));
    await pg.down();
    try {
      const started = Date.now();
      await expect(app.scheduler.upsert(input({ id: 'new' }))).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
      await expect(app.scheduler.remove('acme', 'kept')).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
      await expect(app.scheduler.pause('acme', 'kept')).rejects.toBeInstanceOf(
        ScheduleStoreUnavailableError,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await app.scheduler.get('acme', 'new')).toBeNull();
      expect(await app.scheduler.get('acme', 'kept')).toMatchObject({ state: 'active' });
    } finally {
      await pg.up();
    }
    expect((await rows()).map((r) => [r.id, r.version])).toEqual([['kept', '1']]);
  });

  it('says the change is saved when Redis fails after the commit; the reconciler applies it after Redis lost everything', async () => {
    app = await boot({ reconcileIntervalMs: 300 });
    await app.scheduler.upsert(input({ id: 'before' }));
    const events: ReconcileReport[] = [];
    app.module.get(SchedulerEvents).on('schedules.reconciled', (r) => events.push(r));
    const client = app.module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    // Redis restarts without persistence: down for a while, then back empty.
    const restarted = redisServer.restart({ downMs: 1_500 });
    await waitFor(() => client.status !== 'ready', { message: 'the app sees Redis down' });
    const error = await app.scheduler
      .upsert(input({ id: 'late' }))
      .then(() => undefined)
      .catch((e: unknown) => e);
    await restarted;
    expect(error).toBeInstanceOf(ScheduleNotAppliedError);
    expect((error as ScheduleNotAppliedError).schedules).toEqual([
      { tenantId: 'acme', id: 'late' },
    ]);
    expect((await rows()).map((r) => r.id)).toEqual(['before', 'late']);
    await waitFor(
      async () =>
        (await app.scheduler.get('acme', 'late')) && (await app.scheduler.get('acme', 'before')),
      { message: 'the reconciler wrote both schedules to the empty Redis' },
    );
    const report = await waitFor(() => events.find((e) => e.full && e.created === 2), {
      message: 'schedules.reconciled with both repairs',
    });
    expect(report).toMatchObject({ updated: 0, removed: 0, failed: [] });
  });

  it('full pass: rewrites a schedule Redis holds differently and removes what the store does not hold', async () => {
    app = await boot();
    await app.scheduler.upsertMany([input({ id: 'a' }), input({ id: 'b' })]);
    await app.scheduler.remove('acme', 'b');
    // Another writer, without the store, changes Redis behind its back.
    const bypass = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: prefix,
        worker: false,
        tenantGuards: { minIntervalMs: 0 },
      },
      [recordingHandlers('b')],
    );
    try {
      await bypass.scheduler.upsertMany([
        input({ id: 'a', cron: '0 0 1 1 *' }),
        input({ id: 'b' }),
        input({ id: 'orphan' }),
      ]);
    } finally {
      await bypass.close();
    }
    const reconciler = app.module.get(ScheduleReconciler);
    const report = await reconciler.reconcile(true);
    expect(report).toMatchObject({ full: true, created: 0, updated: 1, removed: 2, failed: [] });
    expect((await app.scheduler.list('acme')).map((s) => [s.id, s.cron])).toEqual([
      ['a', '0 9 * * 1'],
    ]);
    expect(await reconciler.reconcile(true)).toMatchObject({ updated: 0, removed: 0, created: 0 });
  });

  it('a booting pod goes on from the last pass of another pod; a lost mark makes the next pass full', async () => {
    app = await boot(); // its boot pass compares every row and sets the mark
    await app.scheduler.upsert(input({ id: 'a' }));
    // A pod without the store, to write and read Redis alone.
    const bypass = await createApp({ redis: redisServer.url, keyPrefix: prefix, worker: false }, [
      recordingHandlers('b'),
    ]);
    let second: TestApp | undefined;
    try {
      await bypass.scheduler.upsert(input({ id: 'orphan' })); // in Redis only
      second = await boot();
      // Its boot pass and this one only read what changed since the first pod's pass.
      const reconciler = second.module.get(ScheduleReconciler);
      expect(await reconciler.reconcile()).toMatchObject({ full: false, created: 0, removed: 0 });
      expect(await bypass.scheduler.get('acme', 'orphan')).not.toBeNull();
      await second.module.get<Redis>(REDIS_SCHEDULER_CLIENT).del(`${prefix}:store-mark`);
      expect(await reconciler.reconcile()).toMatchObject({ full: true, removed: 1 });
      expect(await bypass.scheduler.get('acme', 'orphan')).toBeNull();
      expect(await reconciler.reconcile()).toMatchObject({ full: false });
    } finally {
      await Promise.all([bypass.close(), second?.close()]);
    }
  });

  it('remove() keeps its promise while full reconciliation passes run at the same time', async () => {
    app = await boot();
    const reconciler = app.module.get(ScheduleReconciler);
    for (let round = 0; round < 20; round++) {
      const id = `r${round}`;
      await app.scheduler.upsert(input({ id }));
      // The pass reads the row while it is live; remove() commits and resolves during the pass.
      const pass = reconciler.reconcile(true);
      expect(await app.scheduler.remove('acme', id)).toBe(true);
      // It never writes the removed schedule back, not even for a moment.
      expect(await pass).toMatchObject({ created: 0, updated: 0 });
      expect(await app.scheduler.get('acme', id)).toBeNull();
    }
  });

  it('takes the store through forRootAsync too', async () => {
    const module = await Test.createTestingModule({
      imports: [
        RedisSchedulerModule.forRootAsync({
          useFactory: () => ({
            redis: redisServer.url,
            keyPrefix: prefix,
            tenantGuards: { minIntervalMs: 0 },
            store: new PostgresScheduleStore({ connectionString: pg.url, schema }),
          }),
        }),
      ],
      providers: [recordingHandlers('async')],
    }).compile();
    module.useLogger(false);
    await module.init();
    try {
      await module.get(SchedulerService).upsert(input({ id: 'async' }));
      expect((await rows()).map((r) => [r.id, r.version])).toEqual([['async', '1']]);
    } finally {
      await module.close();
    }
  });
});
