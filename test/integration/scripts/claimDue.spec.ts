import type { ClaimReply } from '../../../lib/redis/protocol/run.types';
import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * claimDue-4.lua called directly: which members it claims by Redis TIME, the run it describes,
 * leases, fencing tokens, re-claims ('recover'), the exactly-once mark ('stale'), and reservations
 * within a look-ahead.
 */

const h = useScriptHarness();

describe('claimDue', () => {
  it('claims only members whose score is at or below Redis TIME, with the full run description', async () => {
    const now = await h.redisNow();
    const due = h.keysOf('due-now');
    const later = h.keysOf('later');
    const soon = h.keysOf('soon');
    await h.upsert({
      id: 'due-now',
      fireMs: now - 1_000,
      cron: '*/5 * * * *',
      timeZone: 'Europe/Paris',
      jitterMs: 0,
      payload: '{"r":1}',
      policy: '{"overlap":"allow"}',
    });
    await h.upsert({ id: 'later', fireMs: now + 60_000 });
    await h.upsert({ id: 'soon', fireMs: now + 1_500 });

    const before = await h.redisNow();
    const reply = await h.claim({ leaseMs: 5_000 });
    const after = await h.redisNow();

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
      incarnation: Number(await h.client.hget(due.hash, 'gn')),
    });
    expect(run.fencingToken).toBeGreaterThanOrEqual(1);
    // Future members are untouched.
    expect(await h.score(h.dueKey(), later.member)).toBe(now + 60_000);
    expect(await h.score(h.dueKey(), soon.member)).toBe(now + 1_500);
    expect(await h.runState(later.hash)).toBeNull();

    // Once Redis's clock passes its score, the 'soon' member is claimed too.
    const next = await waitFor(
      async () => {
        const r = await h.claim();
        return r.runs.length > 0 ? r : null;
      },
      { timeoutMs: 5_000, message: 'the soon member to become due' },
    );
    expect(next.runs.map((r) => r.member)).toEqual([soon.member]);
    expect(next.nowMs).toBeGreaterThanOrEqual(now + 1_500);
  });

  it("sets the member's score to the lease expiry and records the run in the hash", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 500 });
    const reply = await h.claim({ leaseMs: 7_000 });
    const [run] = reply.runs;

    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);
    expect(run.leaseUntilMs).toBe(reply.nowMs + 7_000);
    expect(await h.runState(k.hash)).toEqual({
      fire: now - 500,
      attempt: 1,
      fence: run.fencingToken,
      lease: run.leaseUntilMs,
      prevHw: '',
    });
    // A held run is not claimed again while its lease lasts.
    expect((await h.claim()).runs).toEqual([]);
  });

  it('respects the limit and hands out strictly increasing fencing tokens', async () => {
    const now = await h.redisNow();
    for (let i = 0; i < 5; i++) await h.upsert({ id: `s${i}`, fireMs: now - 5_000 + i });

    const first = await h.claim({ limit: 2 });
    const second = await h.claim({ limit: 2 });
    const third = await h.claim({ limit: 2 });
    const fourth = await h.claim({ limit: 2 });

    expect(first.runs).toHaveLength(2);
    expect(second.runs).toHaveLength(2);
    expect(third.runs).toHaveLength(1);
    expect(fourth.runs).toHaveLength(0);
    const all = [...first.runs, ...second.runs, ...third.runs];
    // Oldest due first, each schedule once.
    expect(all.map((r) => r.member)).toEqual([0, 1, 2, 3, 4].map((i) => h.keysOf(`s${i}`).member));
    const fences = all.map((r) => r.fencingToken);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]);
  });

  it('returns the first score after the look-ahead, or null when there is none', async () => {
    expect((await h.claim()).nextScoreMs).toBeNull();

    const now = await h.redisNow();
    await h.upsert({ id: 'past1', fireMs: now - 2_000 });
    await h.upsert({ id: 'past2', fireMs: now - 1_000 });
    await h.upsert({ id: 'future', fireMs: now + 30_000 });

    // Limit 1: 'past2' (due) is left behind, so the next score to look at is the last one
    // examined: more may be due.
    const one = await h.claim({ limit: 1, leaseMs: 60_000 });
    expect(one.runs.map((r) => r.member)).toEqual([h.keysOf('past1').member]);
    expect(one.nextScoreMs).toBe(now - 2_000);

    const rest = await h.claim({ leaseMs: 60_000 });
    expect(rest.runs.map((r) => r.member)).toEqual([h.keysOf('past2').member]);
    expect(rest.nextScoreMs).toBe(now + 30_000);

    // With a short lease the lease expiry is the first score.
    await h.upsert({ id: 'past3', fireMs: now - 10 });
    const short = await h.claim({ leaseMs: 1_000 });
    expect(short.nextScoreMs).toBe(short.runs[0].leaseUntilMs);
    // Beyond a look-ahead window, the first score after it.
    expect((await h.claim({ lookAheadMs: 40_000 })).nextScoreMs).toBe(one.runs[0].leaseUntilMs);
  });

  it('re-claims a run whose lease expired with attempt + 1, the same fire time and a larger fencing token', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 100 });
    const [first] = (await h.claim({ leaseMs: 200 })).runs;
    expect(first.claim).toBe('run');

    const second = await waitFor(async () => (await h.claim({ leaseMs: 10_000 })).runs[0], {
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
    expect((await h.runState(k.hash))?.fence).toBe(second.fencingToken);
    // The first owner can no longer record its run.
    expect(await h.complete(k.base, [h.completion(k.member, first.fencingToken)])).toEqual([
      'lease-lost',
    ]);
  });

  it('keeps re-claiming a run whose lease keeps expiring, attempt after attempt (no cap in the script)', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 's1', fireMs: now - 100 });
    const claimExpired = async (): Promise<ClaimReply['runs'][number]> =>
      waitFor(async () => (await h.claim({ leaseMs: 150 })).runs[0], {
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
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    expect(run.claim).toBe('run');
    // A pod re-arms the schedule at the fire time it just ran (a skewed or buggy planner).
    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, { nextFireMs: run.fireMs, nextDueMs: run.fireMs }),
      ]),
    ).toEqual(['ok']);
    // The run state is back to the exactly-once mark alone: that fire time.
    expect(await h.client.hget(k.hash, 'r')).toBe(String(run.fireMs));

    const [again] = (await h.claim()).runs;
    expect(again).toMatchObject({
      member: k.member,
      claim: 'stale',
      fireMs: run.fireMs,
      attempt: 0,
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });

  it("returns 'stale' for a fire time below the high-water mark, and keeps the mark", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    await h.client.hset(k.hash, 'r', String(now + 5_000));

    const [run] = (await h.claim()).runs;
    expect(run).toMatchObject({ claim: 'stale', fireMs: now - 1_000 });
    expect((await h.runState(k.hash))?.prevHw).toBe(String(now + 5_000));
  });

  it("drops a removed schedule's stray member without claiming it", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('gone');
    await h.upsert({ id: 'gone', fireMs: now - 1_000 });
    expect(await h.scripts.removeSchedule(k, 'gone', h.ks.wakeChannel)).toBe(true);
    await h.client.zadd(h.dueKey(), now - 1_000, k.member); // a stray left by a race

    const reply = await h.claim();
    expect(reply.runs).toEqual([]);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.exists(k.hash)).toBe(0);
  });

  it("drops a paused schedule's stray member without claiming it", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('paused');
    await h.upsert({ id: 'paused', fireMs: now - 1_000 });
    await h.pause('paused');
    await h.client.zadd(h.dueKey(), now - 1_000, k.member); // a stray left by a race

    const reply = await h.claim();
    expect(reply.runs).toEqual([]);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.hget(k.hash, 'en')).toBe('0');
    expect(await h.runState(k.hash)).toBeNull();
  });
});

