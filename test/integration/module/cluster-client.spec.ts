import type { Provider } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { InvalidOptionsError, REDIS_SCHEDULER_CLIENT } from '../../../lib';
import { KeySpace } from '../../../lib/redis/key-space';
import type { RedisSchedulerModuleOptions } from '../../../lib';
import { everySecondStatic, recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { startRedisCluster, type RedisClusterHandle } from '../../support/redis-cluster';
import { sleep, waitFor } from '../../support/wait-for';

/*
 * The module on a real Redis Cluster (DESIGN.md §2.7): 3 masters on loopback, no replicas, given
 * to the module as an existing ioredis Cluster instance with the due index split in 6 partitions.
 * Every script call touches keys of one hash tag only, so nothing here may raise CROSSSLOT; the
 * partitions land on several masters; and two apps, each with its own Cluster connection, start
 * every fire time exactly once.
 */

const PARTITIONS = 6;
const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

let redis: RedisClusterHandle;
const apps: TestApp[] = [];

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3 });
}, 45_000);

afterAll(() => redis?.stop());

beforeEach(() => resetRecorder());

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** An app on its own Cluster connection; closed after the test (the connection by redis.stop()). */
async function clusterApp(
  name: string,
  options: Partial<RedisSchedulerModuleOptions> & { keyPrefix: string },
  providers: Provider[] = [recordingHandlers(name)],
): Promise<{ app: TestApp; cluster: Cluster }> {
  const cluster = redis.cluster();
  const app = await createApp(
    { redis: cluster, partitions: PARTITIONS, tenantGuards: open, ...options },
    providers,
  );
  apps.push(app);
  return { app, cluster };
}

/** Every key under `prefix`, per master (KEYS on each master: a cluster has no global KEYS). */
async function keysByMaster(cluster: Cluster, prefix: string): Promise<Map<string, string[]>> {
  const byMaster = new Map<string, string[]>();
  for (const master of cluster.nodes('master')) {
    const address = `${master.options.host}:${master.options.port}`;
    byMaster.set(address, (await master.keys(`${prefix}:*`)).sort());
  }
  return byMaster;
}

/** slot → 'host:port' of its master, from CLUSTER SLOTS. */
async function slotOwners(node: Redis): Promise<(slot: number) => string> {
  const ranges = await node.cluster('SLOTS');
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`slot ${slot} is not served`);
    const [host, port] = range[2];
    return `${host}:${port}`;
  };
}

const tagOf = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? '';

/** The client connections every node holds right now: 'port/id' → the CLIENT LIST line. */
async function connections(probes: Redis[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const probe of probes) {
    const list = (await probe.client('LIST')) as string;
    for (const line of list.split('\n')) {
      const id = /^id=(\d+) /.exec(line);
      if (id) found.set(`${probe.options.port}/${id[1]}`, line);
    }
  }
  return found;
}

