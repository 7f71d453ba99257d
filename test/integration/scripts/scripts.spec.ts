import type { Redis } from 'ioredis';
import { dynamicHandlerKey, KeySpace } from '../../../lib/redis/key-space';
import type {
  ClaimReply,
  Completion,
  CompletionResult,
} from '../../../lib/redis/protocol/run.types';
import { ConcurrentChangeError } from '../../../lib/errors/concurrent-change.error';
import type {
  UpsertedSchedule,
  UpsertReply,
} from '../../../lib/redis/protocol/schedule-write.types';
import { PayloadTooLargeError, SchedulerError, TenantQuotaExceededError } from '../../../lib';
import { RedisScripts } from '../../../lib/redis/redis-scripts';
import { freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

/*
 * Each Lua script called directly, against a private redis-server, checking the contract its
 * header states. Fire times are built from Redis's clock (TIME), the only clock the scripts trust.
 */

let server: RedisServerHandle;
let client: Redis;
let scripts: RedisScripts;
let prefix: string;
let ks: KeySpace;

beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
  scripts = new RedisScripts(client);
});

afterAll(() => server.stop());

beforeEach(() => {
  prefix = freshPrefix();
  ks = new KeySpace(prefix, 1);
});

/** Redis TIME in ms. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

const TENANT = 'acme';

interface UpsertArgs {
  id: string;
  fireMs: number;
  dueMs?: number;
  tenant?: string;
  handler?: string;
  cron?: string;
  timeZone?: string;
  jitterMs?: number;
  payload?: string;
  enabled?: boolean;
  maxPerTenant?: number;
  maxPayloadBytes?: number;
  policy?: string;
}

function call(a: UpsertArgs) {
  const tenant = a.tenant ?? TENANT;
  const keys = ks.dynamicSchedule(tenant, a.id, a.handler ?? 'h1');
  return {
    member: keys.member,
    id: a.id,
    handlerKey: keys.handlerKey,
    timing: `${a.cron ?? '* * * * *'}|${a.timeZone ?? 'UTC'}|${a.jitterMs ?? 0}`,
    payload: a.payload ?? '',
    policy: a.policy ?? '',
    enabled: a.enabled !== false,
    nextFireMs: a.fireMs,
    nextDueMs: a.dueMs ?? a.fireMs,
  };
}

/** upsertSchedules with several schedules in one call (the guards of the first apply). */
async function upsertBatch(list: UpsertArgs[]): Promise<{ nowMs: number; replies: UpsertReply[] }> {
  const [reply] = await scripts.upsertSchedules(
    ks.partitionBases[0],
    {
      maxPerTenant: list[0].maxPerTenant ?? 0,
      maxPayloadBytes: list[0].maxPayloadBytes ?? 0,
      wakeChannel: ks.wakeChannel,
    },
    [list.map(call)],
  );
  if (reply instanceof Error) throw reply;
  return reply;
}

/** upsertSchedules with one schedule the guards let through: its reply. */
async function upsert(a: UpsertArgs): Promise<UpsertedSchedule> {
  const reply = (await upsertBatch([a])).replies[0];
  if (reply.status === 'refused') throw reply.error;
  return reply;
}

/** upsertSchedules with one schedule the guards refuse: the error it was refused with. */
async function refusal(a: UpsertArgs): Promise<SchedulerError> {
  const reply = (await upsertBatch([a])).replies[0];
  if (reply.status !== 'refused') throw new Error(`schedule "${a.id}" was written`);
  return reply.error;
}

function keysOf(id: string, handler = 'h1', tenant = TENANT) {
  return ks.dynamicSchedule(tenant, id, handler);
}

function dueKey(handler = 'h1'): string {
  return ks.dueIndex(0, dynamicHandlerKey(handler));
}

async function claim(
  opts: {
    handler?: string;
    limit?: number;
    leaseMs?: number;
    lookAheadMs?: number;
    pods?: number;
    rank?: number;
    offset?: number;
    maxAhead?: number;
  } = {},
): Promise<ClaimReply> {
  const [reply] = await scripts.claimDue(
    [
      {
        due: dueKey(opts.handler),
        fence: ks.fenceCounter(0),
        hashBase: ks.hashBase(0),
        epoch: ks.epochCounter(0),
        share: { pods: opts.pods ?? 1, rank: opts.rank ?? 0 },
        offset: opts.offset ?? 0,
        maxAhead: opts.maxAhead ?? 1_000_000,
      },
    ],
    opts.limit ?? 100,
    opts.leaseMs ?? 10_000,
    opts.lookAheadMs ?? 0,
  );
  return reply;
}

function completion(
  member: string,
  fencingToken: number,
  over: Partial<Omit<Completion, 'member' | 'fencingToken'>> = {},
): Completion {
  return {
    member,
    fencingToken,
    outcome: 'succeeded',
    revision: '1',
    nextFireMs: 0,
    nextDueMs: 0,
    error: '',
    skipped: 0,
    deadLetter: '',
    chain: 'none',
    ...over,
  };
}

/** completeRuns with its header's ARGV (dead letters kept, history kept, chain lease, look-ahead). */
function completeWith(
  base: string,
  runs: Completion[],
  limits: { deadLetters?: number; history?: number; leaseMs?: number; lookAheadMs?: number } = {},
) {
  return scripts.completeRuns(
    base,
    {
      deadLetters: limits.deadLetters ?? 100,
      history: limits.history ?? 0,
      leaseMs: limits.leaseMs ?? 10_000,
      lookAheadMs: limits.lookAheadMs ?? 5_000,
      wakeChannel: ks.wakeChannel,
    },
    runs,
  );
}

/** completeRuns: one code per run. */
async function complete(
  base: string,
  runs: Completion[],
  deadLetterLimit = 100,
  historyLimit = 0,
): Promise<CompletionResult['verdict'][]> {
  const results = await completeWith(base, runs, {
    deadLetters: deadLetterLimit,
    history: historyLimit,
  });
  return results.map((r) => r.verdict);
}

async function score(key: string, member: string): Promise<number | null> {
  const value = await client.zscore(key, member);
  return value === null ? null : Number(value);
}

async function prefixKeys(): Promise<string[]> {
  return (await client.keys(`${prefix}*`)).sort();
}

/** The run state field 'r' of a hash (includes/runState.lua), parsed; null when it holds no run. */
async function runState(hash: string) {
  const r = await client.hget(hash, 'r');
  if (!r || !r.includes(':')) return null;
  const [fire, attempt, fence, lease, prevHw] = r.split(':');
  return {
    fire: Number(fire),
    attempt: Number(attempt),
    fence: Number(fence),
    lease: Number(lease),
    prevHw,
  };
}

async function epoch(): Promise<number> {
  return Number((await client.get(ks.epochCounter(0))) ?? 0);
}

function pause(id: string) {
  const k = keysOf(id);
  return scripts.setEnabled(
    k,
    { enabled: false, nextFireMs: 0, nextDueMs: 0, timing: '' },
    ks.wakeChannel,
  );
}

