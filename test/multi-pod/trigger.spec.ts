import type { TestApp } from '../support/create-app';
import { sleep, waitFor } from '../support/wait-for';
import { FleetSetup, PodFleet, startFleet } from './pods';

/*
 * Triggers against pod processes: each accepted trigger starts exactly once across the pods, and
 * a triggered run whose pod is killed is re-run by another pod (attempt 2, larger fencing token).
 */

const LEASE_MS = 2_000;

let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeEach(async () => {
  setup = await startFleet();
  ({ api, fleet } = setup);
  // Two slots per pod: no pod can take every trigger, so the pods contend for them.
  await Promise.all(
    ['a', 'b', 'c'].map((name) =>
      fleet.start(name, { LEASE_MS: String(LEASE_MS), CONCURRENCY: '2' }),
    ),
  );
});
afterEach(() => setup.stop());

/** A schedule whose series never fires during a test (January 1st). */
const yearly = (id: string, over: Record<string, unknown> = {}) =>
  api.scheduler.upsert({
    tenantId: 'acme',
    id,
    cron: '0 0 1 1 *',
    handler: 'record',
    overlap: 'allow',
    ...over,
  });

describe('triggers across three pod processes', () => {
  it('start each accepted trigger exactly once', async () => {
    const SCHEDULES = 8;
    const PER_SCHEDULE = 5;
    for (let i = 0; i < SCHEDULES; i++) await yearly(`t${i}`, { payload: { steps: 6 } });
    // Triggers sent concurrently, several per schedule (overlap 'allow': each is accepted).
    const results = await Promise.all(
      Array.from({ length: SCHEDULES * PER_SCHEDULE }, (_, n) =>
        api.scheduler.trigger('acme', `t${n % SCHEDULES}`),
      ),
    );
    const keys = results.map((r) => {
      if (!r?.triggered) throw new Error(`refused: ${JSON.stringify(r)}`);
      return r.idempotencyKey;
    });
    expect(new Set(keys).size).toBe(keys.length);
    await waitFor(() => fleet.ends((e) => e.trigger).length >= keys.length, {
      message: 'every triggered run to end',
    });
    // Negative observation window: no trigger starts a second time.
    await sleep(2_000);
    const starts = fleet.starts((e) => e.tenantId === 'acme');
    const count = new Map<string, number>();
    for (const e of starts) count.set(e.idempotencyKey, (count.get(e.idempotencyKey) ?? 0) + 1);
    const duplicates = [...count.values()].filter((c) => c > 1).length;
    const lost = keys.filter((k) => !count.has(k)).length;
    process.stdout.write(
      `multi-pod triggers: ${keys.length} accepted, ${starts.length} started, ${duplicates} duplicates, ` +
        `${lost} lost, pods ${[...new Set(starts.map((e) => e.pod))].sort().join(',')}\n`,
    );
    expect(duplicates).toBe(0);
    expect(lost).toBe(0);
    expect(starts).toHaveLength(keys.length);
    expect(starts.every((e) => e.trigger && e.attempt === 1)).toBe(true);
    expect(new Set(starts.map((e) => e.pod)).size).toBeGreaterThan(1);
    // The series never moved: still armed for January 1st.
    const schedule = await api.scheduler.get('acme', 't0');
    expect(schedule?.nextFireAt?.getUTCMonth()).toBe(0);
    expect(schedule?.nextFireAt?.getUTCDate()).toBe(1);
  });

  it('re-runs a triggered run whose pod is killed with SIGKILL: attempt 2, same fire time and key, larger fencing token', async () => {
    // 200 steps of 50 ms: the run outlives the lease many times over unless its pod is killed.
    await yearly('long', { overlap: 'skip', payload: { steps: 200 } });
    const result = await api.scheduler.trigger('acme', 'long');
    if (!result?.triggered) throw new Error(`refused: ${JSON.stringify(result)}`);
    const first = await waitFor(() => fleet.starts((e) => e.scheduleId === 'long')[0], {
      message: 'the triggered run never started',
    });
    expect(first).toMatchObject({ trigger: true, attempt: 1 });
    // While it runs, overlap 'skip' refuses another trigger.
    expect(await api.scheduler.trigger('acme', 'long')).toEqual({
      triggered: false,
      reason: 'running',
    });
    const victim = fleet.pods.find((p) => p.name === first.pod)!;
    victim.signal('SIGKILL');
    const rerun = await waitFor(
      () => fleet.starts((e) => e.scheduleId === 'long' && e.attempt === 2)[0],
      { timeoutMs: LEASE_MS * 5, message: 'the killed triggered run was not re-executed' },
    );
    expect(rerun.pod).not.toBe(first.pod);
    expect(rerun.trigger).toBe(true);
    expect(rerun.fireTime).toBe(first.fireTime);
    expect(rerun.idempotencyKey).toBe(result.idempotencyKey);
    expect(rerun.fencingToken).toBeGreaterThan(first.fencingToken);
    await waitFor(() => fleet.ends((e) => e.fencingToken === rerun.fencingToken)[0], {
      timeoutMs: 20_000,
      message: 'the re-run never ended',
    });
    // Exactly one re-run.
    expect(fleet.starts((e) => e.scheduleId === 'long')).toHaveLength(2);
    await waitFor(
      async () => (await api.scheduler.get('acme', 'long'))?.lastStatus === 'succeeded',
    );
  });
});
