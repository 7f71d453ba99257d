import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { RunHistoryWriter } from '../../../lib/reconcile/run-history.writer';
import { ScheduleStore as RedisHistory } from '../../../lib/engine/schedule.store';
import { RedisConnection } from '../../../lib/redis/redis-client.provider';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { behaviour, recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
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

interface RunRow {
  fire_time: Date;
  status: string;
  duration_ms: number | null;
  pod: string;
  fencing_token: string;
}

describe('execution history in PostgreSQL', () => {
  let app: TestApp;
  let schema: string;
  const runRows = async (): Promise<RunRow[]> =>
    (
      await sql.query<RunRow>(
        `SELECT fire_time, status, duration_ms, pod, fencing_token FROM "${schema}".runs
          WHERE tenant_id = 'acme' AND schedule_id = 'tick' ORDER BY fire_time`,
      )
    ).rows;

  beforeEach(async () => {
    resetRecorder();
    schema = `h_${randomUUID().slice(0, 8)}`;
    app = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { minIntervalMs: 0 },
        store: new PostgresScheduleStore({
          connectionString: pg.url,
          schema,
          connectionTimeoutMs: 1_000,
        }),
      },
      [recordingHandlers('a')],
    );
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'tick',
      cron: '* * * * * *',
      handler: 'record',
    });
  });
  afterEach(() => app?.close());

  it('writes every run in batches and history() reads them back, newest first', async () => {
    const rows = await waitFor(async () => ((await runRows()).length >= 2 ? runRows() : null), {
      message: 'two runs in PostgreSQL',
    });
    expect(rows[0]).toMatchObject({ status: 'succeeded', pod: expect.stringContaining(':') });
    expect(rows[0].duration_ms).toBeGreaterThanOrEqual(0);
    const history = await app.scheduler.history('acme', 'tick');
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(history[0].fireTime.getTime()).toBeGreaterThan(history[1].fireTime.getTime());
    expect(history[0]).toMatchObject({ status: 'succeeded', attempt: 1 });
    const started = new Set(runs.map((r) => r.fireTime));
    expect(history.every((h) => started.has(h.fireTime.getTime()))).toBe(true);
    const { rows: marks } = await sql.query<{ last: Date }>(
      `SELECT last_completed_fire_at AS last FROM "${schema}".schedules WHERE id = 'tick'`,
    );
    const latest = await runRows();
    expect(marks[0].last.getTime()).toBeGreaterThanOrEqual(rows.at(-1)!.fire_time.getTime());
    expect(marks[0].last.getTime()).toBeLessThanOrEqual(latest.at(-1)!.fire_time.getTime());
  });

  it('keeps each run’s result (jsonb); one jsonb cannot hold is kept as null, the batch goes on', async () => {
    // Even seconds return a status; odd ones a string with NUL, which jsonb refuses.
    const even = (fire: number): boolean => Math.floor(fire / 1_000) % 2 === 0;
    behaviour.result = (ctx) =>
      even(ctx.fireTime.getTime()) ? { status: 200, fire: ctx.fireTime.getTime() } : 'a\u0000b';
    const rows = await waitFor(
      async () => {
        const { rows: r } = await sql.query<{ fire_time: Date; result: unknown }>(
          `SELECT fire_time, result FROM "${schema}".runs WHERE schedule_id = 'tick'
            ORDER BY fire_time`,
        );
        return r.length >= 4 ? r : null;
      },
      { message: 'four runs in PostgreSQL' },
    );
    for (const row of rows) {
      const fire = row.fire_time.getTime();
      expect(row.result).toEqual(even(fire) ? { status: 200, fire } : null);
    }
    const history = await app.scheduler.history('acme', 'tick');
    const stored = history.filter((h) =>
      rows.some((r) => r.fire_time.getTime() === h.fireTime.getTime()),
    );
    expect(stored.map((h) => h.result)).toEqual(rows.map((r) => r.result).reverse());
  });

  it('keeps running while PostgreSQL is down and writes the buffered runs once it is back', async () => {
    await waitFor(async () => (await runRows()).length >= 1, { message: 'a first run stored' });
    const writer = app.module.get(RunHistoryWriter);
    await pg.down();
    let downFrom = 0;
    try {
      downFrom = runs.length;
      await waitFor(() => runs.length >= downFrom + 3 && writer.pending >= 2, {
        message: 'runs go on, their history waits in the buffer',
      });
    } finally {
      await pg.up();
    }
    const during = runs.slice(downFrom, downFrom + 3).map((r) => r.fireTime);
    await waitFor(
      async () => {
        const stored = new Set((await runRows()).map((r) => r.fire_time.getTime()));
        return during.every((f) => stored.has(f)) && writer.pending < 3;
      },
      { message: 'the runs of the outage in PostgreSQL' },
    );
    expect(writer.droppedTotal).toBe(0);
  });

  it('prunes runs older than the retention in batches', async () => {
    const store = new PostgresScheduleStore({ connectionString: pg.url, schema });
    try {
      await waitFor(async () => (await runRows()).length >= 1, { message: 'a live run stored' });
      const live = (await runRows()).length;
      await sql.query(
        `INSERT INTO "${schema}".runs
           SELECT 'old', 'x', to_timestamp(n), 1, n, 'succeeded', NULL,
                  now() - interval '40 days', NULL, NULL, 'p'
             FROM generate_series(1, 25) n`,
      );
      expect(await store.pruneRuns(new Date(Date.now() - 30 * 86_400_000), 10)).toBe(10);
      expect(await store.pruneRuns(new Date(Date.now() - 30 * 86_400_000), 100)).toBe(15);
      const { rows } = await sql.query(`SELECT 1 FROM "${schema}".runs WHERE tenant_id = 'old'`);
      expect(rows).toHaveLength(0);
      expect((await runRows()).length).toBeGreaterThanOrEqual(live); // recent runs are kept
    } finally {
      await store.close();
    }
  });
});