describe('claimDue', () => {
  it('claims only members whose score is at or below Redis TIME, with the full run description', async () => {
    const now = await redisNow();
    const due = keysOf('due-now');
    const later = keysOf('later');
    const soon = keysOf('soon');
    await upsert({
      id: 'due-now',
      fireMs: now - 1_000,
      cron: '*/5 * * * *',
      timeZone: 'Europe/Paris',
      jitterMs: 0,
      payload: '{"r":1}',
      policy: '{"overlap":"allow"}',
    });
    await upsert({ id: 'later', fireMs: now + 60_000 });
    await upsert({ id: 'soon', fireMs: now + 1_500 });

    const before = await redisNow();
    const reply = await claim({ leaseMs: 5_000 });
    const after = await redisNow();

    expect(reply.nowMs).toBeGreaterThanOrEqual(before);
    expect(reply.nowMs).toBeLessThanOrEqual(after);
    expect(reply.runs).toHaveLength(1);
    const [run] = reply.runs;
    expect(run).toEqual({
      member: due.member,
      fireMs: now - 1_000,
      dueMs: now - 1_000,
      attempt: 1,
      fencingToken: run.fencingToken,
      claim: 'run',
      leaseUntilMs: reply.nowMs + 5_000,
      revision: '1',
      timing: '*/5 * * * *|Europe/Paris|0',
      payload: '{"r":1}',
      policy: '{"overlap":"allow"}',
      incarnation: Number(await client.hget(due.hash, 'gn')),
    });
    expect(run.fencingToken).toBeGreaterThanOrEqual(1);
    // Future members are untouched.
    expect(await score(dueKey(), later.member)).toBe(now + 60_000);
    expect(await score(dueKey(), soon.member)).toBe(now + 1_500);
    expect(await runState(later.hash)).toBeNull();

    // Once Redis's clock passes its score, the 'soon' member is claimed too.
    const next = await waitFor(
      async () => {
        const r = await claim();
        return r.runs.length > 0 ? r : null;
      },
      { timeoutMs: 5_000, message: 'the soon member to become due' },
    );
    expect(next.runs.map((r) => r.member)).toEqual([soon.member]);
    expect(next.nowMs).toBeGreaterThanOrEqual(now + 1_500);
  });

  it("sets the member's score to the lease expiry and records the run in the hash", async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 500 });
    const reply = await claim({ leaseMs: 7_000 });
    const [run] = reply.runs;

    expect(await score(dueKey(), k.member)).toBe(run.leaseUntilMs);
    expect(run.leaseUntilMs).toBe(reply.nowMs + 7_000);
    expect(await runState(k.hash)).toEqual({
      fire: now - 500,
      attempt: 1,
      fence: run.fencingToken,
      lease: run.leaseUntilMs,
      prevHw: '',
    });
    // A held run is not claimed again while its lease lasts.
    expect((await claim()).runs).toEqual([]);
  });

  it('respects the limit and hands out strictly increasing fencing tokens', async () => {
    const now = await redisNow();
    for (let i = 0; i < 5; i++) await upsert({ id: `s${i}`, fireMs: now - 5_000 + i });

    const first = await claim({ limit: 2 });
    const second = await claim({ limit: 2 });
    const third = await claim({ limit: 2 });
    const fourth = await claim({ limit: 2 });

    expect(first.runs).toHaveLength(2);
    expect(second.runs).toHaveLength(2);
    expect(third.runs).toHaveLength(1);
    expect(fourth.runs).toHaveLength(0);
    const all = [...first.runs, ...second.runs, ...third.runs];
    // Oldest due first, each schedule once.
    expect(all.map((r) => r.member)).toEqual([0, 1, 2, 3, 4].map((i) => keysOf(`s${i}`).member));
    const fences = all.map((r) => r.fencingToken);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]);
  });

  it('returns the first score after the look-ahead, or null when there is none', async () => {
    expect((await claim()).nextScoreMs).toBeNull();

    const now = await redisNow();
    await upsert({ id: 'past1', fireMs: now - 2_000 });
    await upsert({ id: 'past2', fireMs: now - 1_000 });
    await upsert({ id: 'future', fireMs: now + 30_000 });

    // Limit 1: 'past2' (due) is left behind, so the next score to look at is the last one
    // examined: more may be due.
    const one = await claim({ limit: 1, leaseMs: 60_000 });
    expect(one.runs.map((r) => r.member)).toEqual([keysOf('past1').member]);
    expect(one.nextScoreMs).toBe(now - 2_000);

    const rest = await claim({ leaseMs: 60_000 });
    expect(rest.runs.map((r) => r.member)).toEqual([keysOf('past2').member]);
    expect(rest.nextScoreMs).toBe(now + 30_000);

    // With a short lease the lease expiry is the first score.
    await upsert({ id: 'past3', fireMs: now - 10 });
    const short = await claim({ leaseMs: 1_000 });
    expect(short.nextScoreMs).toBe(short.runs[0].leaseUntilMs);
    // Beyond a look-ahead window, the first score after it.
    expect((await claim({ lookAheadMs: 40_000 })).nextScoreMs).toBe(one.runs[0].leaseUntilMs);
  });

  it('re-claims a run whose lease expired with attempt + 1, the same fire time and a larger fencing token', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 100 });
    const [first] = (await claim({ leaseMs: 200 })).runs;
    expect(first.claim).toBe('run');

    const second = await waitFor(async () => (await claim({ leaseMs: 10_000 })).runs[0], {
      timeoutMs: 5_000,
      message: 'the expired lease to be re-claimed',
    });
    expect(second).toMatchObject({
      member: k.member,
      claim: 'recover',
      attempt: 2,
      fireMs: first.fireMs,
      dueMs: -1,
    });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect((await runState(k.hash))?.fence).toBe(second.fencingToken);
    // The first owner can no longer record its run.
    expect(await complete(k.base, [completion(k.member, first.fencingToken)])).toEqual([
      'lease-lost',
    ]);
  });

  it('keeps re-claiming a run whose lease keeps expiring, attempt after attempt (no cap in the script)', async () => {
    const now = await redisNow();
    await upsert({ id: 's1', fireMs: now - 100 });
    const claimExpired = async (): Promise<ClaimReply['runs'][number]> =>
      waitFor(async () => (await claim({ leaseMs: 150 })).runs[0], {
        timeoutMs: 5_000,
        message: 'an expired lease to be re-claimed',
      });

    const a1 = await claimExpired();
    const a2 = await claimExpired();
    const a3 = await claimExpired();
    const a4 = await claimExpired();
    expect([a1.claim, a2.claim, a3.claim, a4.claim]).toEqual([
      'run',
      'recover',
      'recover',
      'recover',
    ]);
    expect([a1.attempt, a2.attempt, a3.attempt, a4.attempt]).toEqual([1, 2, 3, 4]);
    expect(new Set([a1.fireMs, a2.fireMs, a3.fireMs, a4.fireMs])).toEqual(new Set([now - 100]));
    expect(a2.fencingToken).toBeGreaterThan(a1.fencingToken);
    expect(a3.fencingToken).toBeGreaterThan(a2.fencingToken);
    expect(a4.fencingToken).toBeGreaterThan(a3.fencingToken);
  });

  it("returns 'stale' for a fire time at the high-water mark (a fire time already claimed)", async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    expect(run.claim).toBe('run');
    // A pod re-arms the schedule at the fire time it just ran (a skewed or buggy planner).
    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, { nextFireMs: run.fireMs, nextDueMs: run.fireMs }),
      ]),
    ).toEqual(['ok']);
    // The run state is back to the exactly-once mark alone: that fire time.
    expect(await client.hget(k.hash, 'r')).toBe(String(run.fireMs));

    const [again] = (await claim()).runs;
    expect(again).toMatchObject({
      member: k.member,
      claim: 'stale',
      fireMs: run.fireMs,
      attempt: 0,
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });

  it("returns 'stale' for a fire time below the high-water mark, and keeps the mark", async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    await client.hset(k.hash, 'r', String(now + 5_000));

    const [run] = (await claim()).runs;
    expect(run).toMatchObject({ claim: 'stale', fireMs: now - 1_000 });
    expect((await runState(k.hash))?.prevHw).toBe(String(now + 5_000));
  });

  it("drops a removed schedule's stray member without claiming it", async () => {
    const now = await redisNow();
    const k = keysOf('gone');
    await upsert({ id: 'gone', fireMs: now - 1_000 });
    expect(await scripts.removeSchedule(k, 'gone')).toBe(true);
    await client.zadd(dueKey(), now - 1_000, k.member); // a stray left by a race

    const reply = await claim();
    expect(reply.runs).toEqual([]);
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.exists(k.hash)).toBe(0);
  });

  it("drops a paused schedule's stray member without claiming it", async () => {
    const now = await redisNow();
    const k = keysOf('paused');
    await upsert({ id: 'paused', fireMs: now - 1_000 });
    await pause('paused');
    await client.zadd(dueKey(), now - 1_000, k.member); // a stray left by a race

    const reply = await claim();
    expect(reply.runs).toEqual([]);
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.hget(k.hash, 'en')).toBe('0');
    expect(await runState(k.hash)).toBeNull();
  });
});

describe('claimDue with a look-ahead (reservations)', () => {
  it('reserves first attempts due within the look-ahead, leased from their due time', async () => {
    const now = await redisNow();
    const soon = keysOf('soon');
    await upsert({ id: 'soon', fireMs: now + 2_000, dueMs: now + 2_300 });
    await upsert({ id: 'far', fireMs: now + 60_000 });

    const reply = await claim({ lookAheadMs: 5_000, leaseMs: 10_000 });
    expect(reply.runs).toHaveLength(1);
    expect(reply.runs[0]).toMatchObject({
      member: soon.member,
      claim: 'run',
      attempt: 1,
      fireMs: now + 2_000,
      dueMs: now + 2_300,
      leaseUntilMs: now + 2_300 + 10_000,
    });
    expect(reply.runs[0].dueMs).toBeGreaterThan(reply.nowMs);
    expect(await score(dueKey(), soon.member)).toBe(now + 12_300);
    expect((await runState(soon.hash))?.fire).toBe(now + 2_000);
    expect(reply.nextScoreMs).toBe(now + 12_300);
    // Without a look-ahead nothing is due.
    await client.zadd(dueKey(), now + 2_300, soon.member);
    await client.hdel(soon.hash, 'r');
    expect((await claim()).runs).toEqual([]);
  });

  it('leaves retries not yet due and held leases inside the window alone, and reports the least such score', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    const retryAt = (await redisNow()) + 3_000;
    await complete(k.base, [
      completion(k.member, run.fencingToken, { outcome: 'retry', nextDueMs: retryAt }),
    ]);

    const reply = await claim({ lookAheadMs: 5_000 });
    expect(reply.runs).toEqual([]);
    expect(reply.heldScoreMs).toBe(retryAt);
    expect(await score(dueKey(), k.member)).toBe(retryAt);
  });

  it('reserves only schedules assigned to this pod (incarnation modulo pods); what is due, anyone claims', async () => {
    const now = await redisNow();
    for (let i = 0; i < 6; i++) await upsert({ id: `s${i}`, fireMs: now + 2_000 });
    await upsert({ id: 'due', fireMs: now - 1_000 });
    const incarnation = async (id: string) => Number(await client.hget(keysOf(id).hash, 'gn'));
    const mine = [];
    for (let i = 0; i < 6; i++) if ((await incarnation(`s${i}`)) % 3 === 1) mine.push(`s${i}`);

    const reply = await claim({ lookAheadMs: 5_000, pods: 3, rank: 1 });
    expect(reply.runs.map((r) => r.member).sort()).toEqual(
      [...mine.map((id) => keysOf(id).member), keysOf('due').member].sort(),
    );
    for (const run of reply.runs)
      expect(run.incarnation).toBe(await incarnation(run.member.split(':')[2]));
    // The others wait, and are reported as left alone from their due time on.
    expect(reply.heldScoreMs).toBe(now + 2_000);
    expect((await claim({ lookAheadMs: 5_000, pods: 3, rank: 1 })).runs).toEqual([]);
    const rest = await claim({ lookAheadMs: 5_000 });
    expect(rest.runs).toHaveLength(6 - mine.length);
  });

  it('passes over the entries a previous call of the round left alone (offset), and says when the limit stopped it', async () => {
    const now = await redisNow();
    for (let i = 0; i < 4; i++) await upsert({ id: `s${i}`, fireMs: now + 2_000 + i });
    const skipped = await claim({ lookAheadMs: 5_000, limit: 2, pods: 2, rank: 7 }); // nobody's rank
    expect([skipped.runs.length, skipped.passed, skipped.more]).toEqual([0, 2, true]);
    const next = await claim({ lookAheadMs: 5_000, limit: 2, offset: 2 });
    expect(next.runs.map((r) => r.member)).toEqual([keysOf('s2').member, keysOf('s3').member]);
    expect([next.passed, next.more]).toEqual([0, true]);
    const last = await claim({ lookAheadMs: 5_000, limit: 2, offset: 2 });
    expect([last.runs.length, last.more]).toEqual([0, false]);
  });

  it('makes at most ARGV[7] reservations, leaving the rest for later', async () => {
    const now = await redisNow();
    for (let i = 0; i < 5; i++) await upsert({ id: `s${i}`, fireMs: now + 2_000 });
    await upsert({ id: 'due', fireMs: now - 1_000 });
    const reply = await claim({ lookAheadMs: 5_000, maxAhead: 2 });
    expect(reply.runs.map((r) => r.claim).sort()).toEqual(['run', 'run', 'run']);
    expect(reply.runs.filter((r) => r.dueMs > reply.nowMs)).toHaveLength(2);
    expect(reply.heldScoreMs).toBe(now + 2_000);
  });

  it('does not re-run a lapsed run of a schedule paused since: the fire time counts as run', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 100 })).runs;
    await pause('s1');
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await claim()).runs).toEqual([]);
    expect(await client.hget(k.hash, 'r')).toBe(String(now - 1_000));
    expect(await score(dueKey(), k.member)).toBeNull();
  });

  it('puts a lapsed stale guard of a paused schedule back to the mark, so a resume arms it', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    await client.hset(k.hash, 'r', String(now + 5_000)); // the mark is ahead: a stale claim
    const [stale] = (await claim({ leaseMs: 100 })).runs;
    expect(stale.claim).toBe('stale');
    await pause('s1');
    await client.zadd(dueKey(), now - 1_000, k.member); // a stray entry left by a race
    await waitFor(async () => (await redisNow()) > stale.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await claim()).runs).toEqual([]);
    expect(await client.hget(k.hash, 'r')).toBe(String(now + 5_000));
    const resumed = await scripts.setEnabled(
      k,
      {
        enabled: true,
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_000,
        timing: '* * * * *|UTC|0',
      },
      ks.wakeChannel,
    );
    expect(resumed).toEqual({ status: 'done', nextFireMs: now + 60_000, nextDueMs: now + 60_000 });
    expect(await score(dueKey(), k.member)).toBe(now + 60_000);
  });

  it('returns the change epoch of the partition with every claim', async () => {
    const now = await redisNow();
    expect((await claim()).epoch).toBe(0);
    await upsert({ id: 's1', fireMs: now - 1_000 });
    await claim();
    // A change to a schedule holding a run state moves the epoch on.
    await upsert({ id: 's1', fireMs: now + 60_000, payload: '"new"' });
    expect((await claim()).epoch).toBe(1);
  });
});

