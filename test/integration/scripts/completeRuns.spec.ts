import { toRunRecords } from '../../../lib/engine/stored-schedule.decoder';
import { waitFor } from '../../support/wait-for';
import { TENANT, useScriptHarness } from './script-harness';

/*
 * completeRuns-1.lua called directly: recording a run's outcome under its fencing token, re-arming
 * the schedule, retries, dead letters, and the next fire time chained to the same pod or woken for
 * another.
 */

const h = useScriptHarness();

describe('completeRuns', () => {
  it('records a run held with the right token and re-arms it with the next fire time given', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;

    const codes = await h.complete(k.base, [
      h.completion(k.member, run.fencingToken, {
        outcome: 'failed',
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_500,
        error: 'boom',
      }),
    ]);
    const after = await h.redisNow();

    expect(codes).toEqual(['ok']);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_500);
    const fields = await h.client.hgetall(k.hash);
    expect(fields).toMatchObject({
      r: String(run.fireMs), // the exactly-once mark alone
      nf: String(now + 60_000),
      nd: String(now + 60_500),
      lm: 'boom',
    });
    const [outcome, fire, ended] = fields.l.split(':');
    expect([outcome, Number(fire)]).toEqual(['failed', run.fireMs]);
    expect(Number(ended)).toBeGreaterThanOrEqual(now);
    expect(Number(ended)).toBeLessThanOrEqual(after);
    // The run is over: the next claim sees nothing due.
    expect((await h.claim()).runs).toEqual([]);
  });

  it("'skipped' re-arms without touching the last-run fields", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          outcome: 'skipped',
          nextFireMs: now + 9_000,
          nextDueMs: now + 9_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.client.hmget(k.hash, 'l', 'nf', 'nd', 'r', 'lm')).toEqual([
      null,
      String(now + 9_000),
      null,
      String(run.fireMs),
      null,
    ]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 9_000);
  });

  it('returns -4 for a wrong token and leaves the run untouched', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    const before = await h.client.hgetall(k.hash);

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken + 1000, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost']);
    expect(await h.client.hgetall(k.hash)).toEqual(before);
    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);
  });

  it('returns -4 for a schedule removed during the run, and writes nothing back', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost']);
    expect(await h.client.exists(k.hash)).toBe(0);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('returns -5 once the lease has expired, and leaves the run to be re-claimed', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 150 })).runs;
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, {
      timeoutMs: 5_000,
      message: 'the lease to expire',
    });

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-expired']);
    expect((await h.runState(k.hash))?.fence).toBe(run.fencingToken);
    expect(await h.client.hmget(k.hash, 'nf', 'l')).toEqual([String(now - 1_000), null]);
    const [again] = (await h.claim()).runs;
    expect(again).toMatchObject({ claim: 'recover', attempt: 2, fireMs: run.fireMs });
  });

  it('keeps the next fire time stored by a timing change made during the run', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    expect(run.revision).toBe('1');
    // The cron changes while the run holds its lease.
    await h.upsert({ id: 's1', fireMs: now + 120_000, cron: '*/2 * * * *' });
    expect(await h.client.hmget(k.hash, 'rv', 'nf')).toEqual(['2', String(now + 120_000)]);
    // The run keeps its lease score meanwhile.
    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.client.hmget(k.hash, 'nf', 'nd')).toEqual([String(now + 120_000), null]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 120_000);
  });

  it('re-arms as the pod planned after a change that left the timing alone (payload only)', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    await h.upsert({ id: 's1', fireMs: now + 120_000, payload: '"new"' });
    expect(await h.client.hmget(k.hash, 'rv', 'nf')).toEqual(['2', String(now - 1_000)]);
    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
  });

  it('does not re-arm a schedule paused during the run', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    await h.pause('s1');
    // Paused while running: the lease entry stays until the run ends.
    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.hget(k.hash, 'en')).toBe('0');
    expect((await h.client.hget(k.hash, 'l'))?.split(':')[0]).toBe('succeeded');
  });

  it('handles a batch, one code per run in order', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now - 1_000 });
    await h.upsert({ id: 'b', fireMs: now - 900 });
    const [ra, rb] = (await h.claim()).runs;
    const base = h.keysOf('a').base;
    expect(
      await h.complete(base, [
        h.completion(ra.member, 999_999, { nextFireMs: now + 60_000, nextDueMs: now + 60_000 }),
        h.completion(rb.member, rb.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['lease-lost', 'ok']);
    expect(await h.score(h.dueKey(), ra.member)).toBe(ra.leaseUntilMs);
    expect(await h.score(h.dueKey(), rb.member)).toBe(now + 60_000);
  });

  it("'retry' keeps the run recorded for the same fire time, unowned, due again at next due", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    const retryAt = (await h.redisNow()) + 300;

    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          outcome: 'retry',
          nextFireMs: 0,
          nextDueMs: retryAt + 0.4, // a pod's clock estimate has fractions: stored whole
          error: 'try again',
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.runState(k.hash)).toEqual({
      fire: run.fireMs,
      attempt: 1,
      fence: 0,
      lease: retryAt,
      prevHw: '',
    });
    expect(await h.client.hmget(k.hash, 'lm', 'l')).toEqual(['try again', null]);
    expect(await h.score(h.dueKey(), k.member)).toBeCloseTo(retryAt, -1);
    // The old owner no longer holds it.
    expect(
      await h.scripts.extendLeases(k.base, 10_000, [
        { member: k.member, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    // An upsert meanwhile does not report it as running (no owner) and does not re-arm it.
    const reply = await h.upsert({ id: 's1', fireMs: now + 60_000, cron: '*/2 * * * *' });
    expect(reply.running).toBe(false);
    expect(await h.score(h.dueKey(), k.member)).toBeCloseTo(retryAt, -1);

    // Not before retryAt; then re-claimed for the same fire time with attempt + 1.
    const early = await h.claim();
    if (early.nowMs < retryAt) expect(early.runs).toEqual([]);
    const again = await waitFor(async () => (await h.claim()).runs[0], {
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
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    let [run] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(k.member, run.fencingToken, {
        outcome: 'skipped',
        nextFireMs: now - 500,
        nextDueMs: now - 500,
        skipped: 3,
      }),
    ]);
    [run] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(k.member, run.fencingToken, {
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_000,
        skipped: 2,
      }),
    ]);
    expect(await h.client.hget(k.hash, 'sk')).toBe('5');
    const reply = await h.upsert({ id: 's1', fireMs: now + 60_000 });
    expect(reply.skippedFires).toBe(5);
  });

  it('pushes dead letters on the partition list, newest first, trimmed to ARGV[1]', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    for (let i = 1; i <= 3; i++) {
      const [run] = (await h.claim()).runs;
      expect(
        await h.complete(
          k.base,
          [
            h.completion(k.member, run.fencingToken, {
              outcome: 'failed',
              nextFireMs: now - 1_000 + i,
              nextDueMs: now - 1_000 + i,
              deadLetter: JSON.stringify({ tenantId: TENANT, n: i }),
            }),
          ],
          { deadLetters: 2 },
        ),
      ).toEqual(['ok']);
    }
    expect(await h.client.lrange(h.ks.deadLetters(0), 0, -1)).toEqual([
      JSON.stringify({ tenantId: TENANT, n: 3 }),
      JSON.stringify({ tenantId: TENANT, n: 2 }),
    ]);
    // No dead letter from a rejected completion.
    expect(
      await h.complete(k.base, [h.completion(k.member, 999_999, { deadLetter: '{"n":4}' })], {
        deadLetters: 2,
      }),
    ).toEqual(['lease-lost']);
    expect(await h.client.llen(h.ks.deadLetters(0))).toBe(2);
  });
});

