import { Logger } from '@nestjs/common';
import { LockLostError } from '../../../lib';
import { RunAbort } from '../../../lib/engine/run-abort';
import { type LeasedRun, LeaseKeeper, type LeasePort } from '../../../lib/engine/run-lease';

type ExtendArgs = Parameters<LeasePort['extendLeases']>;
type ExtendReply = Awaited<ReturnType<LeasePort['extendLeases']>>;
type ReleaseArgs = Parameters<LeasePort['releaseRuns']>;
type ReleaseVerdict = Awaited<ReturnType<LeasePort['releaseRuns']>>[number];

/** One extendLeases call as the keeper made it, with the time (Redis estimate) it was made. */
interface Call {
  base: string;
  leaseMs: number;
  members: string[];
  at: number;
}

const BASES = ['p0:', 'p1:', 'p2:'];
/** Redis time minus the local clock: the keeper's deadlines are on the former. */
let offset = 0;
const clock = { now: (): number => Date.now() + offset };

let fencing = 0;
function leased(member: string, leaseUntilMs: number, partition = 0): LeasedRun {
  return {
    partition,
    member,
    fencingToken: ++fencing,
    scheduleId: `s:${member}`,
    leaseUntilMs,
    abort: new RunAbort(),
  };
}

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Redis renews every run it is asked for, for a whole lease from its time. */
const grant = (call: Call): ExtendReply => call.members.map(() => clock.now() + call.leaseMs);

function harness(
  leaseMs: number,
  extend: (call: Call, runs: ExtendArgs[2]) => ExtendReply | Promise<ExtendReply> = grant,
) {
  const calls: Call[] = [];
  const released: { base: string; wake: string; members: string[] }[] = [];
  const extendLeases = jest.fn(async (...[base, ms, runs]: ExtendArgs) => {
    const call = { base, leaseMs: ms, members: runs.map((r) => r.member), at: clock.now() };
    calls.push(call);
    return extend(call, runs);
  });
  const releaseRuns = jest.fn(async (...[base, wake, runs]: ReleaseArgs) => {
    released.push({ base, wake, members: runs.map((r) => r.member) });
    return runs.map((): ReleaseVerdict => 'ok');
  });
  const keeper = new LeaseKeeper(
    leaseMs,
    clock,
    { extendLeases, releaseRuns },
    { partitionBases: BASES, wakeChannel: 'wake' },
  );
  return { keeper, calls, released, extendLeases, releaseRuns };
}

const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);
const detail = (run: LeasedRun): string => (run.abort.reason as Error).message;

let warn: jest.SpyInstance;
let debug: jest.SpyInstance;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  offset = 0;
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('LeaseKeeper: the timer', () => {
  it.each([
    [4, 101],
    [16, 102],
    [800, 200],
    [8_000, 1_100],
    [30_000, 1_100],
  ])(
    'leaseMs %i: abortMarginMs %i (one tick, leaseMs / 8 up to 1 s, plus 100 ms)',
    (ms, margin) => {
      expect(harness(ms).keeper.abortMarginMs).toBe(margin);
    },
  );

  it.each([
    [800, 100],
    [30_000, 1_000],
  ])('leaseMs %i ticks every %i ms', async (ms, tick) => {
    const h = harness(ms);
    h.keeper.add(leased('a', clock.now() + ms / 2 - 1));
    await advance(tick - 1);
    expect(h.calls).toHaveLength(0);
    await advance(1);
    expect(h.calls).toHaveLength(1);
  });

  it('keeps one interval for all its runs, stops with the last and starts again with the next', async () => {
    const h = harness(8_000);
    const runs = ['a', 'b', 'c'].map((m) => leased(m, clock.now() + 8_000));
    for (const run of runs) h.keeper.add(run);
    expect(jest.getTimerCount()).toBe(1);
    h.keeper.delete(runs[0]);
    h.keeper.delete(runs[1]);
    expect(jest.getTimerCount()).toBe(1);
    h.keeper.delete(runs[2]);
    expect(jest.getTimerCount()).toBe(0);

    const d = leased('d', clock.now() + 3_000);
    h.keeper.add(d);
    expect(jest.getTimerCount()).toBe(1);
    await advance(1_000);
    expect(h.calls.map((c) => c.members)).toEqual([['d']]);

    h.keeper.stop();
    expect(jest.getTimerCount()).toBe(0);
    await advance(10_000);
    expect(h.calls).toHaveLength(1);
  });
});