describe('confirmRuns', () => {
  /** Reserves s1 due in `inMs`. */
  async function reserved(inMs = 300, leaseMs = 10_000) {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + inMs });
    const reply = await claim({ lookAheadMs: 5_000, leaseMs });
    const [run] = reply.runs;
    expect(run.dueMs).toBeGreaterThan(reply.nowMs);
    const confirm = (over: { fence?: number; revision?: string; epoch?: number } = {}) =>
      scripts.confirmRuns(k.base, run.dueMs, over.epoch ?? reply.epoch, run.leaseUntilMs, [
        {
          member: k.member,
          fencingToken: over.fence ?? run.fencingToken,
          revision: over.revision ?? run.revision,
        },
      ]);
    const atDue = () =>
      waitFor(async () => (await redisNow()) >= run.dueMs, {
        timeoutMs: 5_000,
        message: 'the due time',
      });
    return { now, k, run, reply, confirm, atDue };
  }

  it('refuses before the due time by Redis TIME, confirming nothing', async () => {
    const { confirm, run, k } = await reserved(2_000);
    const early = await confirm();
    expect(early.status).toBe('early');
    expect(early.nowMs).toBeLessThan(run.dueMs);
    expect((await runState(k.hash))?.fence).toBe(run.fencingToken);
  });

  it('confirms at the due time without reading a schedule while the epoch is unchanged', async () => {
    const { confirm, atDue, k, run } = await reserved();
    await atDue();
    // Even a wrong token passes the fast path: nothing changed in the partition since the claim.
    expect((await confirm({ fence: 12345 })).status).toBe('confirmed');
    expect(await confirm()).toMatchObject({ status: 'confirmed', epoch: 0 });
    expect(await runState(k.hash)).toMatchObject({ fence: run.fencingToken, attempt: 1 });
  });

  it('checks each run once the epoch moved on: an unchanged schedule is confirmed', async () => {
    const { confirm, atDue, reply } = await reserved();
    await upsert({ id: 'other', fireMs: (await redisNow()) - 1_000 });
    await claim(); // the other schedule now holds a run state...
    await upsert({ id: 'other', fireMs: (await redisNow()) + 60_000, payload: '"x"' }); // ...and changes
    expect(await epoch()).toBe(reply.epoch + 1);
    await atDue();
    const checked = await confirm();
    expect(checked).toMatchObject({ status: 'checked', verdicts: ['ok'] });
    expect((await confirm({ fence: 12345 })).status).toBe('checked');
    expect(await confirm({ fence: 12345 })).toMatchObject({ verdicts: ['lease-lost'] });
  });

  it('hands the reservation back when the schedule changed since the claim (-6), restoring the mark', async () => {
    const { confirm, atDue, k, run } = await reserved();
    await upsert({ id: 's1', fireMs: run.fireMs, payload: '"changed"' });
    expect(await client.hget(k.hash, 'rv')).toBe('2');
    await atDue();
    expect(await confirm()).toMatchObject({ status: 'checked', verdicts: ['changed'] });
    expect(await client.hget(k.hash, 'r')).toBeNull();
    // The same fire time is claimed again, as a first attempt with the new payload.
    const [again] = (await claim()).runs;
    expect(again).toMatchObject({
      claim: 'run',
      attempt: 1,
      fireMs: run.fireMs,
      payload: '"changed"',
      revision: '2',
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });

  it('hands a paused reservation back out of the due index (-6)', async () => {
    const { confirm, atDue, k } = await reserved();
    expect(await pause('s1')).toEqual({
      status: 'done',
      nextFireMs: expect.any(Number),
      nextDueMs: expect.any(Number),
    });
    await atDue();
    expect(await confirm()).toMatchObject({ verdicts: ['changed'] });
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await runState(k.hash)).toBeNull();
  });

  it('refuses a reservation of a removed schedule (-4) and of one removed and created again', async () => {
    const first = await reserved();
    expect(await scripts.removeSchedule(first.k, 's1')).toBe(true);
    await first.atDue();
    expect(await first.confirm()).toMatchObject({ verdicts: ['lease-lost'] });

    const second = await reserved();
    await scripts.removeSchedule(second.k, 's1');
    await upsert({ id: 's1', fireMs: second.run.fireMs });
    await second.atDue();
    expect(await second.confirm()).toMatchObject({ verdicts: ['lease-lost'] });
  });

  it('checks each run when the earliest lease has run out, refusing an expired one (-5)', async () => {
    const { confirm, atDue, run } = await reserved(100, 200);
    await atDue();
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect(await confirm()).toMatchObject({ status: 'checked', verdicts: ['lease-expired'] });
  });
});

