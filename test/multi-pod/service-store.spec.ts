import { Pool } from 'pg';
import { startPostgresServer, type PostgresServerHandle } from '../support/postgres-server';
import { waitFor } from '../support/wait-for';
import { ServiceFleet, startServiceFleet } from './service-fleet';

/*
 * The service with DATABASE_URL (README "Service"): PostgreSQL is the source of truth, the demo
 * tenant's schedules are rows of the store (schema rsched_sample) and their runs its history.
 */

let pg: PostgresServerHandle;
let sql: Pool;
let fleet: ServiceFleet;
beforeAll(async () => {
  pg = await startPostgresServer();
  sql = new Pool({ connectionString: pg.url });
  sql.on('error', () => undefined);
  fleet = await startServiceFleet({ count: 1, env: { DATABASE_URL: pg.url } });
});
afterAll(async () => {
  await fleet?.stop();
  await sql?.end();
  await pg?.stop();
});

describe('the service with DATABASE_URL', () => {
  it("keeps the demo tenant's schedules and their runs in PostgreSQL", async () => {
    const [service] = fleet.services;
    expect(service.output.join('\n')).toContain('PostgreSQL store + Redis');
    const rows = await sql.query<{ id: string; handler: string }>(
      `SELECT id, definition->>'handler' AS handler FROM rsched_sample.schedules
       WHERE tenant_id = 'demo' AND definition IS NOT NULL ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { id: 'digest', handler: 'http' },
      { id: 'ping', handler: 'http' },
    ]);
    const pinged = await waitFor(
      async () => {
        const runs = await sql.query<{ fire_time: Date; status: string }>(
          `SELECT fire_time, status FROM rsched_sample.runs
           WHERE tenant_id = 'demo' AND schedule_id = 'ping'`,
        );
        return runs.rows.length > 0 ? runs.rows : undefined;
      },
      { timeoutMs: 30_000, message: 'a ping run in the store history' },
    );
    expect(pinged[0].status).toBe('succeeded');
    const fire = pinged[0].fire_time.toISOString();
    expect(service.output.some((line) => line.includes(`echo ping fire ${fire} attempt 1`))).toBe(
      true,
    );
  });
});