describe('claimDue with a look-ahead (reservations)', () => {
  it('reserves first attempts due within the look-ahead, leased from their due time', async () => {
    const now = await h.redisNow();
    const soon = h.keysOf('soon');
    await h.upsert({ id: 'soon', fireMs: now + 2_000, dueMs: now + 2_300 });
    await h.upsert({ id: 'far', fireMs: now + 60_000 });

    const reply = await h.claim({ lookAheadMs: 5_000, leaseMs: 10_000 });
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
    expect(await h.score(h.dueKey(), soon.member)).toBe(now + 12_300);
    expect((await h.runState(soon.hash))?.fire).toBe(now + 2_000);
    expect(reply.nextScoreMs).toBe(now + 12_300);
    // Without a look-ahead nothing is due.
    await h.client.zadd(h.dueKey(), now + 2_300, soon.member);
    await h.client.hdel(soon.hash, 'r');
    expect((await h.claim()).runs).toEqual([]);
  });

  it('leases a reservation for ARGV[8] from its due time, and what is due for ARGV[2] from now', async () => {
    const now = await h.redisNow();
    const soon = h.keysOf('soon');
    const due = h.keysOf('due');
    await h.upsert({ id: 'soon', fireMs: now + 2_000 });
    await h.upsert({ id: 'due', fireMs: now - 1_000 });
    const reply = await h.claim({ lookAheadMs: 5_000, leaseMs: 30_000, reservationLeaseMs: 5_000 });
    const byMember = new Map(reply.runs.map((r) => [r.member, r]));
    expect(byMember.get(soon.member)?.leaseUntilMs).toBe(now + 2_000 + 5_000);
    expect(byMember.get(due.member)?.leaseUntilMs).toBe(reply.nowMs + 30_000);
    // As stored: the run state's lease and the due-index score, where a re-claim finds it.
    expect((await h.runState(soon.hash))?.lease).toBe(now + 7_000);
    expect(await h.score(h.dueKey(), soon.member)).toBe(now + 7_000);
    expect(await h.score(h.dueKey(), due.member)).toBe(reply.nowMs + 30_000);
  });

  it('leaves retries not yet due and held leases inside the window alone, and reports the least such score', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    const retryAt = (await h.redisNow()) + 3_000;
    await h.complete(k.base, [
      h.completion(k.member, run.fencingToken, { outcome: 'retry', nextDueMs: retryAt }),
    ]);

    const reply = await h.claim({ lookAheadMs: 5_000 });
    expect(reply.runs).toEqual([]);
    expect(reply.heldScoreMs).toBe(retryAt);
    expect(await h.score(h.dueKey(), k.member)).toBe(retryAt);
  });

  it('reserves only schedules assigned to this pod (incarnation modulo pods); what is due, anyone claims', async () => {
    const now = await h.redisNow();
    for (let i = 0; i < 6; i++) await h.upsert({ id: `s${i}`, fireMs: now + 2_000 });
    await h.upsert({ id: 'due', fireMs: now - 1_000 });
    const incarnation = async (id: string) => Number(await h.client.hget(h.keysOf(id).hash, 'gn'));
    const mine = [];
    for (let i = 0; i < 6; i++) if ((await incarnation(`s${i}`)) % 3 === 1) mine.push(`s${i}`);

    const reply = await h.claim({ lookAheadMs: 5_000, pods: 3, rank: 1 });
    expect(reply.runs.map((r) => r.member).sort()).toEqual(
      [...mine.map((id) => h.keysOf(id).member), h.keysOf('due').member].sort(),
    );
    for (const run of reply.runs)
      expect(run.incarnation).toBe(await incarnation(run.member.split(':')[2]));
    // The others wait, and are reported as left alone from their due time on.
    expect(reply.heldScoreMs).toBe(now + 2_000);
    expect((await h.claim({ lookAheadMs: 5_000, pods: 3, rank: 1 })).runs).toEqual([]);
    const rest = await h.claim({ lookAheadMs: 5_000 });
    expect(rest.runs).toHaveLength(6 - mine.length);
  });

  it('passes over the entries a previous call of the round left alone (offset), and says when the limit stopped it', async () => {
    const now = await h.redisNow();
    for (let i = 0; i < 4; i++) await h.upsert({ id: `s${i}`, fireMs: now + 2_000 + i });
    const skipped = await h.claim({ lookAheadMs: 5_000, limit: 2, pods: 2, rank: 7 }); // nobody's rank
    expect([skipped.runs.length, skipped.passed, skipped.more]).toEqual([0, 2, true]);
    const next = await h.claim({ lookAheadMs: 5_000, limit: 2, offset: 2 });
    expect(next.runs.map((r) => r.member)).toEqual([h.keysOf('s2').member, h.keysOf('s3').member]);
    expect([next.passed, next.more]).toEqual([0, true]);
    const last = await h.claim({ lookAheadMs: 5_000, limit: 2, offset: 2 });
    expect([last.runs.length, last.more]).toEqual([0, false]);
  });

  it('makes at most ARGV[7] reservations, leaving the rest for later', async () => {
    const now = await h.redisNow();
    for (let i = 0; i < 5; i++) await h.upsert({ id: `s${i}`, fireMs: now + 2_000 });
    await h.upsert({ id: 'due', fireMs: now - 1_000 });
    const reply = await h.claim({ lookAheadMs: 5_000, maxAhead: 2 });
    expect(reply.runs.map((r) => r.claim).sort()).toEqual(['run', 'run', 'run']);
    expect(reply.runs.filter((r) => r.dueMs > reply.nowMs)).toHaveLength(2);
    expect(reply.heldScoreMs).toBe(now + 2_000);
  });

  it('does not re-run a lapsed run of a schedule paused since: the fire time counts as run', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 100 })).runs;
    await h.pause('s1');
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.client.hget(k.hash, 'r')).toBe(String(now - 1_000));
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('puts a lapsed stale guard of a paused schedule back to the mark, so a resume arms it', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    await h.client.hset(k.hash, 'r', String(now + 5_000)); // the mark is ahead: a stale claim
    const [stale] = (await h.claim({ leaseMs: 100 })).runs;
    expect(stale.claim).toBe('stale');
    await h.pause('s1');
    await h.client.zadd(h.dueKey(), now - 1_000, k.member); // a stray entry left by a race
    await waitFor(async () => (await h.redisNow()) > stale.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.client.hget(k.hash, 'r')).toBe(String(now + 5_000));
    const resumed = await h.scripts.setEnabled(
      k,
      {
        enabled: true,
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_000,
        timing: '* * * * *|UTC|0',
      },
      h.ks.wakeChannel,
    );
    expect(resumed).toEqual({ status: 'done', nextFireMs: now + 60_000, nextDueMs: now + 60_000 });
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
  });

  it('returns the change epoch of the partition with every claim', async () => {
    const now = await h.redisNow();
    expect((await h.claim()).epoch).toBe(0);
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    await h.claim();
    // A change to a schedule holding a run state moves the epoch on.
    await h.upsert({ id: 's1', fireMs: now + 60_000, payload: '"new"' });
    expect((await h.claim()).epoch).toBe(1);
  });
});