describe('completeRuns', () => {
  it('records a run held with the right token and re-arms it with the next fire time given', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;

    const codes = await complete(k.base, [
      completion(k.member, run.fencingToken, {
        outcome: 'failed',
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_500,
        error: 'boom',
      }),
    ]);
    const after = await redisNow();

    expect(codes).toEqual(['ok']);
    expect(await score(dueKey(), k.member)).toBe(now + 60_500);
    const h = await client.hgetall(k.hash);
    expect(h).toMatchObject({
      r: String(run.fireMs), // the exactly-once mark alone
      nf: String(now + 60_000),
      nd: String(now + 60_500),
      lm: 'boom',
    });
    const [outcome, fire, ended] = h.l.split(':');
    expect([outcome, Number(fire)]).toEqual(['failed', run.fireMs]);
    expect(Number(ended)).toBeGreaterThanOrEqual(now);
    expect(Number(ended)).toBeLessThanOrEqual(after);
    // The run is over: the next claim sees nothing due.
    expect((await claim()).runs).toEqual([]);
  });

  it("'skipped' re-arms without touching the last-run fields", async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          outcome: 'skipped',
          nextFireMs: now + 9_000,
          nextDueMs: now + 9_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await client.hmget(k.hash, 'l', 'nf', 'nd', 'r', 'lm')).toEqual([
      null,
      String(now + 9_000),
      null,
      String(run.fireMs),
      null,
    ]);
    expect(await score(dueKey(), k.member)).toBe(now + 9_000);
  });

  it('returns -4 for a wrong token and leaves the run untouched', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    const before = await client.hgetall(k.hash);

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken + 1000, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost']);
    expect(await client.hgetall(k.hash)).toEqual(before);
    expect(await score(dueKey(), k.member)).toBe(run.leaseUntilMs);
  });

  it('returns -4 for a schedule removed during the run, and writes nothing back', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    expect(await scripts.removeSchedule(k, 's1')).toBe(true);

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost']);
    expect(await client.exists(k.hash)).toBe(0);
    expect(await score(dueKey(), k.member)).toBeNull();
  });

  it('returns -5 once the lease has expired, and leaves the run to be re-claimed', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 150 })).runs;
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, {
      timeoutMs: 5_000,
      message: 'the lease to expire',
    });

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-expired']);
    expect((await runState(k.hash))?.fence).toBe(run.fencingToken);
    expect(await client.hmget(k.hash, 'nf', 'l')).toEqual([String(now - 1_000), null]);
    const [again] = (await claim()).runs;
    expect(again).toMatchObject({ claim: 'recover', attempt: 2, fireMs: run.fireMs });
  });

  it('keeps the next fire time stored by a timing change made during the run', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    expect(run.revision).toBe('1');
    // The cron changes while the run holds its lease.
    await upsert({ id: 's1', fireMs: now + 120_000, cron: '*/2 * * * *' });
    expect(await client.hmget(k.hash, 'rv', 'nf')).toEqual(['2', String(now + 120_000)]);
    // The run keeps its lease score meanwhile.
    expect(await score(dueKey(), k.member)).toBe(run.leaseUntilMs);

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await client.hmget(k.hash, 'nf', 'nd')).toEqual([String(now + 120_000), null]);
    expect(await score(dueKey(), k.member)).toBe(now + 120_000);
  });

  it('re-arms as the pod planned after a change that left the timing alone (payload only)', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    await upsert({ id: 's1', fireMs: now + 120_000, payload: '"new"' });
    expect(await client.hmget(k.hash, 'rv', 'nf')).toEqual(['2', String(now - 1_000)]);
    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await score(dueKey(), k.member)).toBe(now + 60_000);
  });

  it('does not re-arm a schedule paused during the run', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    await pause('s1');
    // Paused while running: the lease entry stays until the run ends.
    expect(await score(dueKey(), k.member)).toBe(run.leaseUntilMs);

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.hget(k.hash, 'en')).toBe('0');
    expect((await client.hget(k.hash, 'l'))?.split(':')[0]).toBe('succeeded');
  });

  it('handles a batch, one code per run in order', async () => {
    const now = await redisNow();
    await upsert({ id: 'a', fireMs: now - 1_000 });
    await upsert({ id: 'b', fireMs: now - 900 });
    const [ra, rb] = (await claim()).runs;
    const base = keysOf('a').base;
    expect(
      await complete(base, [
        completion(ra.member, 999_999, { nextFireMs: now + 60_000, nextDueMs: now + 60_000 }),
        completion(rb.member, rb.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost', 'ok']);
    expect(await score(dueKey(), ra.member)).toBe(ra.leaseUntilMs);
    expect(await score(dueKey(), rb.member)).toBe(now + 60_000);
  });

  it("'retry' keeps the run recorded for the same fire time, unowned, due again at next due", async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    const retryAt = (await redisNow()) + 300;

    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          outcome: 'retry',
          nextFireMs: 0,
          nextDueMs: retryAt + 0.4, // a pod's clock estimate has fractions: stored whole
          error: 'try again',
        }),
      ]),
    ).toEqual(['ok']);
    expect(await runState(k.hash)).toEqual({
      fire: run.fireMs,
      attempt: 1,
      fence: 0,
      lease: retryAt,
      prevHw: '',
    });
    expect(await client.hmget(k.hash, 'lm', 'l')).toEqual(['try again', null]);
    expect(await score(dueKey(), k.member)).toBeCloseTo(retryAt, -1);
    // The old owner no longer holds it.
    expect(
      await scripts.extendLeases(k.base, 10_000, [
        { member: k.member, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    // An upsert meanwhile does not report it as running (no owner) and does not re-arm it.
    const reply = await upsert({ id: 's1', fireMs: now + 60_000, cron: '*/2 * * * *' });
    expect(reply.running).toBe(false);
    expect(await score(dueKey(), k.member)).toBeCloseTo(retryAt, -1);

    // Not before retryAt; then re-claimed for the same fire time with attempt + 1.
    const early = await claim();
    if (early.nowMs < retryAt) expect(early.runs).toEqual([]);
    const again = await waitFor(async () => (await claim()).runs[0], {
      timeoutMs: 5_000,
      message: 'the retry to come due',
    });
    expect(again).toMatchObject({
      member: k.member,
      claim: 'recover',
      attempt: 2,
      fireMs: run.fireMs,
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });

  it('adds skipped fire times to the count returned by upsertSchedules', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    let [run] = (await claim()).runs;
    await complete(k.base, [
      completion(k.member, run.fencingToken, {
        outcome: 'skipped',
        nextFireMs: now - 500,
        nextDueMs: now - 500,
        skipped: 3,
      }),
    ]);
    [run] = (await claim()).runs;
    await complete(k.base, [
      completion(k.member, run.fencingToken, {
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_000,
        skipped: 2,
      }),
    ]);
    expect(await client.hget(k.hash, 'sk')).toBe('5');
    const reply = await upsert({ id: 's1', fireMs: now + 60_000 });
    expect(reply.skippedFires).toBe(5);
  });

  it('pushes dead letters on the partition list, newest first, trimmed to ARGV[1]', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    for (let i = 1; i <= 3; i++) {
      const [run] = (await claim()).runs;
      expect(
        await complete(
          k.base,
          [
            completion(k.member, run.fencingToken, {
              outcome: 'failed',
              nextFireMs: now - 1_000 + i,
              nextDueMs: now - 1_000 + i,
              deadLetter: JSON.stringify({ tenantId: TENANT, n: i }),
            }),
          ],
          2,
        ),
      ).toEqual(['ok']);
    }
    expect(await client.lrange(ks.deadLetters(0), 0, -1)).toEqual([
      JSON.stringify({ tenantId: TENANT, n: 3 }),
      JSON.stringify({ tenantId: TENANT, n: 2 }),
    ]);
    // No dead letter from a rejected completion.
    expect(
      await complete(k.base, [completion(k.member, 999_999, { deadLetter: '{"n":4}' })], 2),
    ).toEqual(['lease-lost']);
    expect(await client.llen(ks.deadLetters(0))).toBe(2);
  });
});

describe('completeRuns with chain (the next fire time reserved for the same pod)', () => {
  it('reserves a next fire time due within the look-ahead, as claimDue would', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    const [result] = await completeWith(
      k.base,
      [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 2_000,
          nextDueMs: now + 2_100,
          chain: 'chain',
        }),
      ],
      { leaseMs: 8_000, lookAheadMs: 5_000 },
    );
    expect(result.verdict).toBe('ok');
    expect(result.chainedFence).toBeGreaterThan(run.fencingToken);
    expect(result.epoch).toBe(0);
    expect(await runState(k.hash)).toEqual({
      fire: now + 2_000,
      attempt: 1,
      fence: result.chainedFence,
      lease: now + 2_100 + 8_000,
      prevHw: String(now - 1_000),
    });
    expect(await score(dueKey(), k.member)).toBe(now + 10_100);
    expect((await client.hget(k.hash, 'l'))?.split(':')[0]).toBe('succeeded');
    // Nobody else claims it; the reservation is confirmed and completed like a claimed one.
    expect((await claim({ lookAheadMs: 5_000 })).runs).toEqual([]);
    await waitFor(async () => (await redisNow()) >= now + 2_100, { timeoutMs: 5_000 });
    expect(
      (await scripts.confirmRuns(k.base, now + 2_100, result.epoch, now + 10_100, [])).status,
    ).toBe('confirmed');
    expect(
      await complete(k.base, [
        completion(k.member, result.chainedFence, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
  });

  it('claims a next fire time due already for the same pod, leased from now', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 2_000 });
    const [run] = (await claim()).runs;
    const [result] = await completeWith(
      k.base,
      [
        completion(k.member, run.fencingToken, {
          nextFireMs: now - 1_000,
          nextDueMs: now - 1_000,
          chain: 'chain',
        }),
      ],
      { leaseMs: 8_000 },
    );
    expect(result.chainedFence).toBeGreaterThan(run.fencingToken);
    expect(await runState(k.hash)).toMatchObject({
      fire: now - 1_000,
      attempt: 1,
      fence: result.chainedFence,
      lease: result.nowMs + 8_000,
    });
    expect(await score(dueKey(), k.member)).toBe(result.nowMs + 8_000);
    expect((await claim()).runs).toEqual([]);
  });

  it('does not chain beyond the look-ahead, a schedule changed or paused during the run, or a skip', async () => {
    const now = await redisNow();
    const ids = ['far', 'changed', 'paused', 'skipped'];
    for (const id of ids) await upsert({ id, fireMs: now - 1_000 });
    const runs = (await claim()).runs;
    const byId = (id: string) => runs.find((r) => r.member === keysOf(id).member)!;
    await upsert({ id: 'changed', fireMs: now - 1_000, payload: '"new"' });
    await pause('paused');
    const results = await completeWith(
      keysOf('far').base,
      ids.map((id) =>
        completion(keysOf(id).member, byId(id).fencingToken, {
          outcome: id === 'skipped' ? 'skipped' : 'succeeded',
          nextFireMs: id === 'far' ? now + 9_000 : now + 2_000,
          nextDueMs: id === 'far' ? now + 9_000 : now + 2_000,
          chain: 'chain',
        }),
      ),
      { lookAheadMs: 5_000 },
    );
    expect(results.map((r) => [r.verdict, r.chainedFence])).toEqual([
      ['ok', 0],
      ['ok', 0],
      ['ok', 0],
      ['ok', 0],
    ]);
    expect(await score(dueKey(), keysOf('far').member)).toBe(now + 9_000);
    expect(await score(dueKey(), keysOf('changed').member)).toBe(now + 2_000);
    expect(await score(dueKey(), keysOf('paused').member)).toBeNull();
    expect(await score(dueKey(), keysOf('skipped').member)).toBe(now + 2_000);
  });
});

