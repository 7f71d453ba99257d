import type { TestApp } from '../support/create-app';
import type { RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { everyFireTimeStarted, percentile, FleetSetup, PodFleet, startFleet } from './pods';

const SCHEDULES = 60;

let server: RedisServerHandle;
let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeAll(async () => {
  setup = await startFleet();
  ({ server, api, fleet } = setup);
});
afterAll(() => setup.stop());

describe('three pod processes', () => {
  it('start every fire time of every schedule exactly once', async () => {
    await Promise.all(['a', 'b', 'c'].map((name) => fleet.start(name)));
    for (let i = 0; i < SCHEDULES; i++) {
      await api.scheduler.upsert({
        tenantId: `tenant${i % 9}`,
        id: `s${i}`,
        cron: '* * * * * *',
        handler: 'record',
        jitterMs: i % 3 === 0 ? 300 : 0,
      });
    }
    const [seconds] = await server.client().time();
    const windowStart = (Number(seconds) + 2) * 1000;
    const windowEnd = windowStart + 6_000;
    await waitFor(() => everyFireTimeStarted(fleet, SCHEDULES, windowStart, windowEnd), {
      timeoutMs: windowEnd - Date.now() + 5_000,
      message: 'every fire time of the window to start',
    });
    await fleet.stopAll();

    const starts = fleet.starts((e) => e.tenantId !== undefined);
    const count = new Map<string, number>();
    for (const e of starts)
      count.set(
        `${e.scheduleId}@${e.fireTime}`,
        (count.get(`${e.scheduleId}@${e.fireTime}`) ?? 0) + 1,
      );
    const duplicates = [...count.values()].filter((c) => c > 1).length;
    let misses = 0;
    for (let i = 0; i < SCHEDULES; i++) {
      for (let t = windowStart; t < windowEnd; t += 1_000) if (!count.has(`s${i}@${t}`)) misses++;
    }
    const inWindow = starts.filter((e) => e.fireTime >= windowStart && e.fireTime < windowEnd);
    const lateness = inWindow.map((e) => e.realMs - e.dueTime);
    process.stdout.write(
      `multi-pod exactly-once: ${inWindow.length} runs in window, ${duplicates} duplicates, ${misses} misses, ` +
        `lateness (start − fire time − jitter offset) p50 ${percentile(lateness, 50).toFixed(0)} ms, ` +
        `p99 ${percentile(lateness, 99).toFixed(0)} ms, pods ${[...new Set(inWindow.map((e) => e.pod))].sort().join(',')}\n`,
    );
    expect(duplicates).toBe(0);
    expect(misses).toBe(0);
    expect(inWindow).toHaveLength(SCHEDULES * 6);
    expect(new Set(inWindow.map((e) => e.pod)).size).toBe(3);
    const statics = fleet.starts((e) => e.scheduleId === 'pod-static').map((e) => e.fireTime);
    expect(new Set(statics).size).toBe(statics.length);
  });
});
