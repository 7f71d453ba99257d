import type { RedisServerHandle } from '../support/redis-server';
import { redisNow } from '../support/redis-time';
import { waitFor } from '../support/wait-for';
import { FleetSetup, PodFleet, startFleet } from './pods';
import type { TestApp } from '../support/create-app';

/*
 * pauseTenant is a kill switch across pod processes: once it resolves, no pod starts a run of the
 * tenant (their reservations ahead included), another tenant's schedules keep running on every
 * pod, and resumeTenant brings the tenant back on them.
 */

const SCHEDULES = 12;

let server: RedisServerHandle;
let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeAll(async () => {
  setup = await startFleet();
  ({ server, api, fleet } = setup);
});
afterAll(() => setup.stop());

/** A negative observation: nothing may happen during `ms` (a window, not a synchronisation). */
const observe = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('pauseTenant stops the tenant on every pod; other tenants run on; resumeTenant restarts it', async () => {
  await Promise.all(['a', 'b', 'c'].map((name) => fleet.start(name)));
  for (let i = 0; i < SCHEDULES; i++) {
    for (const tenantId of ['acme', 'other']) {
      await api.scheduler.upsert({ tenantId, id: `s${i}`, cron: '* * * * * *', handler: 'record' });
    }
  }
  const acme = () => fleet.starts((e) => e.tenantId === 'acme');
  const other = () => fleet.starts((e) => e.tenantId === 'other');
  await waitFor(
    () => new Set(acme().map((e) => e.pod)).size === 3 && acme().length >= 3 * SCHEDULES,
    {
      timeoutMs: 20_000,
      message: 'acme to run on all three pods',
    },
  );

  expect(await api.scheduler.pauseTenant('acme')).toBe(SCHEDULES);
  const resolvedAt = Date.now();
  const pausedAt = await redisNow(server.client());
  const otherBefore = other().length;

  await observe(4_000);
  // No fire time after the pause started anywhere (reservations ahead included), and no start
  // later than a run confirmed just before the pause could take to begin.
  expect(acme().filter((e) => e.dueTime > pausedAt)).toEqual([]);
  expect(acme().filter((e) => e.realMs > resolvedAt + 500)).toEqual([]);
  const otherDuring = other().slice(otherBefore);
  expect(otherDuring.length).toBeGreaterThanOrEqual(2 * SCHEDULES);
  expect(new Set(otherDuring.map((e) => e.pod)).size).toBeGreaterThan(1);

  const resumedAt = await redisNow(server.client());
  expect(await api.scheduler.resumeTenant('acme')).toBe(SCHEDULES);
  await waitFor(
    () =>
      new Set(
        acme()
          .filter((e) => e.fireTime > resumedAt)
          .map((e) => e.scheduleId),
      ).size === SCHEDULES,
    { timeoutMs: 15_000, message: 'every acme schedule to run again' },
  );
  // Exactly once throughout.
  const keys = fleet
    .starts()
    .map((e) => `${e.tenantId}/${e.scheduleId}@${e.fireTime}:${e.attempt}`);
  expect(new Set(keys).size).toBe(keys.length);
});