describe('completeRuns with chain (the next fire time reserved for the same pod)', () => {
  it('reserves a next fire time due within the look-ahead, as claimDue would', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    const [result] = await h.completeWith(
      k.base,
      [
        h.completion(k.member, run.fencingToken, {
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
    expect(await h.runState(k.hash)).toEqual({
      fire: now + 2_000,
      attempt: 1,
      fence: result.chainedFence,
      lease: now + 2_100 + 8_000,
      prevHw: String(now - 1_000),
    });
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 10_100);
    expect((await h.client.hget(k.hash, 'l'))?.split(':')[0]).toBe('succeeded');
    // Nobody else claims it; the reservation is confirmed and completed like a claimed one.
    expect((await h.claim({ lookAheadMs: 5_000 })).runs).toEqual([]);
    await waitFor(async () => (await h.redisNow()) >= now + 2_100, { timeoutMs: 5_000 });
    expect(
      (await h.scripts.confirmRuns(k.base, now + 2_100, result.epoch, now + 10_100, [])).status,
    ).toBe('confirmed');
    expect(
      await h.complete(k.base, [
        h.completion(k.member, result.chainedFence, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
  });

  it('claims a next fire time due already for the same pod, leased from now', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 2_000 });
    const [run] = (await h.claim()).runs;
    const [result] = await h.completeWith(
      k.base,
      [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now - 1_000,
          nextDueMs: now - 1_000,
          chain: 'chain',
        }),
      ],
      { leaseMs: 8_000 },
    );
    expect(result.chainedFence).toBeGreaterThan(run.fencingToken);
    expect(await h.runState(k.hash)).toMatchObject({
      fire: now - 1_000,
      attempt: 1,
      fence: result.chainedFence,
      lease: result.nowMs + 8_000,
    });
    expect(await h.score(h.dueKey(), k.member)).toBe(result.nowMs + 8_000);
    expect((await h.claim()).runs).toEqual([]);
  });

  it('does not chain beyond the look-ahead, a schedule changed or paused during the run, or a skip', async () => {
    const now = await h.redisNow();
    const ids = ['far', 'changed', 'paused', 'skipped'];
    for (const id of ids) await h.upsert({ id, fireMs: now - 1_000 });
    const runs = (await h.claim()).runs;
    const byId = (id: string) => runs.find((r) => r.member === h.keysOf(id).member)!;
    await h.upsert({ id: 'changed', fireMs: now - 1_000, payload: '"new"' });
    await h.pause('paused');
    const results = await h.completeWith(
      h.keysOf('far').base,
      ids.map((id) =>
        h.completion(h.keysOf(id).member, byId(id).fencingToken, {
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
    expect(await h.score(h.dueKey(), h.keysOf('far').member)).toBe(now + 9_000);
    expect(await h.score(h.dueKey(), h.keysOf('changed').member)).toBe(now + 2_000);
    expect(await h.score(h.dueKey(), h.keysOf('paused').member)).toBeNull();
    expect(await h.score(h.dueKey(), h.keysOf('skipped').member)).toBe(now + 2_000);
  });
});

describe('completeRuns wake (the next fire time is another pod’s to reserve)', () => {
  it('re-arms it and publishes one wake message per due index with the earliest due time', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now - 1_000 });
    await h.upsert({ id: 'b', fireMs: now - 1_000 });
    const runs = (await h.claim()).runs;
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    const results = await h.completeWith(
      h.keysOf('a').base,
      runs.map((run, i) =>
        h.completion(run.member, run.fencingToken, {
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
    expect(messages).toEqual([`${h.dueKey()} ${now + 2_000}`]);
    expect(await h.score(h.dueKey(), runs[0].member)).toBe(now + 3_000);
    await subscriber.quit();
  });

  describe("chain 'f': a one-off finishes", () => {
    it('marks it finished, takes it out of its due index and tenant set, and lets hash and history expire after the time given', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('once');
      await h.upsert({ id: 'once', cron: `@at:${now - 1_000}`, fireMs: now - 1_000 });
      expect(await h.client.sismember(k.tenantSet, 'once')).toBe(1);
      const [run] = (await h.claim()).runs;
      const codes = await h.completeWith(
        k.base,
        [h.completion(k.member, run.fencingToken, { nextDueMs: 5_000, chain: 'finish' })],
        { history: 5 },
      );
      expect(codes.map((c) => c.verdict)).toEqual(['ok']);
      const fields = await h.client.hgetall(k.hash);
      expect(fields.r).toBe(String(run.fireMs)); // the exactly-once mark alone
      expect(Number(fields.fx)).toBeGreaterThanOrEqual(now);
      expect(fields.l.split(':').slice(0, 2)).toEqual(['succeeded', String(run.fireMs)]);
      expect(await h.score(h.dueKey(), k.member)).toBeNull();
      expect(await h.client.sismember(k.tenantSet, 'once')).toBe(0);
      const historyKey = `${k.base}rh:${k.member}`;
      for (const key of [k.hash, historyKey]) {
        const ttl = await h.client.pttl(key);
        expect(ttl).toBeGreaterThan(4_000);
        expect(ttl).toBeLessThanOrEqual(5_000);
      }
      expect((await h.claim()).runs).toEqual([]);
    });

    it('does not finish a schedule a change re-armed during the run: that stands', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('moved');
      await h.upsert({ id: 'moved', cron: `@at:${now - 1_000}`, fireMs: now - 1_000 });
      const [run] = (await h.claim()).runs;
      await h.upsert({ id: 'moved', cron: `@at:${now + 60_000}`, fireMs: now + 60_000 });
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, { nextDueMs: 5_000, chain: 'finish' }),
      ]);
      expect(await h.client.hget(k.hash, 'fx')).toBeNull();
      expect(await h.client.pttl(k.hash)).toBe(-1);
      expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
      expect(await h.client.sismember(k.tenantSet, 'moved')).toBe(1);
    });

    it('leaves a run whose token lost its lease untouched (-4)', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('lost');
      await h.upsert({ id: 'lost', cron: `@at:${now - 1_000}`, fireMs: now - 1_000 });
      const [run] = (await h.claim()).runs;
      const codes = await h.complete(k.base, [
        h.completion(k.member, run.fencingToken + 1, { nextDueMs: 5_000, chain: 'finish' }),
      ]);
      expect(codes).toEqual(['lease-lost']);
      expect(await h.client.hget(k.hash, 'fx')).toBeNull();
      expect(await h.client.sismember(k.tenantSet, 'lost')).toBe(1);
    });
  });

  describe('history and counters', () => {
    /** Claims s1 (re-armed each time 1 s earlier than the last, so it is due) and records `outcome`. */
    async function runOnce(
      outcome: 'succeeded' | 'failed' | 'retry' | 'skipped',
      history: number,
      extra: { error?: string; startedMs?: number; podId?: string; result?: string } = {},
    ) {
      const k = h.keysOf('s1');
      const [run] = (await h.claim()).runs;
      const now = await h.redisNow();
      const next = run.fireMs + 1; // due at once: the next call claims it again
      const results = await h.completeWith(
        k.base,
        [
          h.completion(k.member, run.fencingToken, {
            outcome,
            revision: run.revision,
            nextFireMs: next,
            nextDueMs: outcome === 'retry' ? now - 1 : next,
            error: extra.error ?? '',
            startedMs: extra.startedMs ?? 0,
            result: extra.result ?? '',
          }),
        ],
        { history, podId: extra.podId },
      );
      expect(results.map((r) => r.verdict)).toEqual(['ok']);
      return { ...run, sequence: results[0].sequence };
    }

    it('writes each recorded run to a ring of `history` slots with start, end, pod and error', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('s1');
      await h.upsert({ id: 's1', fireMs: now - 10_000 });
      const first = await runOnce('failed', 3, {
        error: 'bad, worse',
        startedMs: now - 50,
        podId: 'host:7:ab',
      });
      const ring1 = await h.client.hgetall(h.ks.history(k));
      expect(Object.keys(ring1)).toEqual(['0']);
      const [seq, fire, attempt, fence, outcome, started, ended, pod, ...error] =
        ring1['0'].split(',');
      expect([seq, Number(fire), attempt, Number(fence), outcome, Number(started), pod]).toEqual([
        '1',
        first.fireMs,
        '1',
        first.fencingToken,
        'failed',
        now - 50,
        'host:7:ab',
      ]);
      expect(Number(ended)).toBeGreaterThanOrEqual(now);
      expect(error.join(',')).toBe('bad, worse');
      for (let i = 0; i < 4; i++) await runOnce('succeeded', 3);
      // Five runs, three slots: one HSET per run overwrites the oldest, no list to trim.
      const ring = await h.client.hgetall(h.ks.history(k));
      expect(Object.keys(ring).sort()).toEqual(['0', '1', '2']);
      expect(
        Object.values(ring)
          .map((e) => Number(e.split(',')[0]))
          .sort(),
      ).toEqual([3, 4, 5]);
    });

    it('writes a run’s result as the entry’s last line, for successes, retries and failures', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('s1');
      await h.upsert({ id: 's1', fireMs: now - 10_000 });
      await runOnce('succeeded', 10, { result: '{"status":200,"durationMs":5}' });
      await runOnce('retry', 10, {
        error: 'HTTP 503, busy',
        result: '{"status":503,"durationMs":7}',
      });
      await runOnce('failed', 10, {
        error: 'timed out',
        result: '{"durationMs":9,"timeout":true}',
      });
      await runOnce('succeeded', 10);
      // An error with a line break gets an empty result line: its last line is not read as one.
      await runOnce('failed', 10, { error: 'line 1\n{"a":1}' });
      const ring = await h.client.hgetall(h.ks.history(k));
      const lastLines = ['0', '1', '2', '3', '4'].map((slot) => ring[slot].split('\n').slice(1));
      expect(lastLines).toEqual([
        ['{"status":200,"durationMs":5}'],
        ['{"status":503,"durationMs":7}'],
        ['{"durationMs":9,"timeout":true}'],
        [], // no result: a run of 9 lines (as earlier versions send), an entry without the line
        ['{"a":1}', ''],
      ]);
      expect(ring['1'].split('\n')[0].split(',').slice(4, 5)).toEqual(['retry']);
      const records = toRunRecords(ring);
      expect(records.map((r) => [r.status, r.error, r.result])).toEqual([
        ['failed', 'line 1\n{"a":1}', null],
        ['succeeded', null, null],
        ['failed', 'timed out', { durationMs: 9, timeout: true }],
        ['retry', 'HTTP 503, busy', { status: 503, durationMs: 7 }],
        ['succeeded', null, { status: 200, durationMs: 5 }],
      ]);
    });

    it("counts runs ('cr') and failed attempts ('cf') in the schedule hash, history on or off", async () => {
      const now = await h.redisNow();
      const k = h.keysOf('s1');
      await h.upsert({ id: 's1', fireMs: now - 10_000 });
      await runOnce('succeeded', 0);
      await runOnce('retry', 0, { error: 'again' });
      await runOnce('failed', 0, { error: 'gone' });
      await runOnce('skipped', 0);
      expect(await h.client.hmget(k.hash, 'cr', 'cf')).toEqual(['3', '2']);
      // With history off nothing else is written.
      expect(await h.client.exists(h.ks.history(k))).toBe(0);
    });

    it('answers each recorded run’s sequence, the one its history entry carries (every attempt; 0 for skipped)', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('s1');
      await h.upsert({ id: 's1', fireMs: now - 10_000 });
      const runs = [
        await runOnce('succeeded', 10),
        await runOnce('retry', 10, { error: 'again' }),
        await runOnce('failed', 10, { error: 'gone' }),
        await runOnce('skipped', 10),
        await runOnce('succeeded', 0), // history off: still numbered
        await runOnce('succeeded', 10),
      ];
      expect(runs.map((r) => r.sequence)).toEqual([1, 2, 3, 0, 4, 5]);
      const ring = await h.client.hgetall(h.ks.history(k));
      const entries = Object.values(ring).map((e) => e.split(',').slice(0, 4).map(Number));
      const numbered = runs.filter((r, i) => r.sequence > 0 && i !== 4);
      expect(entries.sort((a, b) => a[0] - b[0])).toEqual(
        numbered.map((r) => [r.sequence, r.fireMs, r.attempt, r.fencingToken]),
      );
      expect(await h.client.hget(k.hash, 'cr')).toBe('5');
    });

    it('answers sequence 0 for a run it refuses', async () => {
      const now = await h.redisNow();
      const k = h.keysOf('s1');
      await h.upsert({ id: 's1', fireMs: now - 10_000 });
      await h.claim();
      const [result] = await h.completeWith(k.base, [h.completion(k.member, 999_999)], {
        history: 5,
      });
      expect([result.verdict, result.sequence]).toEqual(['lease-lost', 0]);
    });

    it('records a detached run on its schedule: counters, history and the sequence answered (a retry too)', async () => {
      const { k, recordMember, run } = await h.detachedRun();
      const [retry] = await h.completeWith(
        k.base,
        [
          h.completion(recordMember, run.fencingToken, {
            outcome: 'retry',
            error: 'x',
            nextDueMs: (await h.redisNow()) + 60_000,
          }),
        ],
        { history: 5 },
      );
      expect([retry.verdict, retry.sequence]).toEqual(['ok', 1]);
      expect((await h.client.hget(h.ks.history(k), '0'))?.split(',')[0]).toBe('1');
    });

    it('records a detached run on its schedule: counters and history', async () => {
      const { k, recordMember, run } = await h.detachedRun();
      expect(
        await h.complete(
          k.base,
          [h.completion(recordMember, run.fencingToken, { outcome: 'failed', error: 'x' })],
          { history: 5 },
        ),
      ).toEqual(['ok']);
      expect(await h.client.hmget(k.hash, 'cr', 'cf')).toEqual(['1', '1']);
      const ring = await h.client.hgetall(h.ks.history(k));
      expect(ring['0'].split(',').slice(0, 5)).toEqual([
        '1',
        String(run.fireMs),
        '1',
        String(run.fencingToken),
        'failed',
      ]);
    });
  });
});
