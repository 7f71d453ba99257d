import { join } from 'node:path';
import type { ScheduleInput } from '../../lib';
import type { TestApp } from '../support/create-app';
import type { RedisServerHandle } from '../support/redis-server';
import { sleep, waitFor } from '../support/wait-for';
import { FleetSetup, Pod, PodFleet, startFleet } from '../multi-pod/pods';
import type { ChaosEvent } from './chaos-pod';

/**
 * Chaos: 3 pod processes run 200 schedules firing every second, 40 intervals (every 1.3 s) and 60
 * one-off tasks spread over the chaos, while the test SIGKILLs pods, freezes them past and within
 * their lease, and restarts Redis. Afterwards, Redis's own run history (written by the script that
 * records each run) must show, for every fire time of the window (and every one-off), exactly one
 * successful completion, by the latest run started for it. Meanwhile the API app triggers extra
 * runs of other schedules (whose series never fires during the test): each trigger it saw accepted
 * must show exactly one successful completion too.
 */
const SCHEDULES = 200;
const INTERVALS = 40;
const EVERY_MS = 1_300;
const ONE_OFFS = 60;
const TRIGGERED = 20;
/** How often the API app triggers one of the TRIGGERED schedules, round robin. */
const TRIGGER_EVERY_MS = 250;
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 45_000);
const CALM_MS = 10_000;

type Start = Extract<ChaosEvent, { type: 'start' }>;

let server: RedisServerHandle;
let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;

beforeAll(async () => {
  setup = await startFleet(join(__dirname, 'chaos-pod.ts'));
  ({ server, api, fleet } = setup);
});
afterAll(() => setup.stop());

const schedule = (i: number): ScheduleInput => ({
  tenantId: `tenant${i % 20}`,
  id: `s${i}`,
  cron: '* * * * * *',
  handler: 'chaos',
  overlap: 'allow',
  misfire: 'runAll',
  maxCatchUp: 120,
  retry: { attempts: 3, backoff: 'fixed', delayMs: 200, jitter: false },
});

const interval = (i: number): ScheduleInput => ({
  ...schedule(i),
  cron: undefined,
  id: `i${i}`,
  every: `${EVERY_MS}ms`,
});

const oneOff = (j: number, at: number): ScheduleInput => ({
  ...schedule(j),
  cron: undefined,
  id: `o${j}`,
  at: new Date(at),
});

/**
 * A schedule only triggers run: it fires on January 1st. Every other one has overlap 'skip', so
 * a trigger is refused while its previous one has not ended.
 */
const triggered = (i: number): ScheduleInput => ({
  ...schedule(i),
  id: `tr${i}`,
  cron: '0 0 1 1 *',
  overlap: i % 2 === 0 ? 'allow' : 'skip',
});

/**
 * Triggers the TRIGGERED schedules round robin until `stop()`: the accepted triggers (schedule id,
 * fire ms), and how many calls failed (Redis restarting: not known to be accepted).
 */