describe('regressions found in review', () => {
  it('a stale claim whose lease lapses is stale again, never a second run of that fire time', async () => {
    const fire = (await h.redisNow()) - 5_000;
    await h.upsert({ id: 's', fireMs: fire });
    const [first] = (await h.claim()).runs;
    expect(first.claim).toBe('run');
    const k = h.keysOf('s');
    expect(
      await h.complete(
        k.base,
        [
          h.completion(k.member, first.fencingToken, {
            nextFireMs: fire + 60_000,
            nextDueMs: fire + 60_000,
          }),
        ],
        { deadLetters: 100, history: 10 },
      ),
    ).toEqual(['ok']);
    // A timing change that re-arms at the fire time already run (a writer's lagging clock).
    await h.upsert({ id: 's', fireMs: fire, jitterMs: 1 });
    const [stale] = (await h.claim({ leaseMs: 50 })).runs;
    expect(stale).toMatchObject({ claim: 'stale', fireMs: fire });
    // Its pod never completes it: wait for the lease to lapse.
    await waitFor(async () => (await h.redisNow()) > stale.leaseUntilMs, {
      timeoutMs: 5_000,
      message: 'the stale claim’s lease to lapse',
    });
    const [again] = (await h.claim()).runs;
    expect(again).toMatchObject({ claim: 'stale', fireMs: fire, attempt: 0 });
    expect(
      await h.complete(
        k.base,
        [
          h.completion(k.member, again.fencingToken, {
            outcome: 'skipped',
            revision: again.revision,
            nextFireMs: fire + 60_000,
            nextDueMs: fire + 60_000,
          }),
        ],
        { deadLetters: 100, history: 10 },
      ),
    ).toEqual(['ok']);
    const history = Object.values(await h.client.hgetall(h.ks.history(k)));
    expect(
      history.filter((e) => e.includes(`,${fire},`) && e.includes(',succeeded,')),
    ).toHaveLength(1);
  });

  it('tenant "r" with a numeric id is a schedule, not a detached run record', async () => {
    const fire = (await h.redisNow()) - 1_000;
    await h.upsert({ tenant: 'r', id: '123', fireMs: fire });
    const reply = await h.claim();
    expect(reply.runs.map((r) => [r.member, r.claim])).toEqual([['t:r:123', 'run']]);
    expect(await h.client.exists(h.keysOf('123', 'h1', 'r').hash)).toBe(1);
  });
});
