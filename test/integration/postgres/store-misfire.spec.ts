import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Pool } from 'pg';
import { REDIS_SCHEDULER_CLIENT, type ScheduleInput } from 'nestjs-redis-scheduler';
import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { ScheduleReconciler } from '../../../lib/reconcile/schedule-reconciler';
import { RunHistoryWriter } from '../../../lib/reconcile/run-history.writer';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { sleep, waitFor } from '../../support/wait-for';

let pg: PostgresServerHandle;
let redisServer: RedisServerHandle;
let sql: Pool;
beforeAll(async () => {
  [pg, redisServer] = await Promise.all([startPostgresServer(), startRedisServer()]);
  sql = new Pool({ connectionString: pg.url });
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([pg?.stop(), redisServer?.stop()]);
});

const everySecond = (id: string, over: Partial<ScheduleInput>): ScheduleInput => ({
  tenantId: 'acme',
  id,
  cron: '* * * * * *',
  handler: 'record',
  ...over,
});

describe('Redis data loss with a PostgreSQL store: the misfire policy decides the gap', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('runAll runs the fire times the gap missed, skip runs none of them; a completed fire time never runs again', async () => {
    resetRecorder();
    const schema = `s_${randomUUID().slice(0, 8)}`;
    app = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { minIntervalMs: 0 },
        store: new PostgresScheduleStore({ connectionString: pg.url, schema }),
        reconcileIntervalMs: 60_000, // passes run by the test
      },
      [recordingHandlers('a')],
    );
    await app.scheduler.upsertMany([
      everySecond('all', { misfire: 'runAll', maxCatchUp: 100 }),
      everySecond('skip', { misfire: 'skip' }),
    ]);
    await waitFor(
      async () =>
        (
          await sql.query(
            `SELECT 1 FROM "${schema}".schedules WHERE last_completed_fire_at IS NOT NULL`,
          )
        ).rowCount === 2,
      { message: 'both schedules have a completed fire time in PostgreSQL' },
    );
    // Redis loses everything; the runs that completed before reach PostgreSQL.
    await app.module.get<Redis>(REDIS_SCHEDULER_CLIENT).flushall();
    await waitFor(() => runs.every((r) => r.endedAt !== undefined), {
      message: 'no run in flight',
    });
    await app.module.get(RunHistoryWriter).drain();
    const completed = new Map<string, Set<number>>();
    const { rows } = await sql.query<{ schedule_id: string; fire_time: Date }>(
      `SELECT schedule_id, fire_time FROM "${schema}".runs WHERE status <> 'retry'`,
    );
    for (const r of rows) {
      const set = completed.get(r.schedule_id) ?? new Set<number>();
      set.add(r.fire_time.getTime());
      completed.set(r.schedule_id, set);
    }
    const lastCompleted = (id: string) => Math.max(...completed.get(id)!);
    // The gap: fault duration, Redis holds no schedule for 3 s.
    await sleep(3_000);
    const before = runs.length;
    const repairedAt = Date.now();
    expect(await app.module.get(ScheduleReconciler).reconcile(true)).toMatchObject({
      created: 2,
      failed: [],
    });
    // runAll: every fire time from the one after the last completed up to the repair runs.
    const missed: number[] = [];
    for (let t = lastCompleted('all') + 1_000; t < repairedAt - 1_000; t += 1_000) missed.push(t);
    expect(missed.length).toBeGreaterThanOrEqual(2);
    await waitFor(
      () => {
        const ran = new Set(
          runs
            .slice(before)
            .filter((r) => r.scheduleId === 'all')
            .map((r) => r.fireTime),
        );
        return missed.every((t) => ran.has(t));
      },
      { message: `runAll ran the ${missed.length} missed fire times` },
    );
    await waitFor(
      () => runs.slice(before).some((r) => r.scheduleId === 'skip' && r.endedAt !== undefined),
      { message: 'the skip schedule fires again' },
    );
    const after = runs.slice(before);
    // skip: none of the gap's fire times (it resumes at the first fire time after the repair).
    const skipFires = after.filter((r) => r.scheduleId === 'skip').map((r) => r.fireTime);
    expect(skipFires.filter((t) => t < repairedAt - 1_000)).toEqual([]);
    // A fire time whose completion reached PostgreSQL never runs again.
    for (const id of ['all', 'skip']) {
      const again = after.filter((r) => r.scheduleId === id && completed.get(id)!.has(r.fireTime));
      expect(again).toEqual([]);
    }
  });
});
