import { HttpTargetServer, startHttpTargetServer, TargetCall } from '../support/http-target-server';
import { waitFor } from '../support/wait-for';
import { ServiceFleet, ServiceProcess, startServiceFleet } from './service-fleet';

/*
 * Issue 13, item 6: two service processes (`npm run sample`) on one Redis; schedules created over
 * the admin API call HTTP targets served by this test process.
 */

const TENANT = 'acme';
/** Consecutive failures that open a host's circuit in the services (BREAKER_FAILURES). */
const FAILURES_TO_OPEN = 3;

let fleet: ServiceFleet;
let a: ServiceProcess;
let b: ServiceProcess;
let key: string;
/** Answers 200. */
let ok: HttpTargetServer;
/** '/retry': 503 to the first two attempts of its first fire time; '/reject': always 400. */
let flaky: HttpTargetServer;
/** Always 503. */
let down: HttpTargetServer;
let firstRetryFire: number | undefined;

beforeAll(async () => {
  ok = await startHttpTargetServer();
  flaky = await startHttpTargetServer((call) => {
    if (call.path === '/reject') return 400;
    firstRetryFire ??= call.fireTime;
    return call.fireTime === firstRetryFire && call.attempt < 3 ? 503 : 200;
  });
  down = await startHttpTargetServer(() => 503);
  fleet = await startServiceFleet({
    tenants: [TENANT],
    env: {
      HTTP_ALLOW: [ok.url, flaky.url, down.url].join(','),
      BREAKER_FAILURES: String(FAILURES_TO_OPEN),
      BREAKER_COOL_DOWN_MS: '600000',
    },
  });
  [a, b] = fleet.services;
  key = fleet.tenantKeys[TENANT];
});
afterAll(async () => {
  await fleet?.stop();
  await Promise.all([ok, flaky, down].map((target) => target?.close()));
});

/** Creates an 'http' schedule of the tenant over the admin API of `on`; expects 201. */
async function create(
  on: ServiceProcess,
  id: string,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const body = { id, cron: '* * * * * *', handler: 'http', payload: { url }, ...extra };
  const response = await on.api('POST', `/tenants/${TENANT}/schedules`, { key, body });
  expect({ status: response.status, body: response.body }).toEqual({
    status: 201,
    body: expect.objectContaining({ tenantId: TENANT, id }),
  });
}

async function remove(on: ServiceProcess, id: string): Promise<void> {
  expect((await on.api('DELETE', `/tenants/${TENANT}/schedules/${id}`, { key })).status).toBe(204);
}

interface RunItem {
  fireTime: string;
  attempt: number;
  fencingToken: number;
  status: 'succeeded' | 'failed' | 'retry';
  error: string | null;
}

async function runs(on: ServiceProcess, id: string): Promise<RunItem[]> {
  const response = await on.api('GET', `/tenants/${TENANT}/schedules/${id}/runs?limit=50`, { key });
  expect(response.status).toBe(200);
  return response.body.items as RunItem[];
}

function byFireTime(calls: TargetCall[]): Map<number, TargetCall[]> {
  const groups = new Map<number, TargetCall[]>();
  for (const call of calls) groups.set(call.fireTime, [...(groups.get(call.fireTime) ?? []), call]);
  return groups;
}