describe('completeRuns wake (the next fire time is another pod’s to reserve)', () => {
  it('re-arms it and publishes one wake message per due index with the earliest due time', async () => {
    const now = await redisNow();
    await upsert({ id: 'a', fireMs: now - 1_000 });
    await upsert({ id: 'b', fireMs: now - 1_000 });
    const runs = (await claim()).runs;
    const subscriber = server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(ks.wakeChannel);
    const results = await completeWith(
      keysOf('a').base,
      runs.map((run, i) =>
        completion(run.member, run.fencingToken, {
          nextFireMs: now + 3_000 - i * 1_000,
          nextDueMs: now + 3_000 - i * 1_000,
          chain: 'wake',
        }),
      ),
    );
    expect(results.map((r) => [r.verdict, r.chainedFence])).toEqual([
      ['ok', 0],
      ['ok', 0],
    ]);
    await waitFor(() => messages.length >= 1, { timeoutMs: 5_000, message: 'a wake message' });
    expect(messages).toEqual([`${dueKey()} ${now + 2_000}`]);
    expect(await score(dueKey(), runs[0].member)).toBe(now + 3_000);
    await subscriber.quit();
  });
});

describe('extendLeases', () => {
  it('renews the lease of a run its owner holds, in the hash and the due index', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 1_000 })).runs;

    const before = await redisNow();
    const [lease] = await scripts.extendLeases(k.base, 30_000, [
      { member: k.member, fencingToken: run.fencingToken },
    ]);
    const after = await redisNow();

    expect(lease).toBeGreaterThanOrEqual(before + 30_000);
    expect(lease).toBeLessThanOrEqual(after + 30_000);
    expect(await runState(k.hash)).toMatchObject({ lease, fence: run.fencingToken, attempt: 1 });
    expect(await score(dueKey(), k.member)).toBe(lease);
    // Past the original lease, the run is still held (not re-claimed).
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await claim()).runs).toEqual([]);
    expect(await complete(k.base, [completion(k.member, run.fencingToken)])).toEqual(['ok']);
  });

  it('returns -4 for a wrong token or a removed schedule, without writing', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    const k2 = keysOf('s2');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    await upsert({ id: 's2', fireMs: now - 900 });
    const [r1, r2] = (await claim()).runs;
    await scripts.removeSchedule(k2, 's2');

    expect(
      await scripts.extendLeases(k.base, 30_000, [
        { member: k.member, fencingToken: 999_999 },
        { member: k2.member, fencingToken: r2.fencingToken },
      ]),
    ).toEqual(['lease-lost', 'lease-lost']);
    expect((await runState(k.hash))?.lease).toBe(r1.leaseUntilMs);
    expect(await score(dueKey(), k.member)).toBe(r1.leaseUntilMs);
    expect(await client.exists(k2.hash)).toBe(0);
    expect(await score(dueKey(), k2.member)).toBeNull();
  });

  it('returns -5 once the lease has expired', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 150 })).runs;
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });

    expect(
      await scripts.extendLeases(k.base, 30_000, [
        { member: k.member, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-expired']);
    expect((await runState(k.hash))?.lease).toBe(run.leaseUntilMs);
  });

  it('with a lease of 0 gives the run back, so it is re-claimable at once', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 60_000 })).runs;
    expect((await claim()).runs).toEqual([]);

    const [ended] = await scripts.extendLeases(k.base, 0, [
      { member: k.member, fencingToken: run.fencingToken },
    ]);
    expect(ended).toBeLessThanOrEqual(await redisNow());
    expect(ended).toBeLessThan(run.leaseUntilMs);

    const [again] = (await claim()).runs;
    expect(again).toMatchObject({
      member: k.member,
      claim: 'recover',
      attempt: 2,
      fireMs: run.fireMs,
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });
});

describe('releaseRuns', () => {
  it('hands an unstarted first attempt back as if never claimed: attempt 1 again, mark restored', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [first] = (await claim()).runs;
    await complete(k.base, [
      completion(k.member, first.fencingToken, { nextFireMs: now + 300, nextDueMs: now + 300 }),
    ]);
    const [run] = (await claim({ lookAheadMs: 5_000 })).runs;
    expect(run).toMatchObject({ claim: 'run', fireMs: now + 300 });
    expect(await runState(k.hash)).toMatchObject({ fire: now + 300, prevHw: String(now - 1_000) });

    const subscriber = server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(ks.wakeChannel);
    expect(
      await scripts.releaseRuns(k.base, ks.wakeChannel, [
        { member: k.member, fencingToken: run.fencingToken },
        { member: k.member, fencingToken: 999_999 },
      ]),
    ).toEqual(['ok', 'lease-lost']);
    expect(await client.hget(k.hash, 'r')).toBe(String(now - 1_000));
    expect(await score(dueKey(), k.member)).toBe(now + 300);
    // The other pods hear of it at once.
    await waitFor(() => messages.length >= 1, { timeoutMs: 5_000, message: 'a wake message' });
    expect(messages).toEqual([`${dueKey()} ${now + 300}`]);
    await subscriber.quit();
    const [again] = (await claim({ lookAheadMs: 5_000 })).runs;
    expect(again).toMatchObject({ claim: 'run', attempt: 1, fireMs: now + 300 });
  });

  it('refuses a re-run (attempt > 1): that one is given back by ending its lease', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    await claim({ leaseMs: 100 });
    const again = await waitFor(async () => (await claim()).runs[0], { timeoutMs: 5_000 });
    expect(again.attempt).toBe(2);
    expect(
      await scripts.releaseRuns(k.base, ks.wakeChannel, [
        { member: k.member, fencingToken: again.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    expect((await runState(k.hash))?.fence).toBe(again.fencingToken);
  });
});

describe('retargetRuns', () => {
  it('moves a held first attempt forward, with the mark and the stored next fire time', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 5_000 });
    const [run] = (await claim()).runs;
    expect(
      await scripts.retargetRuns(k.base, [
        { member: k.member, fencingToken: run.fencingToken, fireMs: now - 1_000, dueMs: now - 900 },
        { member: k.member, fencingToken: 999_999, fireMs: now, dueMs: now },
        // not due yet by Redis TIME: refused, nothing written
        {
          member: k.member,
          fencingToken: run.fencingToken,
          fireMs: now + 60_000,
          dueMs: now + 60_000,
        },
      ]),
    ).toEqual(['ok', 'lease-lost', 'too-early']);
    expect(await runState(k.hash)).toMatchObject({ fire: now - 1_000, fence: run.fencingToken });
    expect(await client.hmget(k.hash, 'nf', 'nd')).toEqual([
      String(now - 1_000),
      String(now - 900),
    ]);
  });
});