describe('LeaseKeeper: renewal', () => {
  it('renews, in one call per partition, each run with less than half its lease left, once', async () => {
    const h = harness(8_000); // tick 1 s, margin 1.1 s
    const t0 = clock.now();
    const a = leased('a', t0 + 8_000); // 7 s left at the first tick
    const b = leased('b', t0 + 5_000); // exactly half left: not yet
    const c = leased('c', t0 + 4_999);
    const d = leased('d', t0 + 3_000, 1);
    const e = leased('e', t0 + 2_500);
    for (const run of [a, b, c, d, e]) h.keeper.add(run);

    await advance(1_000);
    expect(h.calls).toEqual([
      { base: 'p0:', leaseMs: 8_000, members: ['c', 'e'], at: t0 + 1_000 },
      { base: 'p1:', leaseMs: 8_000, members: ['d'], at: t0 + 1_000 },
    ]);
    for (const run of [c, d, e]) expect(run.leaseUntilMs).toBe(t0 + 9_000);
    expect(a.leaseUntilMs).toBe(t0 + 8_000);

    // Next tick: only b has less than half left now; the renewed ones are not sent again.
    await advance(1_000);
    expect(h.calls.slice(2)).toEqual([
      { base: 'p0:', leaseMs: 8_000, members: ['b'], at: t0 + 2_000 },
    ]);
    for (const run of [a, b, c, d, e]) expect(run.abort.aborted).toBe(false);
  });

  it('sends each run’s member and fencing token', async () => {
    const seen: ExtendArgs[2][] = [];
    const h = harness(8_000, (call, runs) => {
      seen.push(runs);
      return grant(call);
    });
    const run = leased('a', clock.now() + 2_500);
    h.keeper.add(run);
    await advance(1_000);
    expect(seen).toEqual([
      [expect.objectContaining({ member: 'a', fencingToken: run.fencingToken })],
    ]);
  });

  it('never sends two renewals at once: a tick during one sends nothing, the next after it does', async () => {
    const first = deferred<ExtendReply>();
    let calls = 0;
    const h = harness(8_000, (call) => (++calls === 1 ? first.promise : grant(call)));
    const t0 = clock.now();
    const run = leased('a', t0 + 5_000);
    h.keeper.add(run);
    await advance(2_000); // at +1 s 4 s were left (not less than half); at +2 s, 3 s
    expect(h.calls.map((c) => c.at)).toEqual([t0 + 2_000]);

    await advance(1_000); // still under way: no second call, though the run still needs one
    expect(h.calls).toHaveLength(1);

    first.resolve([t0 + 7_500]);
    await advance(0);
    expect(run.leaseUntilMs).toBe(t0 + 7_500);
    await advance(1_000); // 3.5 s left: renew again
    expect(h.calls.map((c) => c.at)).toEqual([t0 + 2_000, t0 + 4_000]);
    expect(run.abort.aborted).toBe(false);
  });

  it('a renewal that fails (Redis error) is logged at debug and tried again at the next tick', async () => {
    let calls = 0;
    const h = harness(8_000, (call) => {
      if (++calls === 1) throw new Error('ECONNRESET');
      return grant(call);
    });
    const t0 = clock.now();
    const run = leased('a', t0 + 3_500);
    h.keeper.add(run);
    await advance(1_000);
    expect(debug).toHaveBeenCalledWith(expect.stringMatching(/Lease renewal failed: ECONNRESET/));
    expect(run.leaseUntilMs).toBe(t0 + 3_500);
    await advance(1_000);
    expect(h.calls.map((c) => c.at)).toEqual([t0 + 1_000, t0 + 2_000]);
    expect(run.leaseUntilMs).toBe(t0 + 10_000);
    expect(run.abort.aborted).toBe(false);
  });
});

