import type { TestApp } from '../support/create-app';
import type { RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { everyFireTimeStarted, percentile, FleetSetup, PodFleet, startFleet } from './pods';

const SCHEDULES = 30;

let server: RedisServerHandle;
let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeAll(async () => {
  setup = await startFleet();
  ({ server, api, fleet } = setup);
});
afterAll(() => setup.stop());

describe('pods whose clocks are off by ±10 s', () => {
  it('change neither timing nor counts', async () => {
    await fleet.start('true');
    await fleet.start('ahead', { SKEW_MS: '10000' });
    await fleet.start('behind', { SKEW_MS: '-10000' });
    for (let i = 0; i < SCHEDULES; i++) {
      // Jitter spreads due times over the second, so every pod wins some claims.
      await api.scheduler.upsert({
        tenantId: `t${i % 5}`,
        id: `s${i}`,
        cron: '* * * * * *',
        handler: 'record',
        jitterMs: 900,
      });
    }
    const [seconds] = await server.client().time();
    const windowStart = (Number(seconds) + 2) * 1000;
    const windowEnd = windowStart + 5_000;
    await waitFor(() => everyFireTimeStarted(fleet, SCHEDULES, windowStart, windowEnd), {
      timeoutMs: windowEnd - Date.now() + 5_000,
      message: 'every fire time of the window to start',
    });
    await fleet.stopAll();

    const starts = fleet.starts(
      (e) => e.tenantId !== undefined && e.fireTime >= windowStart && e.fireTime < windowEnd,
    );
    const keys = starts.map((e) => `${e.scheduleId}@${e.fireTime}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(SCHEDULES * 5);
    for (const pod of ['true', 'ahead', 'behind']) {
      const mine = starts.filter((e) => e.pod === pod);
      expect(mine.length).toBeGreaterThan(0);
      const lateness = mine.map((e) => e.realMs - e.dueTime);
      process.stdout.write(
        `clock-skew pod ${pod}: ${mine.length} runs, lateness p50 ${percentile(lateness, 50).toFixed(0)} ms, p99 ${percentile(lateness, 99).toFixed(0)} ms\n`,
      );
      expect(Math.min(...lateness)).toBeGreaterThanOrEqual(-5);
      expect(percentile(lateness, 99)).toBeLessThan(500);
    }
  });
});