describe('detachRuns', () => {
  /** Claims s1 (due in the past) and detaches its run, re-arming the schedule at `nextMs`. */
  async function detached(leaseMs = 10_000) {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs })).runs;
    const nextMs = now + 60_000;
    const codes = await scripts.detachRuns(k.base, [
      {
        member: k.member,
        fencingToken: run.fencingToken,
        revision: '1',
        nextFireMs: nextMs,
        nextDueMs: nextMs,
      },
    ]);
    const recordMember = `${k.member}:r:${run.fireMs}`;
    return { now, k, run, nextMs, codes, recordMember, recordHash: `${k.base}s:${recordMember}` };
  }

  it('moves the run into its own record and re-arms the schedule at once', async () => {
    const { k, run, nextMs, codes, recordMember, recordHash } = await detached();
    expect(codes).toEqual(['ok']);
    expect(await client.hgetall(recordHash)).toEqual({
      r: `${run.fireMs}:1:${run.fencingToken}:${run.leaseUntilMs}:`,
      h: 'h:h1',
      // the schedule's incarnation: a schedule created again under this id does not adopt the record
      gn: await client.hget(k.hash, 'gn'),
    });
    expect(await score(dueKey(), recordMember)).toBe(run.leaseUntilMs);
    expect(await score(dueKey(), k.member)).toBe(nextMs);
    expect(await client.hmget(k.hash, 'r', 'nf', 'nd')).toEqual([
      String(run.fireMs),
      String(nextMs),
      '',
    ]);
    // The record's lease is renewed like any run's.
    const [lease] = await scripts.extendLeases(k.base, 30_000, [
      { member: recordMember, fencingToken: run.fencingToken },
    ]);
    expect(lease).toBeGreaterThan(run.leaseUntilMs);
    expect(await score(dueKey(), recordMember)).toBe(lease);
  });

  it('completing the record deletes it and records the outcome on the schedule', async () => {
    const { k, run, nextMs, recordMember, recordHash } = await detached();
    expect(
      await complete(k.base, [
        completion(recordMember, run.fencingToken, { outcome: 'failed', error: 'detached boom' }),
      ]),
    ).toEqual(['ok']);
    expect(await client.exists(recordHash)).toBe(0);
    expect(await score(dueKey(), recordMember)).toBeNull();
    const [l, lm, nf] = await client.hmget(k.hash, 'l', 'lm', 'nf');
    expect(l?.split(':').slice(0, 2)).toEqual(['failed', String(run.fireMs)]);
    expect([lm, nf]).toEqual(['detached boom', String(nextMs)]);
    expect(await score(dueKey(), k.member)).toBe(nextMs);
  });

  it('a record whose lease expired is re-claimed for the same fire time with attempt + 1', async () => {
    const { k, run, recordMember, recordHash } = await detached(150);
    const again = await waitFor(async () => (await claim()).runs[0], {
      timeoutMs: 5_000,
      message: 'the record to be re-claimed',
    });
    expect(again).toMatchObject({
      member: recordMember,
      claim: 'recover',
      attempt: 2,
      fireMs: run.fireMs,
      timing: '* * * * *|UTC|0',
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
    expect((await runState(recordHash))?.fence).toBe(again.fencingToken);
    // The schedule itself is not claimed: it is armed in the future.
    expect(await runState(k.hash)).toBeNull();
  });

  it('returns -4 for a wrong token and -5 after the lease expired, writing nothing', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 150 })).runs;
    const detach = (fencingToken: number) =>
      scripts.detachRuns(k.base, [
        { member: k.member, fencingToken, revision: '1', nextFireMs: now + 1, nextDueMs: now + 1 },
      ]);

    expect(await detach(999_999)).toEqual(['lease-lost']);
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect(await detach(run.fencingToken)).toEqual(['lease-expired']);
    expect(await client.keys(`${k.hash}:r:*`)).toEqual([]);
    expect((await runState(k.hash))?.fence).toBe(run.fencingToken);
    expect(await client.hget(k.hash, 'nf')).toBe(String(now - 1_000));
  });

  it('keeps the next fire time of a timing change, and does not re-arm a paused schedule', async () => {
    const now = await redisNow();
    const a = keysOf('a');
    const b = keysOf('b');
    await upsert({ id: 'a', fireMs: now - 1_000 });
    await upsert({ id: 'b', fireMs: now - 900 });
    const [ra, rb] = (await claim()).runs;
    await upsert({ id: 'a', fireMs: now + 120_000, cron: '*/2 * * * *' }); // revision 2
    await pause('b');

    expect(
      await scripts.detachRuns(a.base, [
        {
          member: a.member,
          fencingToken: ra.fencingToken,
          revision: '1',
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        },
        {
          member: b.member,
          fencingToken: rb.fencingToken,
          revision: '1',
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        },
      ]),
    ).toEqual(['ok', 'ok']);
    expect(await score(dueKey(), a.member)).toBe(now + 120_000);
    expect(await client.hget(a.hash, 'nf')).toBe(String(now + 120_000));
    expect(await score(dueKey(), b.member)).toBeNull();
    // Both detached runs still go on.
    expect(await score(dueKey(), `${a.member}:r:${ra.fireMs}`)).toBe(ra.leaseUntilMs);
    expect(await score(dueKey(), `${b.member}:r:${rb.fireMs}`)).toBe(rb.leaseUntilMs);
  });

  it("drops a removed schedule's record once its lease expires, leaving no key behind", async () => {
    const { k, recordMember } = await detached(150);
    expect(await scripts.removeSchedule(k, 's1')).toBe(true);
    await waitFor(async () => (await redisNow()) > (await score(dueKey(), recordMember))!, {
      timeoutMs: 5_000,
    });
    expect((await claim()).runs).toEqual([]);
    expect(await prefixKeys()).toEqual([ks.fenceCounter(0)]);
  });

  it('removeSchedule makes a detached run lose its lease: no renewal, no completion', async () => {
    // removeSchedule-3.lua: "a run already started loses its lease at the next renewal and cannot
    // record completion" -- this must hold for a detached run (overlap 'allow') too.
    const { k, run, recordMember } = await detached();
    expect(await scripts.removeSchedule(k, 's1')).toBe(true);

    expect(
      await scripts.extendLeases(k.base, 30_000, [
        { member: recordMember, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    expect(await complete(k.base, [completion(recordMember, run.fencingToken)])).toEqual([
      'lease-lost',
    ]);
  });
});

describe('clearDeadLetters', () => {
  const entries = [
    JSON.stringify({ tenantId: 'a', n: 1 }),
    JSON.stringify({ tenantId: 'b', n: 2 }),
    'not json',
    JSON.stringify({ schedule: 'static-one', n: 3 }),
    JSON.stringify({ tenantId: 'a', n: 4 }),
  ];

  it("clears one tenant's entries, keeping the others in order", async () => {
    const list = ks.deadLetters(0);
    await client.rpush(list, ...entries);

    expect(await scripts.clearDeadLetters(list, 'a')).toBe(2);
    expect(await client.lrange(list, 0, -1)).toEqual([entries[1], entries[2], entries[3]]);
    expect(await scripts.clearDeadLetters(list, 'zzz')).toBe(0);
    expect(await client.lrange(list, 0, -1)).toEqual([entries[1], entries[2], entries[3]]);
    expect(await scripts.clearDeadLetters(list, 'b')).toBe(1);
    expect(await client.lrange(list, 0, -1)).toEqual([entries[2], entries[3]]);
  });

  it("clears everything with '' and deletes the list", async () => {
    const list = ks.deadLetters(0);
    expect(await scripts.clearDeadLetters(list, '')).toBe(0);
    await client.rpush(list, ...entries);
    expect(await scripts.clearDeadLetters(list, '')).toBe(5);
    expect(await client.exists(list)).toBe(0);
    expect(await prefixKeys()).toEqual([]);
  });

  it('handles lists longer than one RPUSH chunk (500)', async () => {
    const list = ks.deadLetters(0);
    const many = Array.from({ length: 1_203 }, (_, i) =>
      JSON.stringify({ tenantId: i % 3 === 0 ? 'a' : 'b', i }),
    );
    await client.rpush(list, ...many);
    expect(await scripts.clearDeadLetters(list, 'a')).toBe(401);
    expect(await client.lrange(list, 0, -1)).toEqual(many.filter((_, i) => i % 3 !== 0));
  });
});

describe('upsertSchedules', () => {
  it('creates a schedule: hash, tenant set, due index entry and the reply of its header', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    const before = await redisNow();
    const { nowMs, replies } = await upsertBatch([
      {
        id: 's1',
        fireMs: now + 60_000,
        dueMs: now + 61_000,
        cron: '0 9 * * 1',
        timeZone: 'Europe/Paris',
        jitterMs: 5_000,
        payload: '{"a":1}',
      },
    ]);
    const after = await redisNow();

    expect(nowMs).toBeGreaterThanOrEqual(before);
    expect(nowMs).toBeLessThanOrEqual(after);
    expect(replies).toEqual([
      {
        status: 'created',
        nextFireMs: now + 60_000,
        nextDueMs: now + 61_000,
        createdAtMs: nowMs,
        last: '',
        lastError: '',
        running: false,
        skippedFires: 0,
      },
    ]);
    // Fields at their default are not stored: no policy, no 'en' while enabled.
    expect(await client.hgetall(k.hash)).toEqual({
      h: 'h:h1',
      t: '0 9 * * 1|Europe/Paris|5000',
      p: '{"a":1}',
      nf: String(now + 60_000),
      nd: String(now + 61_000),
      rv: '1',
      ca: String(nowMs), // 'ua' comes with the first update
      gn: expect.any(String),
    });
    expect(await client.smembers(ks.tenantSet(TENANT))).toEqual(['s1']);
    expect(await score(dueKey(), k.member)).toBe(now + 61_000);
  });

  it('is idempotent: the same timing again keeps the next fire time; a revision counts changes', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    const first = await upsert({ id: 's1', fireMs: now + 60_000 });
    const same = await upsert({ id: 's1', fireMs: now + 90_000 });
    expect(await client.hget(k.hash, 'rv')).toBe('1');
    const second = await upsert({ id: 's1', fireMs: now + 120_000, payload: '{"changed":true}' });

    expect([same.status, same.nextFireMs]).toEqual(['updated', now + 60_000]);
    expect(second.status).toBe('updated');
    expect(second.nextFireMs).toBe(now + 60_000);
    expect(second.nextDueMs).toBe(now + 60_000);
    expect(second.createdAtMs).toBe(first.createdAtMs);
    expect(Number(await client.hget(k.hash, 'ua'))).toBeGreaterThanOrEqual(first.createdAtMs);
    expect(await client.hmget(k.hash, 'nf', 'nd', 'rv', 'p')).toEqual([
      String(now + 60_000),
      null,
      '2',
      '{"changed":true}',
    ]);
    expect(await score(dueKey(), k.member)).toBe(now + 60_000);
    expect(await client.scard(ks.tenantSet(TENANT))).toBe(1);
    // Dropping the payload deletes the field.
    await upsert({ id: 's1', fireMs: now + 60_000 });
    expect(await client.hexists(k.hash, 'p')).toBe(0);
  });

  it.each([
    ['cron', { cron: '*/2 * * * *' }],
    ['time zone', { timeZone: 'Asia/Tokyo' }],
    ['jitter', { jitterMs: 1_000 }],
  ])('a %s change replaces the next fire time and bumps the revision', async (_what, change) => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + 60_000 });
    const reply = await upsert({
      id: 's1',
      fireMs: now + 120_000,
      dueMs: now + 120_500,
      ...change,
    });

    expect([reply.status, reply.nextFireMs, reply.nextDueMs]).toEqual([
      'updated',
      now + 120_000,
      now + 120_500,
    ]);
    expect(await client.hmget(k.hash, 'nf', 'nd', 'rv')).toEqual([
      String(now + 120_000),
      String(now + 120_500),
      '2',
    ]);
    expect(await score(dueKey(), k.member)).toBe(now + 120_500);
  });

  it('refuses a new schedule over the tenant quota with -1 and writes nothing', async () => {
    const now = await redisNow();
    await upsert({ id: 'a', fireMs: now + 60_000, maxPerTenant: 2 });
    await upsert({ id: 'b', fireMs: now + 60_000, maxPerTenant: 2 });
    const keysBefore = await prefixKeys();
    const dueBefore = await client.zrange(dueKey(), 0, '-1');

    const refused = await refusal({ id: 'c', fireMs: now + 1_000, maxPerTenant: 2 });
    expect(refused).toBeInstanceOf(TenantQuotaExceededError);
    expect(refused).toMatchObject({ tenantId: TENANT, limit: 2 });

    expect(await client.exists(keysOf('c').hash)).toBe(0);
    expect((await client.smembers(ks.tenantSet(TENANT))).sort()).toEqual(['a', 'b']);
    expect(await client.zrange(dueKey(), 0, '-1')).toEqual(dueBefore);
    expect(await prefixKeys()).toEqual(keysBefore);
    // Updating an existing schedule at the quota is allowed; another tenant is not affected.
    expect((await upsert({ id: 'a', fireMs: now + 60_000, maxPerTenant: 2 })).status).toBe(
      'updated',
    );
    expect(
      (await upsert({ id: 'c', fireMs: now + 60_000, maxPerTenant: 2, tenant: 'other' })).status,
    ).toBe('created');
  });

  it('counts schedules created earlier in the same batch against the quota', async () => {
    const now = await redisNow();
    const { replies } = await upsertBatch(
      ['a', 'b', 'c', 'd'].map((id) => ({ id, fireMs: now + 60_000, maxPerTenant: 3 })),
    );
    expect(replies.map((r) => r.status)).toEqual(['created', 'created', 'created', 'refused']);
    expect(await client.scard(ks.tenantSet(TENANT))).toBe(3);
    expect(await client.zcard(dueKey())).toBe(3);
  });

  it('refuses a payload over the limit (counted in bytes) with -2 and writes nothing', async () => {
    const now = await redisNow();
    const payload = JSON.stringify('ééééé'); // 7 characters, 12 bytes
    const tooLarge = { bytes: 12, maxBytes: 10 };
    const refused = await refusal({ id: 'new', fireMs: now + 1_000, payload, maxPayloadBytes: 10 });
    expect(refused).toBeInstanceOf(PayloadTooLargeError);
    expect(refused).toMatchObject(tooLarge);
    expect(await prefixKeys()).toEqual([]);

    const k = keysOf('old');
    await upsert({ id: 'old', fireMs: now + 60_000, payload: '"ok"', maxPayloadBytes: 10 });
    const before = await client.hgetall(k.hash);
    expect(
      await refusal({
        id: 'old',
        fireMs: now + 1_000,
        payload,
        cron: '*/3 * * * *',
        maxPayloadBytes: 10,
      }),
    ).toMatchObject(tooLarge);
    expect(await client.hgetall(k.hash)).toEqual(before);
    expect(await score(dueKey(), k.member)).toBe(now + 60_000);
    // At the limit exactly is fine.
    const exact = '"12345678"'; // 10 bytes
    expect(
      (await upsert({ id: 'old', fireMs: now + 60_000, payload: exact, maxPayloadBytes: 10 }))
        .status,
    ).toBe('updated');
  });

  it('moves the member between due indexes when the handler changes', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + 60_000, handler: 'h1' });
    expect(await score(dueKey('h1'), k.member)).toBe(now + 60_000);

    const reply = await upsert({ id: 's1', fireMs: now + 90_000, handler: 'h2' });
    expect([reply.status, reply.nextFireMs]).toEqual(['updated', now + 90_000]);
    expect(await score(dueKey('h1'), k.member)).toBeNull();
    expect(await score(dueKey('h2'), k.member)).toBe(now + 90_000);
    expect(await client.hmget(k.hash, 'h', 'rv')).toEqual(['h:h2', '2']);
  });

  it('the last write of a schedule in a batch wins, in the due index too', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsertBatch([
      { id: 's1', fireMs: now + 60_000, handler: 'h1' },
      { id: 's1', fireMs: now + 70_000, handler: 'h2' },
      { id: 's1', fireMs: now + 80_000, handler: 'h2', cron: '*/2 * * * *', enabled: false },
    ]);
    expect(await score(dueKey('h1'), k.member)).toBeNull();
    expect(await score(dueKey('h2'), k.member)).toBeNull();
    expect(await client.hmget(k.hash, 'h', 'en', 'rv')).toEqual(['h:h2', '0', '3']);
  });

  it('moves a running schedule to the new handler index with its lease score', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000, handler: 'h1' });
    const [run] = (await claim({ handler: 'h1' })).runs;

    const reply = await upsert({ id: 's1', fireMs: now + 90_000, handler: 'h2' });
    expect(reply.running).toBe(true);
    expect(await score(dueKey('h1'), k.member)).toBeNull();
    expect(await score(dueKey('h2'), k.member)).toBe(run.leaseUntilMs);
    // Its completion re-arms in the new index, with the new timing (revision changed).
    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await score(dueKey('h2'), k.member)).toBe(now + 90_000);
    expect(await score(dueKey('h1'), k.member)).toBeNull();
  });

  it('a disabled upsert takes the schedule out of its due index', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + 60_000 });
    await upsert({ id: 's1', fireMs: now + 60_000, enabled: false });
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.hget(k.hash, 'en')).toBe('0');
    // Re-enabling is a timing change: the given next fire time is used.
    const back = await upsert({ id: 's1', fireMs: now + 70_000 });
    expect([back.status, back.nextFireMs, back.nextDueMs]).toEqual([
      'updated',
      now + 70_000,
      now + 70_000,
    ]);
    expect(await client.hexists(k.hash, 'en')).toBe(0);
    expect(await score(dueKey(), k.member)).toBe(now + 70_000);
  });

  it('moves the change epoch on only for a change to a schedule holding a run state', async () => {
    const now = await redisNow();
    await upsert({ id: 'idle', fireMs: now + 60_000 });
    await upsert({ id: 'idle', fireMs: now + 60_000, payload: '"x"' });
    await upsert({ id: 'busy', fireMs: now - 1_000 });
    await claim();
    expect(await epoch()).toBe(0);
    await upsert({ id: 'busy', fireMs: now - 1_000 }); // no change
    expect(await epoch()).toBe(0);
    await upsertBatch([
      { id: 'busy', fireMs: now + 60_000, payload: '"y"' },
      { id: 'busy', fireMs: now + 60_000, payload: '"z"' },
    ]);
    expect(await epoch()).toBe(1); // once per batch
  });

  it('publishes on the wake channel only when a batch arms earlier than anything its index held', async () => {
    const subscriber = server.client();
    const messages: string[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === ks.wakeChannel) messages.push(message);
    });
    await subscriber.subscribe(ks.wakeChannel);
    const now = await redisNow();

    await upsert({ id: 'first', fireMs: now + 60_000 }); // empty index: earliest
    await upsert({ id: 'later', fireMs: now + 120_000 }); // not the earliest: silent
    await upsert({ id: 'same', fireMs: now + 60_000 }); // equal, not earlier: silent
    await upsert({ id: 'other-handler', fireMs: now + 90_000, handler: 'h2' }); // its own index
    await upsertBatch([
      { id: 'b1', fireMs: now + 40_000 },
      { id: 'b2', fireMs: now + 30_000 },
      { id: 'b3', fireMs: now + 50_000 },
    ]); // one message for the batch: its earliest

    await waitFor(() => messages.length >= 3, { timeoutMs: 5_000, message: '3 wake messages' });
    // Messages arrive in publish order, so a message from a silent upsert would precede the last.
    expect(messages).toEqual([
      `${dueKey()} ${now + 60_000}`,
      `${dueKey('h2')} ${now + 90_000}`,
      `${dueKey()} ${now + 30_000}`,
    ]);
    await subscriber.quit();
  });
});