function triggerLoop(api: TestApp) {
  const accepted: { tenantId: string; id: string; fireMs: number }[] = [];
  let failed = 0;
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const { tenantId, id } = triggered(n % TRIGGERED);
      try {
        const result = await api.scheduler.trigger(tenantId, id);
        if (result?.triggered) accepted.push({ tenantId, id, fireMs: result.fireTime.getTime() });
      } catch {
        failed++;
      }
      await sleep(TRIGGER_EVERY_MS); // the pace of the triggers, not a synchronisation
    }
  })();
  return {
    accepted,
    failed: () => failed,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

describe('chaos', () => {
  it('keeps exactly one successful completion per fire time through kills, freezes and Redis restarts', async () => {
    await api.scheduler.upsertMany(Array.from({ length: SCHEDULES }, (_, i) => schedule(i)));
    await api.scheduler.upsertMany(Array.from({ length: TRIGGERED }, (_, i) => triggered(i)));
    let podCount = 0;
    const live = new Set<Pod>();
    const startPod = async (): Promise<void> => {
      live.add(await fleet.start(`pod${++podCount}`));
    };
    await Promise.all([startPod(), startPod(), startPod()]);
    await waitFor(
      () =>
        [...live].every((p) => fleet.events.some((e) => e.type === 'start' && e.pod === p.name)),
      { timeoutMs: 20_000, message: 'every pod to start a run' },
    );

    const [seconds] = await server.client().time();
    const windowStart = (Number(seconds) + 1) * 1000;
    await api.scheduler.upsertMany(Array.from({ length: INTERVALS }, (_, i) => interval(i)));
    const atOf = (j: number): number =>
      windowStart + Math.floor((j * (CHAOS_MS - 2_000)) / ONE_OFFS);
    await api.scheduler.upsertMany(Array.from({ length: ONE_OFFS }, (_, j) => oneOff(j, atOf(j))));
    const anchors = new Map<string, number>();
    for (let i = 0; i < INTERVALS; i++) {
      const [hashKey] = await server.client().keys(`*:s:t:${interval(i).tenantId}:i${i}`);
      const timing = (await server.client().hget(hashKey, 't')) ?? '';
      anchors.set(`i${i}`, Number(/^@every:\d+:(\d+)\|/.exec(timing)?.[1]));
    }
    const actions: string[] = [];
    const triggers = triggerLoop(api);
    const chaosEnd = Date.now() + CHAOS_MS;
    while (Date.now() < chaosEnd) {
      await sleep(3_000 + Math.random() * 2_000); // the chaos: a fault every 3 to 5 s
      const victim = pick([...live]);
      const action = pick(['kill', 'freeze-long', 'freeze-short', 'restart-redis']);
      actions.push(action);
      if (action === 'kill') {
        victim.signal('SIGKILL');
        live.delete(victim);
        await startPod();
      } else if (action === 'freeze-long' || action === 'freeze-short') {
        victim.signal('SIGSTOP');
        await sleep(action === 'freeze-long' ? 3_500 : 800); // the fault: past or within the lease
        victim.signal('SIGCONT');
      } else {
        await server.restart();
      }
    }
    // The calm: leases of killed and frozen pods run out and their fire times are re-run; the
    // audit window ends 4 s before its end.
    await triggers.stop();
    await sleep(CALM_MS);
    const [endSeconds] = await server.client().time();
    const windowEnd = (Number(endSeconds) - 4) * 1000;
    await fleet.stopAll();

    const starts = new Map<string, Start[]>();
    for (const e of fleet.events as ChaosEvent[]) {
      if (e.type !== 'start') continue;
      const key = `${e.tenantId}/${e.scheduleId}@${e.fireTime}`;
      starts.set(key, [...(starts.get(key) ?? []), e]);
    }
    const rejected = (fleet.events as ChaosEvent[]).filter((e) => e.type === 'rejected').length;

    let fires = 0;
    let completions = 0;
    let duplicates = 0;
    let lost = 0;
    let recovered = 0;
    let staleCounted = 0;
    let unfenced = 0;
    // Every fire time of the window: whole seconds of the crons, anchor + k × every of the
    // intervals, and each one-off's one time.
    const audited: { tenantId: string; id: string; times: number[] }[] = [];
    const within = (from: number, step: number): number[] => {
      const times: number[] = [];
      for (let t = from; t <= windowEnd; t += step) times.push(t);
      return times;
    };
    for (let i = 0; i < SCHEDULES; i++) {
      const { tenantId, id } = schedule(i);
      audited.push({ tenantId, id, times: within(windowStart, 1_000) });
    }
    for (let i = 0; i < INTERVALS; i++) {
      const anchor = anchors.get(`i${i}`) ?? NaN;
      // Its first fire time is anchor + every; the anchor may fall after windowStart on a slow
      // machine (the upsert is made after windowStart is read).
      const first = Math.max(
        anchor + EVERY_MS,
        anchor + Math.ceil((windowStart - anchor) / EVERY_MS) * EVERY_MS,
      );
      audited.push({ tenantId: interval(i).tenantId, id: `i${i}`, times: within(first, EVERY_MS) });
    }
    for (let j = 0; j < ONE_OFFS; j++) {
      audited.push({ tenantId: schedule(j).tenantId, id: `o${j}`, times: [atOf(j)] });
    }
    let intervalFires = 0;
    const oneOffStates: string[] = [];
    for (const { tenantId, id, times } of audited) {
      const history = await api.scheduler.history(tenantId, id);
      if (id.startsWith('i')) intervalFires += times.length;
      if (id.startsWith('o')) {
        const state = (await api.scheduler.get(tenantId, id))?.state ?? 'deleted';
        if (state !== 'finished') oneOffStates.push(`${id}: ${state}`);
      }
      for (const t of times) {
        fires++;
        const records = history.filter((h) => h.fireTime.getTime() === t);
        const successes = records.filter((h) => h.status === 'succeeded');
        completions += successes.length;
        if (successes.length === 0) lost++;
        if (successes.length > 1) duplicates += successes.length - 1;
        if (successes.length !== 1) continue;
        const winner = successes[0];
        const started = starts.get(`${tenantId}/${id}@${t}`) ?? [];
        if (started.some((s) => s.fencingToken > winner.fencingToken)) staleCounted++;
        if (winner.attempt > 1) {
          recovered++;
          const earlier = [
            ...started.filter((s) => s.attempt < winner.attempt),
            ...records.filter((h) => h.attempt < winner.attempt),
          ];
          if (earlier.some((e) => e.fencingToken >= winner.fencingToken)) unfenced++;
        }
      }
    }
    // Triggered runs: one success per accepted trigger; none of any trigger twice.
    let triggerDuplicates = 0;
    let triggerLost = 0;
    let triggerRuns = 0;
    for (let i = 0; i < TRIGGERED; i++) {
      const { tenantId, id } = triggered(i);
      const successes = (await api.scheduler.history(tenantId, id)).filter(
        (h) => h.status === 'succeeded',
      );
      triggerRuns += successes.length;
      const perFire = new Map<number, number>();
      for (const h of successes) {
        perFire.set(h.fireTime.getTime(), (perFire.get(h.fireTime.getTime()) ?? 0) + 1);
      }
      for (const c of perFire.values()) if (c > 1) triggerDuplicates += c - 1;
      for (const a of triggers.accepted) {
        if (a.id === id && !perFire.has(a.fireMs)) triggerLost++;
      }
    }
    process.stdout.write(
      `chaos triggers: ${triggers.accepted.length} accepted, ${triggers.failed()} calls failed during faults, ` +
        `${triggerRuns} triggered runs succeeded, ${triggerDuplicates} duplicates, ${triggerLost} lost\n`,
    );
    expect(triggers.accepted.length).toBeGreaterThan(0);
    expect(triggerDuplicates).toBe(0);
    expect(triggerLost).toBe(0);
    process.stdout.write(
      `chaos: ${fires} fires (${intervalFires} of intervals, ${ONE_OFFS} one-offs), ${completions} completions, ${duplicates} duplicates, ${lost} lost, ${recovered} recovered ` +
        `(attempt > 1), ${rejected} late completions rejected, ${staleCounted} stale runs counted, ${unfenced} retries without a larger fencing token; ` +
        `actions: ${actions.join(',')}\n`,
    );
    expect(fires - intervalFires - ONE_OFFS).toBe(
      SCHEDULES * ((windowEnd - windowStart) / 1000 + 1),
    );
    expect(intervalFires).toBeGreaterThanOrEqual(
      INTERVALS * Math.floor((windowEnd - windowStart) / EVERY_MS),
    );
    expect(oneOffStates).toEqual([]);
    expect(duplicates).toBe(0);
    expect(lost).toBe(0);
    expect(completions).toBe(fires);
    expect(staleCounted).toBe(0);
    expect(unfenced).toBe(0);
    expect(recovered).toBeGreaterThan(0);
  });
});
