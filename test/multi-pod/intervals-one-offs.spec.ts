import type { TestApp } from '../support/create-app';
import type { RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';
import { FleetSetup, PodFleet, startFleet } from './pods';

const INTERVALS = 24;
const ONE_OFFS = 60;
const PERIODS = [700, 900, 1_300];

let server: RedisServerHandle;
let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeAll(async () => {
  setup = await startFleet();
  ({ server, api, fleet } = setup);
});
afterAll(() => setup.stop());

async function redisNow(): Promise<number> {
  const [seconds, micros] = await server.client().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('intervals and one-off tasks on three pod processes', () => {
  it('start every interval fire time (anchor + k × every) and every one-off exactly once', async () => {
    await Promise.all(['a', 'b', 'c'].map((name) => fleet.start(name)));
    const now = await redisNow();
    for (let i = 0; i < INTERVALS; i++) {
      await api.scheduler.upsert({
        tenantId: `tenant${i % 4}`,
        id: `i${i}`,
        every: `${PERIODS[i % PERIODS.length]}ms`,
        handler: 'record',
        jitterMs: i % 2 === 0 ? 200 : 0,
      });
    }
    // One-offs spread over the next 4 s, a few of them already past (run as soon as possible).
    const atOf = (j: number): number => now - 2_000 + j * 100;
    await api.scheduler.upsertMany(
      Array.from({ length: ONE_OFFS }, (_, j) => ({
        tenantId: `tenant${j % 4}`,
        id: `o${j}`,
        at: new Date(atOf(j)),
        handler: 'record',
        jitterMs: j % 3 === 0 ? 150 : 0,
      })),
    );

    // The interval anchors, as stored ('@every:<ms>:<anchor>|UTC|<jitter>').
    const anchors = new Map<string, { anchor: number; every: number }>();
    for (let i = 0; i < INTERVALS; i++) {
      const [hashKey] = await server.client().keys(`*:s:t:tenant${i % 4}:i${i}`);
      const t = await server.client().hget(hashKey, 't');
      const [, every, anchor] = /^@every:(\d+):(\d+)\|/.exec(t ?? '') ?? [];
      anchors.set(`i${i}`, { anchor: Number(anchor), every: Number(every) });
    }
    const windowStart = now + 1_000;
    const windowEnd = windowStart + 5_000;
    const expected: string[] = [];
    for (const [id, { anchor, every }] of anchors) {
      const first = anchor + Math.ceil((windowStart - anchor) / every) * every;
      for (let t = first; t < windowEnd; t += every) expected.push(`${id}@${t}`);
    }
    for (let j = 0; j < ONE_OFFS; j++) expected.push(`o${j}@${atOf(j)}`);

    const started = (): Map<string, number> => {
      const count = new Map<string, number>();
      for (const e of fleet.starts((e) => e.tenantId !== undefined)) {
        const key = `${e.scheduleId}@${e.fireTime}`;
        count.set(key, (count.get(key) ?? 0) + 1);
      }
      return count;
    };
    await waitFor(
      () => {
        const count = started();
        const missing = expected.filter((k) => !count.has(k));
        if (missing.length > 0)
          throw new Error(`${missing.length} not started, e.g. ${missing.slice(0, 5)}`);
        return true;
      },
      { timeoutMs: windowEnd - Date.now() + 15_000, message: 'every expected run to start' },
    );
    // Every one-off is finished (it left its tenant's quota) before the pods stop.
    await waitFor(async () => {
      const states = await Promise.all(
        Array.from({ length: ONE_OFFS }, (_, j) => api.scheduler.get(`tenant${j % 4}`, `o${j}`)),
      );
      return states.every((s) => s?.state === 'finished' && s.lastStatus === 'succeeded');
    });
    await fleet.stopAll();

    const count = started();
    const duplicates = [...count.entries()].filter(([, c]) => c > 1);
    const offLattice = [...count.keys()].filter((key) => {
      const [id, fire] = key.split('@');
      const a = anchors.get(id);
      return a !== undefined && (Number(fire) - a.anchor) % a.every !== 0;
    });
    const oneOffRuns = [...count.keys()].filter((k) => k.startsWith('o'));
    const pods = new Set(fleet.starts((e) => e.tenantId !== undefined).map((e) => e.pod));
    process.stdout.write(
      `multi-pod intervals/one-offs: ${[...count.values()].reduce((a, b) => a + b, 0)} runs, ` +
        `${duplicates.length} duplicates, ${offLattice.length} off the lattice, ` +
        `${oneOffRuns.length}/${ONE_OFFS} one-offs, pods ${[...pods].sort().join(',')}\n`,
    );
    expect(duplicates).toEqual([]);
    expect(offLattice).toEqual([]);
    expect(oneOffRuns.sort()).toEqual(
      Array.from({ length: ONE_OFFS }, (_, j) => `o${j}@${atOf(j)}`).sort(),
    );
    expect(pods.size).toBe(3);
    for (let t = 0; t < 4; t++) {
      const list = await api.scheduler.list(`tenant${t}`);
      expect(list.every((s) => s.id.startsWith('i'))).toBe(true);
    }
  });
});