describe('removeSchedule', () => {
  it('removes hash, due entry and tenant membership: 1, then 0', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + 60_000 });
    await upsert({ id: 's2', fireMs: now + 60_000 });

    expect(await scripts.removeSchedule(k, 's1')).toBe(true);
    expect(await client.exists(k.hash)).toBe(0);
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.smembers(ks.tenantSet(TENANT))).toEqual(['s2']);
    expect(await epoch()).toBe(0);

    expect(await scripts.removeSchedule(k, 's1')).toBe(false);
    expect(await client.smembers(ks.tenantSet(TENANT))).toEqual(['s2']);
  });

  it('leaves no key behind except the fence counter, even for a schedule that ran', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    expect(
      await complete(k.base, [
        completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect((await prefixKeys()).length).toBeGreaterThan(1);

    expect(await scripts.removeSchedule(k, 's1')).toBe(true);
    expect(await prefixKeys()).toEqual([ks.fenceCounter(0)]);
  });

  it('removes a running schedule: it is neither re-claimed nor re-armed, and the epoch moves on', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim({ leaseMs: 150 })).runs;
    expect(await scripts.removeSchedule(k, 's1')).toBe(true);
    expect(await epoch()).toBe(1);
    await waitFor(async () => (await redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });

    expect((await claim()).runs).toEqual([]);
    expect(await prefixKeys()).toEqual([ks.epochCounter(0), ks.fenceCounter(0)].sort());
  });
});

