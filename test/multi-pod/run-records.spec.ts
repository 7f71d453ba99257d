import type { Redis } from 'ioredis';
import { recordingHandlers } from '../fixtures/recorder';
import { createApp, freshPrefix, type TestApp } from '../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { PodFleet } from './pods';

/*
 * Detached run records (overlap 'allow') of removed schedules (issue #14 item 7): pods SIGKILLed
 * with runs in flight, then every schedule removed, used to leave each run's record hash and due
 * entry in Redis, with no TTL, until a later claim on that handler's due index.
 */

const TENANT = 'acme';

let server: RedisServerHandle;
let client: Redis;
let prefix: string;
let fleet: PodFleet;
const apps: TestApp[] = [];

beforeEach(async () => {
  server = await startRedisServer();
  client = server.client();
  prefix = freshPrefix();
  fleet = new PodFleet(server.url, prefix);
});

afterEach(async () => {
  await fleet.stopAll();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await server.stop();
});

/** An app that manages schedules and runs none (worker: false). */
async function managerApp(): Promise<TestApp> {
  const app = await createApp(
    {
      redis: server.url,
      keyPrefix: prefix,
      worker: false,
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    },
    [recordingHandlers('manager')],
  );
  apps.push(app);
  return app;
}

/** Every-second schedules whose runs last `steps` × 50 ms and overlap (overlap 'allow'). */
async function upsertOverlapping(ids: string[], steps: number): Promise<TestApp> {
  const app = await managerApp();
  for (const id of ids) {
    await app.scheduler.upsert({
      tenantId: TENANT,
      id,
      cron: '* * * * * *',
      handler: 'record',
      payload: { steps },
      overlap: 'allow',
    });
  }
  return app;
}

async function keysUnderPrefix(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/** Every member of every due index under the prefix. */
async function dueMembers(keys: string[]): Promise<string[]> {
  const indexes = keys.filter((key) => /^[^{]*\{[^}]+\}:due:/.test(key));
  const members = await Promise.all(indexes.map((key) => client.zrange(key, '0', '-1')));
  return members.flat().sort();
}

const isRunRecord = (key: string): boolean => /:r:\d+$/.test(key);

/**
 * Keys that belong to no dynamic schedule: the meta hash, a partition's counters and dead
 * letters, the pod registries, and the pods' own static schedule ('pod-static').
 */
function isPrefixLevel(key: string): boolean {
  const rest = key.slice(prefix.length);
  return /^:(meta|\{p\d+\}:(fence|ep|dead)|\{pods\}:.+|\{p\d+\}:(s|due|rh):c:pod-static)$/.test(
    rest,
  );
}

describe('remove() after every pod was SIGKILLed with detached runs in flight', () => {
  it('leaves no run record hash, due entry or run set of the removed schedules', async () => {
    const ids = ['a', 'b', 'c'];
    // Lease well beyond the test: nothing in Redis expires or is re-claimed by itself.
    await Promise.all(['p1', 'p2'].map((name) => fleet.start(name, { LEASE_MS: '60000' })));
    // 100 steps of 50 ms: each run lasts 5 s, so about five runs of each schedule overlap.
    await upsertOverlapping(ids, 100);
    await waitFor(
      () =>
        ids.every((id) => {
          const started = fleet.starts((e) => e.scheduleId === id).length;
          return started - fleet.ends((e) => e.scheduleId === id).length >= 2;
        }),
      { timeoutMs: 20_000, message: 'two overlapping runs of every schedule' },
    );
    for (const pod of fleet.pods) pod.signal('SIGKILL');
    await waitFor(() => fleet.pods.every((p) => p.child.signalCode !== null), {
      message: 'the pods to die',
    });
    const records = (await keysUnderPrefix()).filter(isRunRecord);
    // The shape of the issue: run records of every schedule are left by the killed pods.
    for (const id of ids) {
      expect(records.filter((k) => k.includes(`:t:${TENANT}:${id}:r:`)).length).toBeGreaterThan(1);
    }

    const fresh = await managerApp();
    for (const id of ids) expect(await fresh.scheduler.remove(TENANT, id)).toBe(true);

    const keys = await keysUnderPrefix();
    expect(keys.filter(isRunRecord)).toEqual([]);
    expect(keys.filter((k) => k.includes('}:runs:'))).toEqual([]);
    expect(keys.filter((k) => k.includes(TENANT))).toEqual([]);
    expect((await dueMembers(keys)).filter((m) => m.startsWith(`t:${TENANT}:`))).toEqual([]);
    expect(keys.filter((k) => !isPrefixLevel(k))).toEqual([]);
  });
});

describe('a detached run whose schedule is removed while it runs', () => {
  it('sees its lease lost at the next renewal, records nothing and leaves no key', async () => {
    const leaseMs = 1_000;
    await fleet.start('p1', { LEASE_MS: String(leaseMs) });
    // 200 steps of 50 ms: 10 s, unless its signal aborts.
    const manager = await upsertOverlapping(['long'], 200);
    const first = await waitFor(() => fleet.starts((e) => e.scheduleId === 'long')[0], {
      timeoutMs: 10_000,
      message: 'a run of the schedule',
    });
    const removedAt = Date.now();
    expect(await manager.scheduler.remove(TENANT, 'long')).toBe(true);

    const end = await waitFor(
      () => fleet.ends((e) => e.fencingToken === first.fencingToken && e.scheduleId === 'long')[0],
      { timeoutMs: 5_000, message: 'the removed run to end' },
    );
    expect(end.aborted).toBe(true);
    // A renewal comes every leaseMs / 4 for a lease under half left: lost within about a lease.
    expect(end.realMs - removedAt).toBeLessThan(leaseMs * 2);
    expect(
      fleet.warnings('p1').some((w) => /lost its lease \(taken over or removed\)/.test(w)),
    ).toBe(true);
    // Every run of it that had started ends; none records a completion.
    await waitFor(
      () =>
        fleet.starts((e) => e.scheduleId === 'long').length ===
        fleet.ends((e) => e.scheduleId === 'long').length,
      { timeoutMs: 5_000, message: 'every run of the removed schedule to end' },
    );
    expect(await manager.scheduler.get(TENANT, 'long')).toBeNull();
    const keys = await keysUnderPrefix();
    expect(keys.filter((k) => !isPrefixLevel(k))).toEqual([]);
    expect((await dueMembers(keys)).filter((m) => m.startsWith(`t:${TENANT}:`))).toEqual([]);
  });
});