describe('the sequence of a run in PostgreSQL', () => {
  it('is the one Redis numbered it with (every attempt counted) and survives pruning', async () => {
    resetRecorder();
    behaviour.failAttempts = 1; // every fire time: attempt 1 fails (retry), attempt 2 succeeds
    const schema = `q_${randomUUID().slice(0, 8)}`;
    const store = new PostgresScheduleStore({ connectionString: pg.url, schema });
    const app = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { minIntervalMs: 0 },
        runHistory: 50,
        store,
      },
      [recordingHandlers('a')],
    );
    const key = (r: { fireTime: Date; attempt: number }) => `${r.fireTime.getTime()}/${r.attempt}`;
    try {
      await app.scheduler.upsert({
        tenantId: 'acme',
        id: 'seq',
        cron: '* * * * * *',
        handler: 'record',
        retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false },
      });
      const ring = () =>
        app.module
          .get(RedisHistory)
          .history(app.module.get(RedisConnection).keys.dynamicSchedule('acme', 'seq'));
      await waitFor(
        async () => (await ring()).filter((r) => r.status === 'succeeded').length >= 3,
        {
          message: 'three fire times run twice each in Redis',
        },
      );
      await app.scheduler.pause('acme', 'seq');
      const writer = app.module.get(RunHistoryWriter);
      // Paused, and every recorded run written: both histories hold the same runs.
      const redis = await waitFor(
        async () => {
          const inRedis = await ring();
          const inPg = await store.runHistory('acme', 'seq', 100);
          return writer.pending === 0 && inPg.length === inRedis.length ? inRedis : null;
        },
        { message: 'the runs recorded in Redis all written to PostgreSQL' },
      );
      expect(redis.some((r) => r.status === 'retry')).toBe(true);
      const pgRuns = await store.runHistory('acme', 'seq', 100);
      const pgSeq = new Map(pgRuns.map((r) => [key(r), r.sequence]));
      expect(redis.map((r) => [key(r), pgSeq.get(key(r))])).toEqual(
        redis.map((r) => [key(r), r.sequence]),
      );
      expect(redis.map((r) => r.sequence)).toEqual(redis.map((_, i) => redis.length - i));
      // The oldest two pruned: the runs kept keep their numbers.
      const cutoff = new Date(pgRuns.at(-2)!.endedAt.getTime() + 1);
      await sql.query(
        `UPDATE "${schema}".runs SET ended_at = ended_at - interval '40 days'
                        WHERE schedule_id = 'seq' AND ended_at < $1`,
        [cutoff],
      );
      expect(await store.pruneRuns(new Date(Date.now() - 30 * 86_400_000), 100)).toBe(2);
      const kept = await store.runHistory('acme', 'seq', 100);
      expect(kept.map((r) => [key(r), r.sequence])).toEqual(
        pgRuns.slice(0, -2).map((r) => [key(r), r.sequence]),
      );
    } finally {
      resetRecorder();
      await app.close();
    }
  });
});

