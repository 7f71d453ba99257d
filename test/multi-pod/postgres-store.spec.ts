import { join } from 'node:path';
import { Pool } from 'pg';
import { startPostgresServer, type PostgresServerHandle } from '../support/postgres-server';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { freshPrefix } from '../support/create-app';
import { waitFor } from '../support/wait-for';
import { PodFleet, type RunEvent } from './pods';
import { KeySpace } from '../../lib/redis/key-space';
import type { UpsertCommand, UpsertedEvent } from './store-pod.fixture';

/*
 * Pods with the PostgreSQL store (issue 12), each its own Node process: the tenant quota holds
 * exactly when several processes write at once, and Redis losing its data (FLUSHALL, a restart
 * without persistence) under load is repaired by the reconciler, with no fire time run twice.
 */

const FIXTURE = join(__dirname, 'store-pod.fixture.ts');
let pg: PostgresServerHandle;
let redis: RedisServerHandle;
let sql: Pool;
let fleet: PodFleet | undefined;
beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  sql = new Pool({ connectionString: pg.url });
  sql.on('error', () => undefined);
});
afterEach(async () => {
  await fleet?.stopAll();
  fleet = undefined;
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

function duplicates(starts: RunEvent[]): string[] {
  const seen = new Map<string, number>();
  for (const e of starts) {
    const key = `${e.tenantId}/${e.scheduleId}@${e.fireTime}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}

describe('pods with a PostgreSQL store', () => {
  it('enforce the tenant quota exactly when three processes upsert at once', async () => {
    const prefix = freshPrefix();
    fleet = new PodFleet(redis.url, prefix, FIXTURE);
    const env = { PG_URL: pg.url, PG_SCHEMA: 'quota', MAX_PER_TENANT: '7', WORKER: 'false' };
    const pods = await Promise.all(['a', 'b', 'c'].map((name) => fleet!.start(name, env)));
    pods.forEach((p) => {
      const command: UpsertCommand = {
        type: 'upsert',
        inputs: Array.from({ length: 10 }, (_, i) => ({
          tenantId: 'crowded',
          id: `${p.name}${i}`,
          cron: '0 0 1 1 *',
          handler: 'record',
        })),
      };
      p.child.send(command);
    });
    const answers = await waitFor(
      () => {
        const got = (fleet!.events as unknown as UpsertedEvent[]).filter(
          (e) => e.type === 'upserted',
        );
        return got.length === 3 ? got : undefined;
      },
      { message: 'the three pods answered' },
    );
    const results = answers.flatMap((a) => a.results);
    expect(results.filter((r) => r === 'ok')).toHaveLength(7);
    expect(results.filter((r) => r === 'TenantQuotaExceededError')).toHaveLength(23);
    const { rows } = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM quota.schedules WHERE tenant_id = 'crowded' AND definition IS NOT NULL`,
    );
    expect(rows[0].n).toBe('7');
    const inRedis = await redis.client().smembers(new KeySpace(prefix, 1).tenantSet('crowded'));
    expect(inRedis).toHaveLength(7);
  });

  it('fire every schedule again after FLUSHALL and after a restart without persistence, none twice', async () => {
    const prefix = freshPrefix();
    fleet = new PodFleet(redis.url, prefix, FIXTURE);
    const env = { PG_URL: pg.url, PG_SCHEMA: 'loss', RECONCILE_MS: '1000' };
    const [a] = await Promise.all(['a', 'b', 'c'].map((name) => fleet!.start(name, env)));
    const SCHEDULES = 20;
    a.child.send({
      type: 'upsert',
      inputs: Array.from({ length: SCHEDULES }, (_, i) => ({
        tenantId: `t${i % 4}`,
        id: `s${i}`,
        cron: '* * * * * *',
        handler: 'record',
      })),
    } satisfies UpsertCommand);
    const client = redis.client();
    const firingSince = async (sinceMs: number): Promise<boolean> => {
      const fired = new Set(
        fleet!
          .starts((e) => e.realMs > sinceMs && e.tenantId !== undefined)
          .map((e) => e.scheduleId),
      );
      return fired.size === SCHEDULES;
    };
    await waitFor(() => firingSince(Date.now() - 1_500), {
      message: 'every schedule fires',
    });

    await client.flushall();
    const flushedAt = Date.now();
    await waitFor(() => firingSince(flushedAt), {
      timeoutMs: 15_000,
      message: 'every schedule fires again after FLUSHALL',
    });
    const afterFlushMs = Date.now() - flushedAt;

    await redis.restart({ downMs: 500 }); // no appendonly: Redis comes back empty
    const restartedAt = Date.now();
    await waitFor(() => firingSince(restartedAt), {
      timeoutMs: 20_000,
      message: 'every schedule fires again after the restart',
    });
    const afterRestartMs = Date.now() - restartedAt;
    await fleet.stopAll();
    const starts = fleet.starts((e) => e.tenantId !== undefined);
    process.stdout.write(
      `postgres store, Redis data loss: ${starts.length} runs, firing again ${afterFlushMs} ms ` +
        `after FLUSHALL and ${afterRestartMs} ms after the restart (reconcileIntervalMs 1000)\n`,
    );
    expect(duplicates(starts)).toEqual([]);
  });

  it('run on through a PostgreSQL outage: writes fail at once, the history is written once it is back', async () => {
    const prefix = freshPrefix();
    fleet = new PodFleet(redis.url, prefix, FIXTURE);
    const env = { PG_URL: pg.url, PG_SCHEMA: 'outage', RECONCILE_MS: '1000' };
    const [a] = await Promise.all(['a', 'b', 'c'].map((name) => fleet!.start(name, env)));
    const SCHEDULES = 10;
    const upsert = async (inputs: UpsertCommand['inputs'], answers: number): Promise<string[]> => {
      a.child.send({ type: 'upsert', inputs } satisfies UpsertCommand);
      const got = await waitFor(
        () => {
          const all = (fleet!.events as unknown as UpsertedEvent[]).filter(
            (e) => e.type === 'upserted',
          );
          return all.length === answers ? all : undefined;
        },
        { message: 'the pod answered' },
      );
      return got[answers - 1].results;
    };
    const schedule = (i: number) => ({
      tenantId: `t${i % 2}`,
      id: `s${i}`,
      cron: '* * * * * *',
      handler: 'record',
    });
    expect(
      await upsert(
        Array.from({ length: SCHEDULES }, (_, i) => schedule(i)),
        1,
      ),
    ).toEqual(Array(SCHEDULES).fill('ok'));
    const firingSince = (sinceMs: number): boolean =>
      new Set(fleet!.starts((e) => e.realMs > sinceMs).map((e) => e.scheduleId)).size === SCHEDULES;
    await waitFor(() => firingSince(Date.now() - 1_500), { message: 'every schedule fires' });

    await pg.down();
    const downAt = Date.now();
    let during: RunEvent[] = [];
    try {
      const started = Date.now();
      expect(await upsert([schedule(99)], 2)).toEqual(['ScheduleStoreUnavailableError']);
      expect(Date.now() - started).toBeLessThan(5_000);
      await waitFor(() => firingSince(downAt + 1_000), {
        message: 'every schedule fires while PostgreSQL is down',
      });
      during = fleet.ends((e) => e.realMs > downAt);
      expect(during.length).toBeGreaterThanOrEqual(SCHEDULES);
    } finally {
      await pg.up();
    }
    expect(
      await redis.client().exists(new KeySpace(prefix, 1).dynamicSchedule('t1', 's99').hash),
    ).toBe(0);
    const fires = during.map((e) => `${e.scheduleId}@${e.fireTime}`);
    await waitFor(
      async () => {
        const { rows } = await sql.query<{ k: string }>(
          `SELECT schedule_id || '@' || (extract(epoch FROM fire_time) * 1000)::bigint AS k FROM outage.runs`,
        );
        const stored = new Set(rows.map((r) => r.k));
        return fires.every((f) => stored.has(f));
      },
      { message: 'the runs of the outage in PostgreSQL' },
    );
    await fleet.stopAll();
    process.stdout.write(
      `postgres store outage: ${during.length} runs while PostgreSQL was down, all in its history after\n`,
    );
    expect(duplicates(fleet.starts())).toEqual([]);
  });
});
