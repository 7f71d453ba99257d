import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { InvalidOptionsError } from 'nestjs-redis-scheduler';
import { MIGRATIONS, PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';

const run = promisify(execFile);
let pg: PostgresServerHandle;
let sql: Client;
beforeAll(async () => {
  pg = await startPostgresServer();
  sql = new Client({ connectionString: pg.url });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await pg?.stop();
});

async function tables(schema: string): Promise<string[]> {
  const { rows } = await sql.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
    [schema],
  );
  return rows.map((r) => r.table_name);
}

async function applied(schema: string): Promise<number[]> {
  const { rows } = await sql.query<{ version: number }>(
    `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows.map((r) => r.version);
}

describe('PostgresScheduleStore migrations', () => {
  it('creates the schema and tables at init(), once, from many pods booting at once', async () => {
    const stores = Array.from(
      { length: 8 },
      () => new PostgresScheduleStore({ connectionString: pg.url, schema: 'many_at_once' }),
    );
    await Promise.all(stores.map((s) => s.init()));
    await Promise.all(stores.map((s) => s.close()));
    expect(await tables('many_at_once')).toEqual([
      'paused_statics',
      'paused_tenants',
      'runs',
      'schedules',
      'schema_migrations',
    ]);
    expect(await applied('many_at_once')).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('is applied by exactly one of several processes migrating at once', async () => {
    const child = join(__dirname, 'migrate.child.ts');
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['-r', 'ts-node/register/transpile-only', child, pg.url, 'procs'], {
          cwd: join(__dirname, '../../..'),
        }),
      ),
    );
    const perProcess = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    const all = MIGRATIONS.map((m) => m.version);
    expect(perProcess.filter((v) => v.length > 0)).toEqual([all]);
    expect(perProcess.filter((v) => v.length === 0)).toHaveLength(3);
    expect(await applied('procs')).toEqual(all);
  });

  it('leaves the tables to the user with migrate: false, and prints the SQL to run', async () => {
    const store = new PostgresScheduleStore({
      connectionString: pg.url,
      schema: 'by_hand',
      migrate: false,
    });
    await store.init();
    expect(await tables('by_hand')).toEqual([]);
    const text = PostgresScheduleStore.migrationSql('by_hand');
    expect(text).toContain('CREATE TABLE "by_hand".schedules');
    await sql.query('CREATE SCHEMA by_hand');
    await sql.query(text);
    const [r] = await store.write(
      [
        {
          kind: 'upsert',
          tenantId: 't',
          id: 'a',
          definition: {
            cron: '* * * * *',
            timeZone: 'UTC',
            handler: 'h',
            jitterMs: 0,
            enabled: true,
          },
        },
      ],
      { maxSchedulesPerTenant: 0 },
      (results) => Promise.resolve(results),
    );
    expect(r.status).toBe('created');
    await store.close();
  });

  it('adds the run result column to a database made by an earlier version; its runs read result null', async () => {
    // The schema as the version before run results left it: migrations 1 to 3.
    await sql.query('CREATE SCHEMA earlier');
    await sql.query(`CREATE TABLE earlier.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      await sql.query(m.sql.replaceAll('{schema}', 'earlier'));
      await sql.query('INSERT INTO earlier.schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
    }
    await sql.query(`INSERT INTO earlier.runs VALUES
      ('t', 'old', now(), 1, 1, 'succeeded', now(), now(), 0, NULL, 'pod-0')`);
    const stores = [1, 2].map(
      () => new PostgresScheduleStore({ connectionString: pg.url, schema: 'earlier' }),
    );
    await Promise.all(stores.map((s) => s.init()));
    expect(await applied('earlier')).toEqual([1, 2, 3, 4, 5]);
    const [store] = stores;
    const [old] = await store.runHistory('t', 'old', 10);
    // Written before migration 5: no sequence (0) and no recorded_at.
    expect(old).toMatchObject({ fencingToken: 1, result: null, sequence: 0 });
    expect((await sql.query('SELECT recorded_at FROM earlier.runs')).rows).toEqual([
      { recorded_at: null },
    ]);
    const t0 = new Date();
    await store.recordRuns([
      { ...old, scheduleId: 'new', fireTime: t0, endedAt: t0, result: { status: 200 } },
    ]);
    expect((await store.runHistory('t', 'new', 1))[0].result).toEqual({ status: 200 });
    // Migration 4 again (a database whose column was added by hand first) changes nothing.
    await sql.query(MIGRATIONS[3].sql.replaceAll('{schema}', 'earlier'));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('refuses a schema name that is not a plain identifier, and missing connection options', () => {
    for (const schema of ['Upper', 'a-b', 'x"; drop table y; --', '', '1abc', 'a'.repeat(64)]) {
      expect(() => new PostgresScheduleStore({ connectionString: pg.url, schema })).toThrow(
        InvalidOptionsError,
      );
    }
    expect(() => PostgresScheduleStore.migrationSql('a b')).toThrow(/schema/);
    expect(() => new PostgresScheduleStore({})).toThrow(/connectionString/);
  });
});
