import { existsSync } from 'node:fs';
import { Client } from 'pg';
import {
  alive,
  startPostgresServer,
  type PostgresServerHandle,
} from '../../support/postgres-server';
import { waitFor } from '../../support/wait-for';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startPostgresServer', () => {
  let pg: PostgresServerHandle;
  beforeAll(async () => (pg = await startPostgresServer()));
  afterAll(() => pg?.stop());

  it('serves SQL on a loopback port as superuser postgres', async () => {
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    expect(await query(pg.url, 'select current_user as u, 1 + 1 as two')).toEqual([
      { u: 'postgres', two: 2 },
    ]);
  });

  it('keeps its data across down()/up() and refuses connections while down', async () => {
    await query(pg.url, 'create table if not exists kept (v int); insert into kept values (7)');
    await pg.down();
    expect(pg.pid()).toBe(0);
    await expect(query(pg.url, 'select 1')).rejects.toThrow(/ECONNREFUSED/);
    await pg.up();
    expect(await query(pg.url, 'select v from kept')).toEqual([{ v: 7 }]);
  });

  it('recovers after kill() (SIGKILL to the postmaster) and restart()', async () => {
    const pid = pg.pid();
    expect(pid).toBeGreaterThan(0);
    await pg.kill();
    expect(alive(pid)).toBe(false);
    await waitFor(
      () =>
        query(pg.url, 'select 1').then(
          () => false,
          () => true,
        ),
      {
        message: 'connections refused after kill()',
      },
    );
    await pg.up();
    await pg.restart({ downMs: 50 }); // downMs: the length of the outage
    expect(await query(pg.url, 'select count(*)::int as n from kept')).toEqual([{ n: 1 }]);
  });

  it('stop() removes the data directory and is safe twice', async () => {
    const other = await startPostgresServer();
    expect(existsSync(other.dir)).toBe(true);
    const pid = other.pid();
    await other.stop();
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    expect(alive(pid)).toBe(false);
  });
});