describe('setEnabled', () => {
  it('pause takes the schedule out of its due index and returns its stored times', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });

    expect(await pause('s1')).toEqual({
      status: 'done',
      nextFireMs: now - 1_000,
      nextDueMs: now - 1_000,
    });
    expect(await score(dueKey(), k.member)).toBeNull();
    expect(await client.hmget(k.hash, 'en', 'rv')).toEqual(['0', '2']);
    expect((await claim()).runs).toEqual([]);
    expect(await epoch()).toBe(0);
  });

  it('resume re-adds the schedule with the given next fire time, bumps the revision and wakes workers', async () => {
    const subscriber = server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(ks.wakeChannel);
    const now = await redisNow();
    const k = keysOf('s1');
    const timing = '* * * * *|UTC|0';
    await upsert({ id: 's1', fireMs: now + 60_000 });
    await pause('s1');

    expect(
      await scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: now + 5_000, nextDueMs: now + 5_500, timing: timing },
        ks.wakeChannel,
      ),
    ).toEqual({ status: 'done', nextFireMs: now + 5_000, nextDueMs: now + 5_500 });
    expect(await score(dueKey(), k.member)).toBe(now + 5_500);
    expect(await client.hmget(k.hash, 'en', 'nf', 'nd', 'rv')).toEqual([
      null,
      String(now + 5_000),
      String(now + 5_500),
      '3',
    ]);
    await waitFor(() => messages.length >= 2, { timeoutMs: 5_000, message: 'the resume wake-up' });
    expect(messages).toEqual([`${dueKey()} ${now + 60_000}`, `${dueKey()} ${now + 5_500}`]);

    // Resuming an enabled schedule changes nothing.
    expect(
      await scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: now + 9_000, nextDueMs: now + 9_000, timing: timing },
        ks.wakeChannel,
      ),
    ).toEqual({ status: 'done', nextFireMs: now + 5_000, nextDueMs: now + 5_500 });
    expect(await score(dueKey(), k.member)).toBe(now + 5_500);
    await subscriber.quit();
  });

  it('refuses a resume computed from a timing that changed since it was read (-6)', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now + 60_000 });
    await pause('s1');
    await upsert({ id: 's1', fireMs: now + 60_000, cron: '0 * * * *', enabled: false });
    expect(
      await scripts.setEnabled(
        k,
        {
          enabled: true,
          nextFireMs: now + 5_000,
          nextDueMs: now + 5_000,
          timing: '* * * * *|UTC|0',
        },
        ks.wakeChannel,
      ),
    ).toMatchObject({ status: 'changed', error: expect.any(ConcurrentChangeError) });
    expect(await client.hget(k.hash, 'en')).toBe('0');
    expect(await score(dueKey(), k.member)).toBeNull();
  });

  it('pausing a schedule that holds a run state moves the change epoch on', async () => {
    const now = await redisNow();
    const k = keysOf('s1');
    await upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await claim()).runs;
    await pause('s1');
    expect(await epoch()).toBe(1);
    // The run's entry stays (its lease) until it ends.
    expect(await score(dueKey(), k.member)).toBe(run.leaseUntilMs);
  });

  it('returns {0} for an unknown schedule and creates nothing', async () => {
    const k = keysOf('nope');
    expect(await pause('nope')).toEqual({ status: 'not-found' });
    expect(
      await scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: 1, nextDueMs: 1, timing: '' },
        ks.wakeChannel,
      ),
    ).toEqual({ status: 'not-found' });
    expect(await prefixKeys()).toEqual([]);
  });
});

describe('heartbeat', () => {
  it('lists the live pods of a registry, sorted; an expired or leaving pod is out', async () => {
    const registry = ks.podRegistry('h:h1');
    expect(await scripts.heartbeat([registry], 'pod-b', 10_000, ks.wakeChannel)).toEqual([
      ['pod-b'],
    ]);
    expect(await scripts.heartbeat([registry], 'pod-c', 150, ks.wakeChannel)).toEqual([
      ['pod-b', 'pod-c'],
    ]);
    expect(await scripts.heartbeat([registry], 'pod-a', 10_000, ks.wakeChannel)).toEqual([
      ['pod-a', 'pod-b', 'pod-c'],
    ]);
    await waitFor(
      async () =>
        (await scripts.heartbeat([registry], 'pod-a', 10_000, ks.wakeChannel))[0].length === 2,
      { timeoutMs: 5_000, message: 'pod-c to expire' },
    );
    expect(await scripts.heartbeat([registry], 'pod-b', 0, ks.wakeChannel)).toEqual([['pod-a']]);
    expect(await client.pttl(registry)).toBeGreaterThan(10_000);
  });

  it('announces a change of the set of pods on the wake channel, and only a change', async () => {
    const registry = ks.podRegistry('h:h1');
    const subscriber = server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(ks.wakeChannel);
    await scripts.heartbeat([registry], 'pod-a', 10_000, ks.wakeChannel); // joins
    await scripts.heartbeat([registry], 'pod-a', 10_000, ks.wakeChannel); // stays: silent
    await scripts.heartbeat([registry], 'pod-b', 10_000, ks.wakeChannel); // joins
    await scripts.heartbeat([registry], 'pod-b', 0, ks.wakeChannel); // leaves
    await waitFor(() => messages.length >= 3, { timeoutMs: 5_000, message: '3 messages' });
    expect(messages).toEqual([`${registry} 0`, `${registry} 0`, `${registry} 0`]);
    await scripts.heartbeat([registry], 'pod-a', 10_000, ks.wakeChannel);
    await subscriber.quit();
    expect(messages).toHaveLength(3);
  });
});

describe('acquireLock / extendLock / releaseLock', () => {
  it('acquire is exclusive and returns a fencing token', async () => {
    const { lock, fence } = ks.lock('job');
    const t1 = await scripts.acquireLock(lock, fence, 'owner-1', 10_000);
    expect(t1).toBeGreaterThanOrEqual(1);
    expect(await scripts.acquireLock(lock, fence, 'owner-2', 10_000)).toBeNull();
    expect(await client.get(lock)).toBe('owner-1');
    const pttl = await client.pttl(lock);
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it('extend and release work for the owner only', async () => {
    const { lock, fence } = ks.lock('job');
    await scripts.acquireLock(lock, fence, 'owner-1', 1_000);

    expect(await scripts.extendLock(lock, 'owner-2', 60_000)).toBe(false);
    expect(await client.pttl(lock)).toBeLessThanOrEqual(1_000);
    expect(await scripts.extendLock(lock, 'owner-1', 60_000)).toBe(true);
    expect(await client.pttl(lock)).toBeGreaterThan(50_000);

    expect(await scripts.releaseLock(lock, 'owner-2')).toBe(false);
    expect(await client.get(lock)).toBe('owner-1');
    expect(await scripts.releaseLock(lock, 'owner-1')).toBe(true);
    expect(await client.exists(lock)).toBe(0);
    expect(await scripts.releaseLock(lock, 'owner-1')).toBe(false);
    expect(await scripts.extendLock(lock, 'owner-1', 1_000)).toBe(false);
    expect(await client.exists(lock)).toBe(0);
  });

  it('fencing tokens strictly increase across acquisitions, after release and after expiry', async () => {
    const { lock, fence } = ks.lock('job');
    const tokens: (number | null)[] = [];
    tokens.push(await scripts.acquireLock(lock, fence, 'a', 10_000));
    await scripts.releaseLock(lock, 'a');
    tokens.push(await scripts.acquireLock(lock, fence, 'b', 100));
    await waitFor(async () => (await client.exists(lock)) === 0, { timeoutMs: 5_000 });
    tokens.push(await scripts.acquireLock(lock, fence, 'c', 10_000));
    // The expired owner cannot touch the new owner's lock.
    expect(await scripts.extendLock(lock, 'b', 10_000)).toBe(false);
    expect(await scripts.releaseLock(lock, 'b')).toBe(false);
    expect(await client.get(lock)).toBe('c');

    const [first] = tokens as number[];
    expect(tokens).toEqual([first, first + 1, first + 2]);
    expect(tokens[0]).toBeGreaterThanOrEqual(1);
    // Only the lock and its fence counter exist.
    expect(await prefixKeys()).toEqual([lock, fence].sort());
  });
});

describe('regressions found in review', () => {
  it('a stale claim whose lease lapses is stale again, never a second run of that fire time', async () => {
    const fire = (await redisNow()) - 5_000;
    await upsert({ id: 's', fireMs: fire });
    const [first] = (await claim()).runs;
    expect(first.claim).toBe('run');
    const k = keysOf('s');
    expect(
      await complete(
        k.base,
        [
          completion(k.member, first.fencingToken, {
            nextFireMs: fire + 60_000,
            nextDueMs: fire + 60_000,
          }),
        ],
        100,
        10,
      ),
    ).toEqual(['ok']);
    // A timing change that re-arms at the fire time already run (a writer's lagging clock).
    await upsert({ id: 's', fireMs: fire, jitterMs: 1 });
    const [stale] = (await claim({ leaseMs: 50 })).runs;
    expect(stale).toMatchObject({ claim: 'stale', fireMs: fire });
    await new Promise((resolve) => setTimeout(resolve, 80)); // its pod never completes it
    const [again] = (await claim()).runs;
    expect(again).toMatchObject({ claim: 'stale', fireMs: fire, attempt: 0 });
    expect(
      await complete(
        k.base,
        [
          completion(k.member, again.fencingToken, {
            outcome: 'skipped',
            revision: again.revision,
            nextFireMs: fire + 60_000,
            nextDueMs: fire + 60_000,
          }),
        ],
        100,
        10,
      ),
    ).toEqual(['ok']);
    const history = await client.lrange(ks.history(k), 0, -1);
    expect(
      history.filter((h) => h.startsWith(`${fire},`) && h.includes(',succeeded,')),
    ).toHaveLength(1);
  });

  it('tenant "r" with a numeric id is a schedule, not a detached run record', async () => {
    const fire = (await redisNow()) - 1_000;
    await upsert({ tenant: 'r', id: '123', fireMs: fire });
    const reply = await claim();
    expect(reply.runs.map((r) => [r.member, r.claim])).toEqual([['t:r:123', 'run']]);
    expect(await client.exists(keysOf('123', 'h1', 'r').hash)).toBe(1);
  });

  it('a detached run of a removed schedule is not adopted by a schedule created again under its id', async () => {
    const fire = (await redisNow()) - 1_000;
    await upsert({ id: 'a', fireMs: fire });
    const k = keysOf('a');
    const [run] = (await claim()).runs;
    expect(
      await scripts.detachRuns(k.base, [
        {
          member: k.member,
          fencingToken: run.fencingToken,
          revision: run.revision,
          nextFireMs: fire + 60_000,
          nextDueMs: fire + 60_000,
        },
      ]),
    ).toEqual(['ok']);
    const record = `${k.member}:r:${fire}`;
    // The detached run fails and a retry is due at once; then the schedule is removed and created again.
    expect(
      await complete(k.base, [
        completion(record, run.fencingToken, { outcome: 'retry', nextDueMs: fire }),
      ]),
    ).toEqual(['ok']);
    expect(await scripts.removeSchedule(k, 'a')).toBe(true);
    await upsert({ id: 'a', fireMs: (await redisNow()) + 60_000, cron: '0 * * * *' });
    const reply = await claim();
    expect(reply.runs.filter((r) => r.member === record)).toEqual([]);
    expect(await client.exists(`${k.base}s:${record}`)).toBe(0);
  });
});
