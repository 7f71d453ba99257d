import { Logger } from '@nestjs/common';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { behaviour, recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { sleep, waitFor } from '../support/wait-for';

let server: RedisServerHandle;
beforeAll(async () => (server = await startRedisServer({ appendonly: true })));
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

async function pods(prefix: string): Promise<TestApp[]> {
  return Promise.all(
    [0, 1].map((i) =>
      createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open, leaseMs: 4_000 }, [
        recordingHandlers(`p${i}`),
      ]),
    ),
  );
}

/** Fire times of `id` that started more than once, and the gaps in [from, to]. */
function audit(id: string, from: number, to: number): { duplicates: number; missing: number[] } {
  const fires = runs.filter((r) => r.scheduleId === id).map((r) => r.fireTime);
  const missing: number[] = [];
  for (let t = from; t <= to; t += 1_000) if (!fires.includes(t)) missing.push(t);
  return { duplicates: fires.length - new Set(fires).size, missing };
}

describe('Redis stopped for 10 s, then restarted with AOF', () => {
  it('pods survive, log once per outage, find their schedules intact, catch up per misfire policy, no duplicates', async () => {
    const warnings: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const apps = await pods(freshPrefix());
    try {
      for (let i = 0; i < 4; i++) {
        await apps[0].scheduler.upsert({
          tenantId: `t${i}`,
          id: `all${i}`,
          cron: '* * * * * *',
          handler: 'record',
          misfire: 'runAll',
          maxCatchUp: 30,
        });
      }
      await apps[0].scheduler.upsert({
        tenantId: 'once',
        id: 'once',
        cron: '* * * * * *',
        handler: 'record',
      });
      await waitFor(() => runs.filter((r) => r.scheduleId === 'all0').length >= 2);
      const before = Math.max(
        ...runs.filter((r) => r.scheduleId === 'all0').map((r) => r.fireTime),
      );

      await server.restart({ downMs: 10_000 });
      const back = Date.now();

      // Every missed fire time of the runAll schedules runs once, oldest first.
      await waitFor(() => runs.some((r) => r.scheduleId === 'all0' && r.fireTime >= back + 2_000), {
        timeoutMs: 30_000,
        message: 'no runs after Redis came back',
      });
      const upTo = Math.floor(back / 1000) * 1000;
      await waitFor(
        () => [0, 1, 2, 3].every((i) => audit(`all${i}`, before, upTo).missing.length === 0),
        { timeoutMs: 10_000, message: 'every missed fire time of the runAll schedules to run' },
      );
      for (let i = 0; i < 4; i++)
        expect(audit(`all${i}`, before, upTo)).toEqual({ duplicates: 0, missing: [] });

      // runOnce: the outage's fire times were counted as skipped, not run.
      const once = await apps[1].scheduler.get('once', 'once');
      expect(once).toMatchObject({ enabled: true, cron: '* * * * * *' });
      expect(once!.skippedFires).toBeGreaterThanOrEqual(7);
      expect(audit('once', before, before).duplicates).toBe(0);

      // One "cannot claim" line per pod for the whole outage, not one per retry.
      // One warning per pod for the whole outage (the module's connection), not one per retry.
      const connectionWarnings = warnings.filter((w) => w.startsWith('Redis connection error'));
      expect(connectionWarnings).toHaveLength(2);
      expect(
        warnings.filter((w) => w.startsWith('Cannot claim due runs')).length,
      ).toBeLessThanOrEqual(2);
    } finally {
      spy.mockRestore();
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});

describe('a Redis that answers slowly', () => {
  it('never crashes a pod nor runs a fire time twice', async () => {
    const apps = await pods(freshPrefix());
    try {
      for (let i = 0; i < 10; i++) {
        await apps[i % 2].scheduler.upsert({
          tenantId: `t${i}`,
          id: `s${i}`,
          cron: '* * * * * *',
          handler: 'record',
          misfire: 'runAll',
        });
      }
      await waitFor(() => runs.length >= 10);
      const start = Date.now();
      // The fault: for 6 s, Redis answers nothing for 250 ms out of every 400 ms.
      while (Date.now() - start < 6_000) {
        server.pause();
        await sleep(250);
        server.resume();
        await sleep(150);
      }
      const calmFrom = Date.now();
      await waitFor(() => runs.filter((r) => r.startedAt > calmFrom + 1_500).length >= 10, {
        timeoutMs: 20_000,
      });
      const keys = runs.map((r) => `${r.scheduleId}@${r.fireTime}`);
      expect(keys.length - new Set(keys).size).toBe(0);
      const first = Math.max(
        ...Array.from({ length: 10 }, (_, i) =>
          Math.min(...runs.filter((r) => r.scheduleId === `s${i}`).map((r) => r.fireTime)),
        ),
      );
      for (let i = 0; i < 10; i++)
        expect(audit(`s${i}`, first, Math.floor(calmFrom / 1000) * 1000).missing).toEqual([]);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});

describe('a completion that Redis refuses at first', () => {
  it('is written again until Redis takes it, within the lease: the run is not re-run and the schedule goes on', async () => {
    const admin = server.client();
    const app = await createApp(
      { redis: server.url, keyPrefix: freshPrefix(), tenantGuards: open, leaseMs: 30_000 },
      [recordingHandlers('p0')],
    );
    try {
      await app.scheduler.upsert({
        tenantId: 't',
        id: 'slow',
        cron: '* * * * * *',
        handler: 'record',
      });
      await waitFor(() => runs.length >= 1);
      behaviour.delayMs = 1_500;
      const before = runs.length;
      await waitFor(() => runs.length > before);
      const held = runs[runs.length - 1];
      // Every write fails (OOM) from now until well after that run's handler is done.
      await admin.config('SET', 'maxmemory', '1');
      await sleep(3_000); // the fault: 3 s, well past the end of that run's handler (1.5 s)
      await admin.config('SET', 'maxmemory', '0');

      // Written once Redis takes writes again: the schedule is free long before the lease (30 s
      // from the claim) would have freed it, and that fire time never ran again.
      behaviour.delayMs = 0;
      await waitFor(() => runs.some((r) => r.fireTime > held.fireTime), {
        timeoutMs: 8_000,
        message: 'the schedule stayed held: the refused completion was not written again',
      });
      expect(runs.filter((r) => r.fireTime === held.fireTime)).toHaveLength(1);
      const schedule = await app.scheduler.get('t', 'slow');
      expect(schedule!.lastStatus).toBe('succeeded');
      expect(schedule!.lastFireAt!.getTime()).toBeGreaterThanOrEqual(held.fireTime);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await app.close();
    }
  });
});
