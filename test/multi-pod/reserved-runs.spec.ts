import { RedisConnection } from '../../lib/redis/redis-client.provider';
import { redisNow } from '../support/redis-time';
import { waitFor } from '../support/wait-for';
import { FleetSetup, startFleet } from './pods';

/*
 * A pod killed while it holds reservations (first attempts claimed ahead of their due time) must
 * not delay them for a whole lease: a reservation has its own short lease (5 s from its due time,
 * see reservationLeaseMs), so another pod runs those fire times a few seconds after they are due,
 * as attempt 2, exactly once. The pods use the default 30 s lease.
 */

let setup: FleetSetup;
beforeEach(async () => (setup = await startFleet()));
afterEach(() => setup.stop());

it('another pod runs the fire times a killed pod had reserved within seconds of their due time', async () => {
  const { api, fleet, server } = setup;
  const client = server.client();
  const ids = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const victim = await fleet.start('victim');
  // Every 4 s: the victim reserves each next fire time up to 1 s (lookAheadMs) before it is due.
  await api.scheduler.upsertMany(
    ids.map((id) => ({ tenantId: 'acme', id, cron: '*/4 * * * * *', handler: 'record' })),
  );
  await waitFor(() => fleet.starts((e) => e.pod === 'victim').length >= ids.length, {
    message: 'the victim to run every schedule once',
  });
  // Until it holds a reservation of every schedule: a run state for a fire time not yet due.
  const keys = api.module.get(RedisConnection).keys;
  const hashOf = (id: string) => keys.dynamicSchedule('acme', id).hash;
  const reserved = await waitFor(
    async () => {
      const now = await redisNow(client);
      const states = await Promise.all(ids.map((id) => client.hget(hashOf(id), 'r')));
      const fires = states.map((r) => Number(r?.split(':')[0]));
      return fires.every((fire) => fire > now && fire - now < 1_000) ? fires : null;
    },
    { timeoutMs: 10_000, message: 'the victim to reserve every schedule ahead' },
  );
  victim.signal('SIGKILL');
  await fleet.start('survivor');
  const fire = reserved[0];
  const reruns = await waitFor(
    () => {
      const starts = fleet.starts(
        (e) => e.pod === 'survivor' && e.fireTime === fire && e.tenantId === 'acme',
      );
      return starts.length === ids.length ? starts : null;
    },
    { timeoutMs: 15_000, message: 'the survivor to run the reserved fire time of every schedule' },
  );
  for (const run of reruns) {
    expect(run.attempt).toBe(2);
    // The reservation's 5 s lease from its due time, plus a claim round and a start.
    expect(run.realMs - run.fireTime).toBeLessThan(7_500);
  }
  // Exactly once: the victim never started that fire time, the survivor once per schedule.
  expect(fleet.starts((e) => e.fireTime === fire && e.tenantId === 'acme')).toHaveLength(
    ids.length,
  );
});