describe('schedules created over the admin API of two service processes', () => {
  it('call their target exactly once per fire time, from both processes', async () => {
    // Each process runs the schedules assigned to it (by a number drawn at creation): with ten,
    // both get some but with a chance of 2 in 1,024.
    const ids = Array.from({ length: 10 }, (_, i) => `once-${i}`);
    for (const [i, id] of ids.entries()) await create(i % 2 ? b : a, id, `${ok.url}${id}`);
    const fired = (id: string) => new Set(ok.callsTo(`/${id}`).map((c) => c.fireTime)).size;
    const ranOnce = (s: ServiceProcess) =>
      s.ran().filter((r) => r.schedule.startsWith(`${TENANT}/once-`));
    await waitFor(
      () => {
        const state = { fired: ids.map(fired), a: ranOnce(a).length, b: ranOnce(b).length };
        const done = state.fired.every((n) => n >= 5) && state.a > 0 && state.b > 0;
        if (!done) throw new Error(`not yet: ${JSON.stringify(state)}`);
        return done;
      },
      { timeoutMs: 60_000, message: 'five fire times of each schedule, run by both processes' },
    );
    for (const [i, id] of ids.entries()) await remove(i % 2 ? a : b, id);
    // Settled: every call the target answered was logged by the process that made it.
    const calls = () => ok.calls.filter((c) => c.path.startsWith('/once-'));
    await waitFor(() => ranOnce(a).length + ranOnce(b).length === calls().length, {
      message: 'each call logged by its process',
    });

    for (const id of ids) {
      const groups = byFireTime(ok.callsTo(`/${id}`));
      const fires = [...groups.keys()].sort((x, y) => x - y);
      // One call per fire time, a first attempt, its own idempotency key; no second's gap.
      expect([...groups.values()].filter((g) => g.length !== 1)).toEqual([]);
      expect(ok.callsTo(`/${id}`).every((c) => c.attempt === 1)).toBe(true);
      expect(new Set(ok.callsTo(`/${id}`).map((c) => c.idempotencyKey)).size).toBe(fires.length);
      expect(fires.length).toBe((fires[fires.length - 1] - fires[0]) / 1_000 + 1);
    }
  });

  it('retries a 5xx answer with the same Idempotency-Key and a larger fencing token', async () => {
    await create(a, 'retry', `${flaky.url}retry`, {
      retry: { attempts: 3, backoff: 'fixed', delayMs: 300, jitter: false },
    });
    const firstFire = () => flaky.callsTo('/retry').filter((c) => c.fireTime === firstRetryFire);
    await waitFor(() => firstFire().some((c) => c.status === 200), {
      timeoutMs: 30_000,
      message: 'the third attempt of the first fire time',
    });
    const calls = firstFire();
    expect(calls.map((c) => [c.attempt, c.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(calls[1].fencingToken).toBeGreaterThan(calls[0].fencingToken);
    expect(calls[2].fencingToken).toBeGreaterThan(calls[1].fencingToken);
    // The run history, read on the other process, tells the same story.
    const fireIso = new Date(firstRetryFire!).toISOString();
    const history = await waitFor(
      async () => {
        const items = (await runs(b, 'retry')).filter((r) => r.fireTime === fireIso);
        return items.some((r) => r.status === 'succeeded') ? items : undefined;
      },
      { message: 'the succeeded run in the history' },
    );
    expect(history.map((r) => [r.attempt, r.status]).sort()).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'succeeded'],
    ]);
    await remove(b, 'retry');
  });

  it('does not retry a 400 answer', async () => {
    await create(b, 'reject', `${flaky.url}reject`, {
      retry: { attempts: 3, backoff: 'fixed', delayMs: 200, jitter: false },
    });
    // Three fire times called: a retry of the first (due 200 ms after it) would have come by then.
    const fires = () => [...byFireTime(flaky.callsTo('/reject')).keys()].sort((x, y) => x - y);
    await waitFor(() => fires().length >= 3, { message: 'three fire times of /reject' });
    const first = new Date(fires()[0]).toISOString();
    const history = await waitFor(
      async () => {
        const items = (await runs(a, 'reject')).filter((r) => r.fireTime === first);
        return items.length > 0 ? items : undefined;
      },
      { message: 'the first fire time in the history' },
    );
    await remove(a, 'reject');
    expect(history).toEqual([
      expect.objectContaining({
        attempt: 1,
        status: 'failed',
        error: expect.stringMatching(/400/),
      }),
    ]);
    const groups = byFireTime(flaky.callsTo('/reject'));
    expect([...groups.values()].filter((g) => g.length !== 1 || g[0].attempt !== 1)).toEqual([]);
  });

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', 'http://10.20.30.40/hook'],
    ['a loopback port off the allow-list', () => `${fleet.redis.url.replace('redis:', 'http:')}/`],
  ])('refuses a target at %s at creation, naming it, and writes nothing', async (_, target) => {
    const url = typeof target === 'function' ? target() : target;
    for (const on of [a, b]) {
      const body = { id: 'ssrf', cron: '* * * * * *', handler: 'http', payload: { url } };
      const response = await on.api('POST', `/tenants/${TENANT}/schedules`, { key, body });
      expect(response.status).toBe(400);
      expect(response.body.message).toContain(new URL(url).origin);
      expect((await on.api('GET', `/tenants/${TENANT}/schedules/ssrf`, { key })).status).toBe(404);
    }
  });

  it('opens the circuit of a host that keeps failing, on the process that called it', async () => {
    await create(a, 'down', `${down.url}down`);
    const host = `127.0.0.1:${down.port}`;
    const circuitOf = async (on: ServiceProcess) => {
      const response = await on.api('GET', `/tenants/${TENANT}/circuits`, { key });
      expect(response.status).toBe(200);
      return (
        response.body.items as { host: string; state: string; consecutiveFailures: number }[]
      ).find((c) => c.host === host);
    };
    const opened = await waitFor(
      async () => {
        for (const on of [a, b]) {
          const circuit = await circuitOf(on);
          if (circuit?.state === 'open') return { on, circuit };
        }
        return undefined;
      },
      { timeoutMs: 60_000, message: `an open circuit for ${host}` },
    );
    expect(opened.circuit.consecutiveFailures).toBeGreaterThanOrEqual(FAILURES_TO_OPEN);
    // Each process logs its runs: from now on that process's runs are refused by its circuit.
    const downRuns = (on: ServiceProcess) =>
      on.ran().filter((r) => r.schedule === `${TENANT}/down`);
    const isRefused = (detail: string) => /Circuit open/.test(detail);
    await waitFor(() => downRuns(opened.on).filter((r) => isRefused(r.detail)).length >= 3, {
      timeoutMs: 30_000,
      message: 'three runs refused by the open circuit',
    });
    await remove(opened.on, 'down');
    // Settled: each call the target answered was logged by the process that made it.
    const called = () => [a, b].flatMap((on) => downRuns(on)).filter((r) => !isRefused(r.detail));
    await waitFor(() => called().length === down.calls.length, {
      message: 'each call to the failing target logged',
    });
    const details = downRuns(opened.on).map((r) => r.detail);
    const firstRefused = details.findIndex(isRefused);
    // Failures (503) up to the threshold, then no call at all while the circuit is open.
    expect(details.slice(0, firstRefused).length).toBeGreaterThanOrEqual(FAILURES_TO_OPEN);
    expect(details.slice(0, firstRefused).every((d) => /failed: .*HTTP 503/.test(d))).toBe(true);
    expect(details.slice(firstRefused).every(isRefused)).toBe(true);
    // The tenant's own circuit stays listed while its failures are counted (breakers are per
    // tenant and host), though no schedule of the tenant calls the host now.
    expect(await circuitOf(opened.on)).toMatchObject({ state: 'open', tenantId: TENANT });
  });

  // Last: it stops the second process.
  it('goes on with one process once the other stops, still once per fire time', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `handover-${i}`);
    for (const [i, id] of ids.entries()) await create(i % 2 ? b : a, id, `${ok.url}${id}`);
    const fires = (id: string) =>
      [...byFireTime(ok.callsTo(`/${id}`)).keys()].sort((x, y) => x - y);
    await waitFor(() => ids.every((id) => fires(id).length >= 2), {
      message: 'two fire times of each schedule',
    });
    await b.stop(); // SIGTERM: it hands back what it had not started and leaves
    const stoppedAt = Date.now();
    await waitFor(() => ids.every((id) => fires(id).some((f) => f > stoppedAt + 2_000)), {
      timeoutMs: 30_000,
      message: 'fire times after the stop',
    });
    for (const id of ids) await remove(a, id);
    const ran = () =>
      [a, b].flatMap((on) => on.ran()).filter((r) => r.schedule.startsWith(`${TENANT}/handover-`));
    await waitFor(
      () => ran().length === ok.calls.filter((c) => c.path.startsWith('/handover-')).length,
      {
        message: 'each call logged by its process',
      },
    );
    for (const id of ids) {
      const groups = byFireTime(ok.callsTo(`/${id}`));
      const times = fires(id);
      expect([...groups.values()].filter((g) => g.length !== 1)).toEqual([]);
      expect(times.length).toBe((times[times.length - 1] - times[0]) / 1_000 + 1);
    }
  });
});
