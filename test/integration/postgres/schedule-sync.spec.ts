import { randomUUID } from 'node:crypto';
import {
  InvalidCronError,
  InvalidOptionsError,
  type ScheduleInput,
  type RedisSchedulerModuleOptions,
} from 'nestjs-redis-scheduler';
import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { recordingHandlers } from '../../fixtures/recorder';
import { waitFor } from '../../support/wait-for';

let pg: PostgresServerHandle;
let redisServer: RedisServerHandle;
beforeAll(async () => {
  [pg, redisServer] = await Promise.all([startPostgresServer(), startRedisServer()]);
});
afterAll(() => Promise.all([pg?.stop(), redisServer?.stop()]));

const row = (id: string, over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id,
  cron: '0 9 * * 1',
  handler: 'record',
  ...over,
});

describe.each([
  ['without a store', false],
  ['with a PostgreSQL store', true],
])('scheduler.sync %s', (_name, withStore) => {
  let app: TestApp;
  beforeEach(async () => {
    const options: RedisSchedulerModuleOptions = {
      redis: redisServer.url,
      keyPrefix: freshPrefix(),
      tenantGuards: { minIntervalMs: 0 },
    };
    if (withStore) {
      options.store = new PostgresScheduleStore({
        connectionString: pg.url,
        schema: `y_${randomUUID().slice(0, 8)}`,
      });
    }
    app = await createApp(options, [recordingHandlers('a')]);
  });
  afterEach(() => app?.close());

  it('creates, updates, keeps and removes, and a second identical sync changes nothing', async () => {
    await app.scheduler.upsertMany([row('keep'), row('change'), row('gone')]);
    const kept = await app.scheduler.get('acme', 'keep');
    const records = [row('keep'), row('change', { cron: '0 10 * * 1' }), row('new')];
    expect(await app.scheduler.sync(records, { tenantId: 'acme', removeMissing: true })).toEqual({
      created: 1,
      updated: 1,
      removed: 1,
      unchanged: 1,
    });
    expect((await app.scheduler.list('acme')).map((s) => [s.id, s.cron])).toEqual([
      ['change', '0 10 * * 1'],
      ['keep', '0 9 * * 1'],
      ['new', '0 9 * * 1'],
    ]);
    const keptAfter = await app.scheduler.get('acme', 'keep');
    expect(keptAfter?.nextFireAt).toEqual(kept?.nextFireAt);
    expect(keptAfter?.createdAt).toEqual(kept?.createdAt);
    expect(await app.scheduler.sync(records, { tenantId: 'acme', removeMissing: true })).toEqual({
      created: 0,
      updated: 0,
      removed: 0,
      unchanged: 3,
    });
  });

  it('leaves unlisted schedules without removeMissing, and other tenants always', async () => {
    await app.scheduler.upsertMany([row('a'), row('b', { tenantId: 'other' })]);
    expect(await app.scheduler.sync([row('c')])).toEqual({
      created: 1,
      updated: 0,
      removed: 0,
      unchanged: 0,
    });
    expect(await app.scheduler.sync([row('c')], { removeMissing: true })).toMatchObject({
      removed: 1,
      unchanged: 1,
    });
    expect((await app.scheduler.list('acme')).map((s) => s.id)).toEqual(['c']);
    expect((await app.scheduler.list('other')).map((s) => s.id)).toEqual(['b']);
  });

  it('refuses bad input with a typed error and writes nothing', async () => {
    await expect(
      app.scheduler.sync([row('x', { tenantId: 'other' })], { tenantId: 'acme' }),
    ).rejects.toThrow(InvalidOptionsError);
    await expect(
      app.scheduler.sync([row('ok'), row('bad', { cron: 'nope' })], { tenantId: 'acme' }),
    ).rejects.toThrow(InvalidCronError);
    await expect(
      app.scheduler.sync([], { tenantId: 'acme', removeMissing: 'yes' as never }),
    ).rejects.toThrow(InvalidOptionsError);
    expect(await app.scheduler.list('acme')).toEqual([]);
  });
});

describe('the source option', () => {
  let app: TestApp | undefined;
  afterEach(() => app?.close());

  it('syncs at boot and every reconcileIntervalMs, and removes nothing when load() fails', async () => {
    let rows: ScheduleInput[] = [row('a'), row('b')];
    let failing = false;
    const source = {
      async *load(): AsyncIterable<ScheduleInput> {
        if (failing) throw new Error('the source table is unreachable');
        for (const r of rows) yield r;
      },
    };
    app = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { minIntervalMs: 0 },
        source,
        reconcileIntervalMs: 200,
      },
      [recordingHandlers('a')],
    );
    // Boot waited for the first pass.
    expect((await app.scheduler.list('acme')).map((s) => s.id)).toEqual(['a', 'b']);
    rows = [row('b', { cron: '0 10 * * 1' }), row('c')];
    const ids = async () => (await app!.scheduler.list('acme')).map((s) => `${s.id} ${s.cron}`);
    await waitFor(async () => (await ids()).join() === 'b 0 10 * * 1,c 0 9 * * 1', {
      message: 'the next pass applied the changed source',
    });
    failing = true;
    rows = [];
    // A negative observation window: two intervals in which a failing load removes nothing.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await ids()).toEqual(['b 0 10 * * 1', 'c 0 9 * * 1']);
  });

  it('refuses a source without load()', async () => {
    await expect(
      createApp({ redis: redisServer.url, source: {} as never }, [recordingHandlers('a')]),
    ).rejects.toThrow(InvalidOptionsError);
  });
});