describe('LeaseKeeper: aborting a run that lost its lease', () => {
  it('a refused renewal aborts the run with LockLostError and the reason; the renewed one goes on', async () => {
    const h = harness(8_000, (call) =>
      call.members.map((m) =>
        m === 'lost' ? 'lease-lost' : m === 'late' ? 'lease-expired' : clock.now() + 8_000,
      ),
    );
    const t0 = clock.now();
    const lost = leased('lost', t0 + 3_000);
    const late = leased('late', t0 + 3_000);
    const kept = leased('kept', t0 + 3_000);
    for (const run of [lost, late, kept]) h.keeper.add(run);
    await advance(1_000);

    expect(lost.abort.reason).toBeInstanceOf(LockLostError);
    expect(detail(lost)).toMatch(/"lost": taken over or removed/);
    expect(late.abort.reason).toBeInstanceOf(LockLostError);
    expect(detail(late)).toMatch(/"late": lease expired/);
    expect(kept.abort.aborted).toBe(false);
    expect(kept.leaseUntilMs).toBe(t0 + 9_000);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0][0]).toMatch(/Run of "s:lost" lost its lease/);
  });

  it('skips aborted runs: no renewal, no second abort', async () => {
    const h = harness(8_000);
    const run = leased('a', clock.now() + 1_500);
    const reason = new Error('timed out');
    run.abort.abort(reason);
    h.keeper.add(run);
    await advance(5_000);
    expect(h.calls).toEqual([]);
    expect(run.abort.reason).toBe(reason);
    expect(warn).not.toHaveBeenCalled();
  });

  it('while a renewal hangs, aborts when the lease comes within abortMarginMs of its end by the clock', async () => {
    const h = harness(8_000, () => new Promise<ExtendReply>(() => undefined));
    const t0 = clock.now();
    const run = leased('a', t0 + 8_000);
    h.keeper.add(run);
    // The renewal goes out at +5 s (3 s left) and never answers; the margin is 1.1 s.
    await advance(6_899);
    expect(h.calls).toHaveLength(1);
    expect(run.abort.aborted).toBe(false);
    await advance(101); // the tick at +7 s: 1 s left ≤ 1.1 s
    expect(run.abort.reason).toBeInstanceOf(LockLostError);
    expect(detail(run)).toMatch(/lease expired/);
    expect(h.calls).toHaveLength(1);
  });

  it('the deadline is on the Redis clock estimate: an estimate that jumps ahead aborts at the next tick', async () => {
    const h = harness(8_000, () => new Promise<ExtendReply>(() => undefined));
    const t0 = clock.now();
    const run = leased('a', t0 + 8_000);
    h.keeper.add(run);
    await advance(1_000);
    expect(run.abort.aborted).toBe(false);
    offset = 6_000;
    await advance(1_000);
    expect(run.abort.aborted).toBe(true);
  });

  it.each([800, 8_000, 30_000])(
    'leaseMs %i: an unrenewed run aborts more than 100 ms and at most abortMarginMs before its lease ends, whatever its phase',
    async (leaseMs) => {
      const h = harness(leaseMs, () => new Promise<ExtendReply>(() => undefined));
      const margin = h.keeper.abortMarginMs;
      const tick = margin - 100;
      const t0 = clock.now();
      const runs = Array.from({ length: 11 }, (_, k) =>
        leased(`r${k}`, t0 + leaseMs + Math.floor((k * tick) / 11)),
      );
      const abortedAt = new Map<LeasedRun, number>();
      for (const run of runs) {
        run.abort.onAbort(() => abortedAt.set(run, clock.now()));
        h.keeper.add(run);
      }
      await advance(2 * leaseMs);
      for (const run of runs) {
        const left = run.leaseUntilMs - (abortedAt.get(run) ?? Infinity);
        expect(left).toBeGreaterThan(100);
        expect(left).toBeLessThanOrEqual(margin);
      }
    },
  );
});

describe('LeaseKeeper: handing runs back', () => {
  const refs = [
    { partition: 0, member: 'a', fencingToken: 1 },
    { partition: 1, member: 'b', fencingToken: 2 },
    { partition: 0, member: 'c', fencingToken: 3 },
  ];

  it('release: one releaseRuns per partition, on the wake channel', async () => {
    const h = harness(8_000);
    await h.keeper.release(refs);
    expect(h.released).toEqual([
      { base: 'p0:', wake: 'wake', members: ['a', 'c'] },
      { base: 'p1:', wake: 'wake', members: ['b'] },
    ]);
    expect(h.releaseRuns.mock.calls[0][2]).toEqual([refs[0], refs[2]]);
  });

  it('release settles only when every partition’s call has', async () => {
    const h = harness(8_000);
    const pending = [deferred<ReleaseVerdict[]>(), deferred<ReleaseVerdict[]>()];
    let i = 0;
    h.releaseRuns.mockImplementation(() => pending[i++].promise);
    let done = false;
    const released = h.keeper.release(refs).then(() => (done = true));
    await advance(0);
    pending[0].resolve(['ok', 'ok']);
    await advance(0);
    expect(done).toBe(false);
    pending[1].resolve(['ok']);
    await released;
    expect(done).toBe(true);
  });

  it('giveBack: one extendLeases with a lease of 0 per partition', async () => {
    const h = harness(8_000);
    await h.keeper.giveBack(refs);
    expect(h.calls.map(({ base, leaseMs, members }) => ({ base, leaseMs, members }))).toEqual([
      { base: 'p0:', leaseMs: 0, members: ['a', 'c'] },
      { base: 'p1:', leaseMs: 0, members: ['b'] },
    ]);
  });

  it('release and giveBack of nothing call nothing', async () => {
    const h = harness(8_000);
    await h.keeper.release([]);
    await h.keeper.giveBack([]);
    expect(h.releaseRuns).not.toHaveBeenCalled();
    expect(h.extendLeases).not.toHaveBeenCalled();
  });
});