describe('the history buffer', () => {
  it('counts and logs the runs that overflow it while PostgreSQL is down; runs go on', async () => {
    resetRecorder();
    const schema = `o_${randomUUID().slice(0, 8)}`;
    const app = await createApp(
      {
        redis: redisServer.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { minIntervalMs: 0 },
        store: new PostgresScheduleStore({
          connectionString: pg.url,
          schema,
          connectionTimeoutMs: 1_000,
        }),
        historyBufferSize: 3,
      },
      [recordingHandlers('a')],
    );
    const warnings: string[] = [];
    app.module.useLogger({
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
    });
    try {
      await app.scheduler.upsertMany(
        ['x', 'y', 'z'].map((id) => ({
          tenantId: 'acme',
          id,
          cron: '* * * * * *',
          handler: 'record',
        })),
      );
      const writer = app.module.get(RunHistoryWriter);
      await pg.down();
      try {
        const before = runs.length;
        await waitFor(() => writer.droppedTotal >= 3 && runs.length >= before + 6, {
          message: 'runs go on and the full buffer drops the newest',
        });
        expect(writer.pending).toBe(3);
        await waitFor(() => warnings.some((w) => /run\(s\) dropped, the buffer of 3/.test(w)), {
          message: 'the overflow logged',
        });
      } finally {
        await pg.up();
      }
      const buffered = await waitFor(
        async () => {
          const { rows } = await sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${schema}".runs WHERE ended_at > now() - interval '1 minute'`,
          );
          return Number(rows[0].n) >= 3 && rows;
        },
        { message: 'the buffered runs written once PostgreSQL is back' },
      );
      expect(buffered).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

describe('PostgresScheduleStore.recordRunColumns', () => {
  it('writes every field as given, awkward strings included, and ignores a run already stored', async () => {
    const schema = `c_${randomUUID().slice(0, 8)}`;
    const store = new PostgresScheduleStore({ connectionString: pg.url, schema });
    try {
      await store.init();
      const t0 = Date.UTC(2026, 0, 2, 3, 4, 5);
      const awkward = `q"uote' back\\slash {br,ace} \\u0000 é 😀 ${'\u0000'}nul ${'\ud800'}lone`;
      const columns = {
        pod: 'host:1',
        tenantIds: ['', 'a"b', 'ü'],
        scheduleIds: ['s,1', '{x}', 'NULL'],
        fireMs: [t0, t0 + 1_000, t0 + 2_000],
        attempts: [1, 2, 1],
        fencingTokens: [7, 22_000_000_000_001, 9],
        statuses: ['succeeded', 'retry', 'failed'] as const,
        startedMs: [t0 + 5, 0, t0 + 2_010.5],
        endedMs: [t0 + 25, t0 + 1_100, t0 + 2_042.5],
        errors: [null, 'NULL', awkward],
        // The last is JSON jsonb refuses (\u0000): kept as NULL, the batch still written.
        results: ['{"status":200,"durationMs":20}', null, '{"body":"nul\\u0000"}'],
        sequences: [1, 41, 9_007_199_254_740_991],
      };
      await store.recordRunColumns({ ...columns, statuses: [...columns.statuses] });
      await store.recordRunColumns({ ...columns, statuses: [...columns.statuses] });
      const read = async (t: string, s: string) => (await store.runHistory(t, s, 10))[0];
      expect(await store.runHistory('', 's,1', 10)).toHaveLength(1);
      expect(await read('', 's,1')).toEqual({
        tenantId: '',
        scheduleId: 's,1',
        fireTime: new Date(t0),
        attempt: 1,
        fencingToken: 7,
        status: 'succeeded',
        startedAt: new Date(t0 + 5),
        endedAt: new Date(t0 + 25),
        durationMs: 20,
        error: null,
        pod: 'host:1',
        result: { status: 200, durationMs: 20 },
        // Recorded twice, stored once, with the sequence given.
        sequence: 1,
      });
      expect(await read('a"b', '{x}')).toMatchObject({
        attempt: 2,
        fencingToken: 22_000_000_000_001,
        status: 'retry',
        startedAt: null,
        durationMs: null,
        error: 'NULL',
        sequence: 41,
      });
      const failed = await read('ü', 'NULL');
      expect(failed.error).toBe(awkward.replaceAll('\u0000', '').replace('\ud800', '\ufffd'));
      expect(failed.durationMs).toBe(32);
      expect(failed.result).toBeNull();
      expect(failed.sequence).toBe(Number.MAX_SAFE_INTEGER);
    } finally {
      await store.close();
    }
  });
});