describe('RedisSchedulerModule with an existing ioredis Cluster', () => {
  it('is the test cluster: 3 masters, every slot served', async () => {
    const cluster = redis.cluster();
    await cluster.ping();
    expect(cluster.nodes('master')).toHaveLength(3);
    for (let i = 0; i < redis.nodes.length; i++) {
      const info = await redis.node(i).cluster('INFO');
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_slots_assigned:16384/);
    }
  });

  it('upserts, gets, lists, pauses, resumes and removes schedules; locks work', async () => {
    const keyPrefix = freshPrefix();
    const { app, cluster } = await clusterApp('api', { keyPrefix, worker: false });
    expect(app.module.get(REDIS_SCHEDULER_CLIENT)).toBe(cluster);
    const { scheduler, locks } = app;

    const weekly = { cron: '0 9 * * 1', timeZone: 'Europe/Paris', handler: 'record' };
    const created = await scheduler.upsert({
      tenantId: 'acme',
      id: 'weekly',
      ...weekly,
      payload: { reportId: 'r1' },
    });
    expect(created).toMatchObject({ tenantId: 'acme', id: 'weekly', enabled: true });
    expect(created.nextFireAt).toBeInstanceOf(Date);
    await scheduler.upsert({ tenantId: 'acme', id: 'daily', ...weekly, cron: '0 6 * * *' });
    await scheduler.upsert({ tenantId: 'other', id: 'weekly', ...weekly });

    expect(await scheduler.get('acme', 'weekly')).toMatchObject({
      id: 'weekly',
      payload: { reportId: 'r1' },
      nextFireAt: created.nextFireAt,
    });
    expect((await scheduler.list('acme')).map((s) => s.id)).toEqual(['daily', 'weekly']);
    expect((await scheduler.list('other')).map((s) => s.id)).toEqual(['weekly']);

    const paused = await scheduler.pause('acme', 'weekly');
    expect(paused).toMatchObject({ enabled: false, nextFireAt: null });
    expect((await scheduler.get('acme', 'weekly'))!.enabled).toBe(false);
    const resumed = await scheduler.resume('acme', 'weekly');
    expect(resumed).toMatchObject({ enabled: true });
    expect(resumed!.nextFireAt).toBeInstanceOf(Date);
    expect(await scheduler.pause('acme', 'missing')).toBeNull();

    expect(await scheduler.remove('acme', 'weekly')).toBe(true);
    expect(await scheduler.remove('acme', 'weekly')).toBe(false);
    expect(await scheduler.get('acme', 'weekly')).toBeNull();
    expect((await scheduler.list('acme')).map((s) => s.id)).toEqual(['daily']);

    const lock = await locks.acquire('report-acme', 5_000);
    expect(lock).not.toBeNull();
    expect(await locks.acquire('report-acme', 5_000)).toBeNull();
    expect(await cluster.get(`${keyPrefix}:lock:{report-acme}`)).toBe(lock!.token);
    expect(await lock!.extend(5_000)).toBe(true);
    expect(await lock!.release()).toBe(true);
    expect(await lock!.release()).toBe(false);
    const again = await locks.acquire('report-acme', 5_000);
    expect(again!.fencingToken).toBeGreaterThan(lock!.fencingToken);
    expect(await locks.withLock('job', 1_000, () => 'done')).toBe('done');
    await again!.release();

    // The module never closes a Cluster it was given.
    await app.close();
    expect(cluster.status).toBe('ready');
    expect(await cluster.ping()).toBe('PONG');
  });

  it('pages tenants and schedules, pauses, resumes and removes a tenant, and describes, without CROSSSLOT', async () => {
    const { app } = await clusterApp('api', { keyPrefix: freshPrefix(), worker: false });
    const { scheduler } = app;
    const tenants = Array.from({ length: 12 }, (_, i) => `tenant${String(i).padStart(2, '0')}`);
    for (const tenantId of tenants) {
      for (const id of ['a', 'b']) {
        await scheduler.upsert({ tenantId, id, cron: '0 9 * * 1', handler: 'record' });
      }
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await scheduler.tenants({ cursor, limit: 5 });
      seen.push(...page.items.map((t) => `${t.tenantId}:${t.schedules}`));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(tenants.map((t) => `${t}:2`));
    expect((await scheduler.list('tenant03', { limit: 1 })).items.map((s) => s.id)).toEqual(['a']);

    expect(await scheduler.pauseTenant('tenant03')).toBe(2);
    expect(await scheduler.get('tenant03', 'a')).toMatchObject({ tenantPaused: true });
    expect(await scheduler.resumeTenant('tenant03')).toBe(2);
    expect(await scheduler.get('tenant03', 'a')).toMatchObject({ state: 'active' });
    const described = await scheduler.describe('tenant03', 'a', { next: 2 });
    expect(described!.nextFires).toHaveLength(2);
    expect(await scheduler.removeTenant('tenant03')).toBe(2);
    expect((await scheduler.tenants({ limit: 1_000 })).items).toHaveLength(11);
  });

  it('closes the connections it opened on close, never the given Cluster', async () => {
    const probes = redis.nodes.map((_, i) => redis.node(i));
    const cluster = redis.cluster();
    await cluster.ping(); // ready: the slots are known, so nodes() lists the pool
    await Promise.all(cluster.nodes('master').map((master) => master.ping()));
    expect(cluster.nodes('master')).toHaveLength(3);
    const before = await connections(probes);
    const opened = async (): Promise<string[]> =>
      [...(await connections(probes))].filter(([id]) => !before.has(id)).map(([, line]) => line);
    const app = await createApp(
      { redis: cluster, keyPrefix: freshPrefix(), partitions: PARTITIONS, tenantGuards: open },
      [recordingHandlers('worker')],
    );
    // The worker subscribed to the wake channel on a duplicate of the Cluster it was given.
    await waitFor(async () => (await opened()).some((line) => / sub=1 /.test(line)), {
      message: 'the worker subscribed to the wake channel',
    });
    await app.close();
    await waitFor(async () => (await opened()).length === 0, {
      timeoutMs: 5_000,
      message: 'every connection the module opened is closed',
    });
    expect(cluster.status).toBe('ready');
  });

  it('refuses a Cluster with a keyPrefix, which scripts would not apply', async () => {
    const error = await createApp({
      redis: redis.cluster({ keyPrefix: 'app:' }),
      keyPrefix: freshPrefix(),
    }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('option `redis`');
  });

  it('spreads the due index partitions over more than one master', async () => {
    const keyPrefix = freshPrefix();
    const { app, cluster } = await clusterApp('api', { keyPrefix, worker: false });
    const tenants = Array.from({ length: 24 }, (_, i) => `tenant${i}`);
    await app.scheduler.upsertMany(
      tenants.map((tenantId) => ({
        tenantId,
        id: 'nightly',
        cron: '0 3 * * *',
        handler: 'record',
      })),
    );

    const byMaster = await keysByMaster(cluster, keyPrefix);
    const dueKeys = [...byMaster.values()].flat().filter((k) => k.includes(':due:'));
    // Every partition holds due entries: one due index per partition for the 'record' handler.
    expect(dueKeys.sort()).toEqual(
      new KeySpace(keyPrefix, PARTITIONS).partitionBases
        .map((base) => `${base}due:h:record`)
        .sort(),
    );
    const mastersWithDue = [...byMaster].filter(([, keys]) =>
      keys.some((k) => k.includes(':due:')),
    );
    expect(mastersWithDue.length).toBeGreaterThanOrEqual(2);

    // Each key lives on the master serving its slot, and every key of a partition (due index,
    // schedule hashes, tenant sets) sits on the same master as that partition's due index.
    const owner = await slotOwners(redis.node(0));
    const masterOfTag = new Map<string, string>();
    for (const [address, keys] of byMaster) {
      for (const key of keys) {
        const slot = (await cluster.cluster('KEYSLOT', key)) as number;
        expect(owner(slot)).toBe(address);
        if (key === `${keyPrefix}:meta`) continue; // checked below
        const tag = tagOf(key);
        expect(tag).toMatch(/^p\d+(\.\d+)?$|^pods$/);
        expect(masterOfTag.get(tag) ?? address).toBe(address);
        masterOfTag.set(tag, address);
      }
    }
    expect(new Set(masterOfTag.values()).size).toBeGreaterThanOrEqual(2);
    // Keys that scripts touch all carry a partition's tag; the meta key (no script touches it) has none.
    const untagged = [...byMaster.values()].flat().filter((k) => !k.includes('{'));
    expect(untagged).toContain(`${keyPrefix}:meta`);
    expect(untagged.filter((k) => /:(due|s|tenant|r):|:(fence|dead)$/.test(k))).toEqual([]);
    // And the schedules read back through the cluster.
    for (const tenantId of tenants) {
      expect((await app.scheduler.get(tenantId, 'nightly'))?.cron).toBe('0 3 * * *');
    }
  });

  it('starts every fire time exactly once across 2 apps, each on its own Cluster connection', async () => {
    const keyPrefix = freshPrefix();
    const pods = await Promise.all(
      ['pod0', 'pod1'].map((name) =>
        clusterApp(name, { keyPrefix }, [recordingHandlers(name), everySecondStatic(name)]),
      ),
    );
    const schedules = Array.from({ length: 40 }, (_, i) => ({
      tenantId: `tenant${i % 13}`,
      id: `s${i}`,
      cron: '* * * * * *',
      handler: 'record',
      jitterMs: i % 2 === 0 ? 0 : 800,
    }));
    // Half written by each app.
    await Promise.all(
      pods.map(({ app }, n) =>
        app.scheduler.upsertMany(schedules.filter((_, i) => i % pods.length === n)),
      ),
    );
    const byMaster = await keysByMaster(pods[0].cluster, keyPrefix);
    const dueTags = new Set(
      [...byMaster.values()]
        .flat()
        .filter((k) => k.endsWith(':due:h:record'))
        .map(tagOf),
    );
    expect(dueTags.size).toBe(PARTITIONS); // the schedules use every partition

    // Until every schedule has run the same three fire times in a row, and the static one four.
    await waitFor(
      () => {
        const fires = schedules.map(
          (s) =>
            new Set(
              runs
                .filter((r) => r.scheduleId === s.id && r.tenantId === s.tenantId)
                .map((r) => r.fireTime),
            ),
        );
        if (fires.some((f) => f.size === 0)) return false;
        const first = Math.max(...fires.map((f) => Math.min(...f)));
        return (
          fires.every((f) => [0, 1_000, 2_000].every((d) => f.has(first + d))) &&
          runs.filter((r) => r.scheduleId === 'every-second').length >= 4
        );
      },
      { timeoutMs: 15_000, message: 'three fire times in a row of every schedule' },
    );
    await Promise.all(pods.map(({ app }) => app.close()));

    const count = new Map<string, number>();
    for (const run of runs) {
      const key = `${run.tenantId ?? ''}/${run.scheduleId}@${run.fireTime}`;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    expect([...count].filter(([, n]) => n > 1)).toEqual([]);
    expect(runs.filter((r) => r.attempt !== 1)).toEqual([]);

    // A window in which every schedule was armed and none had been stopped by the close.
    const fires = (id: string, tenantId?: string): number[] =>
      runs.filter((r) => r.scheduleId === id && r.tenantId === tenantId).map((r) => r.fireTime);
    const perSchedule = schedules.map((s) => fires(s.id, s.tenantId));
    expect(perSchedule.every((f) => f.length > 0)).toBe(true);
    const first = Math.max(...perSchedule.map((f) => Math.min(...f)));
    const last = Math.min(...perSchedule.map((f) => Math.max(...f)));
    expect(last - first).toBeGreaterThanOrEqual(2_000);
    const missed: string[] = [];
    for (const s of schedules) {
      for (let t = first; t <= last; t += 1_000) {
        if (count.get(`${s.tenantId}/${s.id}@${t}`) !== 1) missed.push(`${s.id}@${t}`);
      }
    }
    expect(missed).toEqual([]);

    // Both apps did work.
    const byApp = new Map<string, number>();
    for (const run of runs) byApp.set(run.app, (byApp.get(run.app) ?? 0) + 1);
    expect([...byApp.keys()].sort()).toEqual(['pod0', 'pod1']);

    // The static schedule declared by both ran once per second, without a gap.
    const statics = runs
      .filter((r) => r.scheduleId === 'every-second')
      .map((r) => r.fireTime)
      .sort((a, b) => a - b);
    expect(new Set(statics).size).toBe(statics.length);
    expect(statics.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < statics.length; i++) expect(statics[i] - statics[i - 1]).toBe(1_000);
  });

  it('wakes a worker through pub/sub whichever master the schedule lands on', async () => {
    const keyPrefix = freshPrefix();
    // Only the dynamic handler: nothing else would wake this worker before its long idle sleep.
    await clusterApp('worker', { keyPrefix, maxIdleMs: 60_000 });
    const { app: api, cluster } = await clusterApp('api', { keyPrefix, worker: false });
    // Lets the worker end its boot-time claims and go idle: from then on only a wake-up can make
    // it claim. No outside sign tells that it is idle, so this is a plain pause.
    await sleep(1_500);
    const tenants = Array.from({ length: 12 }, (_, i) => `tenant${i}`);
    const stored = await api.scheduler.upsertMany(
      tenants.map((tenantId) => ({ tenantId, id: 'soon', cron: '* * * * * *', handler: 'record' })),
    );
    // The writes, and so their PUBLISH, happened on every master, not only the subscriber's.
    const byMaster = await keysByMaster(cluster, keyPrefix);
    expect(
      [...byMaster.values()].filter((keys) => keys.some((k) => k.includes(':due:'))),
    ).toHaveLength(3);
    await waitFor(() => tenants.every((t) => runs.some((r) => r.tenantId === t)), {
      timeoutMs: 5_000,
      message: 'every schedule ran: the worker was woken for each partition',
    });
    for (const [i, tenantId] of tenants.entries()) {
      const run = runs.find((r) => r.tenantId === tenantId)!;
      expect(run.app).toBe('worker');
      expect(run.fireTime).toBe(stored[i].nextFireAt!.getTime());
      expect(run.startedAt - run.fireTime).toBeLessThan(500);
    }
  });
});
