import type { TestApp } from '../support/create-app';
import { waitFor } from '../support/wait-for';
import { FleetSetup, PodFleet, startFleet, RunEvent } from './pods';

const LEASE_MS = 2_000;

let api: TestApp;
let fleet: PodFleet;
let setup: FleetSetup;
beforeEach(async () => {
  setup = await startFleet();
  ({ api, fleet } = setup);
  await Promise.all(['a', 'b'].map((name) => fleet.start(name, { LEASE_MS: String(LEASE_MS) })));
});
afterEach(() => setup.stop());

async function firstLongRun(): Promise<RunEvent> {
  // 200 steps of 50 ms: the run outlives the lease many times over unless its pod is stopped.
  await api.scheduler.upsert({
    tenantId: 'acme',
    id: 'long',
    cron: '* * * * * *',
    handler: 'record',
    payload: { steps: 200 },
  });
  return waitFor(() => fleet.starts((e) => e.scheduleId === 'long')[0], {
    message: 'the long run never started',
  });
}

describe('a pod killed with SIGKILL mid-run', () => {
  it('has its run re-executed by another pod after the lease expires: attempt 2, same fire time, larger fencing token', async () => {
    const first = await firstLongRun();
    const victim = fleet.pods.find((p) => p.name === first.pod)!;
    victim.signal('SIGKILL');
    const killedAt = Date.now();
    const rerun = await waitFor(
      () =>
        fleet.starts(
          (e) => e.scheduleId === 'long' && e.fireTime === first.fireTime && e.attempt === 2,
        )[0],
      { timeoutMs: LEASE_MS * 5, message: 'the killed run was not re-executed' },
    );
    expect(rerun.pod).not.toBe(first.pod);
    expect(rerun.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(Date.now() - killedAt).toBeGreaterThan(LEASE_MS / 2);
    // Exactly one re-run of that fire time.
    expect(
      fleet.starts((e) => e.scheduleId === 'long' && e.fireTime === first.fireTime),
    ).toHaveLength(2);
  });
});

describe('a pod frozen with SIGSTOP past its lease, then resumed', () => {
  it('sees ctx.signal aborted and its late completion is rejected', async () => {
    const first = await firstLongRun();
    const frozen = fleet.pods.find((p) => p.name === first.pod)!;
    frozen.signal('SIGSTOP');
    const rerun = await waitFor(
      () =>
        fleet.starts(
          (e) => e.scheduleId === 'long' && e.fireTime === first.fireTime && e.attempt === 2,
        )[0],
      { timeoutMs: LEASE_MS * 5, message: 'the frozen run was not taken over' },
    );
    expect(rerun.pod).not.toBe(first.pod);
    expect(rerun.fencingToken).toBeGreaterThan(first.fencingToken);
    frozen.signal('SIGCONT');
    const end = await waitFor(
      () => fleet.ends((e) => e.pod === first.pod && e.fencingToken === first.fencingToken)[0],
      {
        message: 'the resumed run never ended',
      },
    );
    expect(end.aborted).toBe(true);
    await waitFor(
      () => fleet.warnings(first.pod).some((w) => /finished after losing its lease/.test(w)),
      {
        message: 'the late completion was not rejected',
      },
    );
    // The taken-over run is the one on record once it finishes.
    await waitFor(() => fleet.ends((e) => e.fencingToken === rerun.fencingToken)[0], {
      timeoutMs: 20_000,
    });
    await waitFor(
      async () => (await api.scheduler.get('acme', 'long'))?.lastStatus === 'succeeded',
    );
  });
});
