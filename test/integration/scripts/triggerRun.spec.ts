import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * triggerRun-1.lua called directly, with claimDue, completeRuns and removeSchedule around it: the
 * record it writes, what it refuses, and how the run scripts carry the record on.
 */

const h = useScriptHarness();
const trigger = (id: string, overlap: 'skip' | 'allow' | 'bufferOne' = 'skip') =>
  h.scripts.triggerRun(h.keysOf(id), overlap, h.ks.wakeChannel);

describe('triggerRun', () => {
  it('writes a run record due now, leaving the series as it was, and wakes the pods', async () => {
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const series = await h.client.hmget(k.hash, 'nf', 'nd', 'r', 'rv', 'en');

    const reply = await trigger('s1');
    if (reply.status !== 'triggered') throw new Error(JSON.stringify(reply));
    expect(reply.fireMs).toBeGreaterThanOrEqual(now);
    expect(reply.id).toMatch(/^n\d+$/);
    const record = `${k.member}:r:${reply.id}`;
    expect(await h.client.hgetall(`${k.base}s:${record}`)).toEqual({
      r: `${reply.fireMs}:0:0:${reply.fireMs}:`,
      h: k.handlerKey,
      gn: await h.client.hget(k.hash, 'gn'),
    });
    expect(await h.score(h.dueKey(), record)).toBe(reply.fireMs);
    expect(await h.client.smembers(h.ks.detachedRuns(k))).toEqual([reply.id]);
    expect(await h.client.hmget(k.hash, 'nf', 'nd', 'r', 'rv', 'en')).toEqual(series);
    expect(await h.client.hget(k.hash, 'tg')).toBe(reply.id);
    expect(await h.epoch()).toBe(0);
    await waitUntil(() => messages.includes(`${h.dueKey()} ${reply.fireMs}`));
  });

  it('is claimed once as attempt 1, re-claimed after a lost lease as attempt 2, and ends with its record', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const reply = await trigger('s1');
    if (reply.status !== 'triggered') throw new Error(JSON.stringify(reply));
    const record = `${k.member}:r:${reply.id}`;

    const [first] = (await h.claim({ leaseMs: 200 })).runs;
    expect(first).toMatchObject({
      member: record,
      fireMs: reply.fireMs,
      attempt: 1,
      claim: 'trigger',
    });
    // Claimed: nobody else gets it while the lease holds.
    expect((await h.claim()).runs).toEqual([]);
    // Lease lost (the pod died): re-claimed for the same fire time, attempt 2, larger token.
    await waitUntil(async () => (await h.redisNow()) > first.leaseUntilMs);
    const [second] = (await h.claim()).runs;
    expect(second).toMatchObject({
      member: record,
      fireMs: reply.fireMs,
      attempt: 2,
      claim: 'recover',
    });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    // The late completion of the first is refused; the second's ends the record only.
    expect(await h.complete(k.base, [h.completion(record, first.fencingToken)])).toEqual([
      'lease-lost',
    ]);
    expect(await h.complete(k.base, [h.completion(record, second.fencingToken)])).toEqual(['ok']);
    expect(await h.client.exists(`${k.base}s:${record}`)).toBe(0);
    expect(await h.score(h.dueKey(), record)).toBeNull();
    expect(await h.client.smembers(h.ks.detachedRuns(k))).toEqual([]);
    expect(await h.client.hget(k.hash, 'l')).toMatch(new RegExp(`^succeeded:${reply.fireMs}:`));
    expect(await h.client.hget(k.hash, 'nf')).toBe(String(now + 60_000));
    expect(await h.client.hget(k.hash, 'r')).toBeNull();
  });

  it('under overlap skip, refuses while the series or an earlier trigger runs, writing nothing', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    const before = await h.prefixKeys();
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'running' });
    expect(await trigger('s1', 'bufferOne')).toEqual({ status: 'refused', reason: 'running' });
    expect(await h.prefixKeys()).toEqual(before);
    // The schedule's own policy decides over the module's (a trigger under 'allow' is not
    // waited for: it names no latest trigger).
    await h.upsert({ id: 's1', fireMs: now - 1_000, policy: '{"overlap":"allow"}' });
    const allowed = await trigger('s1');
    expect(allowed.status).toBe('triggered');
    expect(await h.client.hget(k.hash, 'tg')).toBeNull();
    await h.upsert({ id: 's1', fireMs: now - 1_000, policy: '' });
    expect(await trigger('s1', 'skip')).toEqual({ status: 'refused', reason: 'running' });
    // The series' run ends: a trigger is accepted; while it has not ended, another is refused.
    await h.complete(k.base, [
      h.completion(run.member, run.fencingToken, {
        nextFireMs: now + 60_000,
        nextDueMs: now + 60_000,
        revision: '3',
      }),
    ]);
    const first = await trigger('s1');
    expect(first.status).toBe('triggered');
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'running' });
    // Once it ended, a trigger is accepted again.
    const claimed = (await h.claim()).runs;
    expect(claimed.map((r) => r.claim)).toEqual(['trigger', 'trigger']);
    for (const r of claimed) {
      expect(await h.complete(k.base, [h.completion(r.member, r.fencingToken)])).toEqual(['ok']);
    }
    expect(await h.client.hget(k.hash, 'tg')).toBeNull();
    expect((await trigger('s1')).status).toBe('triggered');
  });

  it('holds the series back while its latest trigger has not ended, and re-arms it when it ends', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const reply = await trigger('s1');
    if (reply.status !== 'triggered') throw new Error(JSON.stringify(reply));
    const [run] = (await h.claim({ leaseMs: 10_000 })).runs;
    expect(run.claim).toBe('trigger');
    // The series' fire time comes due (an upsert moving it into the past) while it runs.
    await h.upsert({ id: 's1', cron: '*/5 * * * *', fireMs: now - 500 });
    const claim = await h.claim({ leaseMs: 10_000 });
    expect(claim.runs).toEqual([]);
    // Held back until the trigger's lease runs out (not examined again before).
    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);
    expect(claim.heldScoreMs).toBe(run.leaseUntilMs);
    // Nor reserved ahead: a look-ahead claim leaves it alone too.
    expect((await h.claim({ lookAheadMs: 60_000 })).runs).toEqual([]);
    // The trigger ends: the series is armed again at its due time and claimed at once.
    expect(await h.complete(k.base, [h.completion(run.member, run.fencingToken)])).toEqual(['ok']);
    expect(await h.score(h.dueKey(), k.member)).toBe(now - 500);
    expect(await h.client.hget(k.hash, 'tg')).toBeNull();
    const [series] = (await h.claim()).runs;
    expect(series).toMatchObject({ member: k.member, fireMs: now - 500, attempt: 1, claim: 'run' });
  });

  it('hands back a reservation of the series made before the trigger (revision and epoch move on)', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 30_000 });
    const [reserved] = (await h.claim({ lookAheadMs: 60_000 })).runs;
    expect(reserved).toMatchObject({ member: k.member, attempt: 1 });
    expect(reserved.dueMs).toBeGreaterThan(now);
    const epoch = await h.epoch();
    expect((await trigger('s1')).status).toBe('triggered');
    expect(await h.epoch()).toBe(epoch + 1);
    expect(await h.client.hget(k.hash, 'rv')).toBe(String(Number(reserved.revision) + 1));
  });

  it('under overlap allow, accepts every trigger, each its own record', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const replies = [await trigger('s1', 'allow'), await trigger('s1', 'allow')];
    expect(replies.map((r) => r.status)).toEqual(['triggered', 'triggered']);
    const runs = (await h.claim()).runs;
    expect(runs.map((r) => r.claim)).toEqual(['trigger', 'trigger']);
    expect(new Set(runs.map((r) => r.member)).size).toBe(2);
  });

  it('answers not-found, paused or parked, writing nothing', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    expect(await trigger('s1')).toEqual({ status: 'not-found' });
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.pause('s1');
    const before = await h.prefixKeys();
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'paused' });
    await h.client.hset(k.hash, 'pk', `${now}:cannot compute`);
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'parked' });
    expect(await h.prefixKeys()).toEqual(before);
  });

  it('retries a failed triggered run for the same fire time, and removeSchedule deletes its record', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const reply = await trigger('s1');
    if (reply.status !== 'triggered') throw new Error(JSON.stringify(reply));
    const [run] = (await h.claim()).runs;
    const retryAt = (await h.redisNow()) + 100;
    expect(
      await h.complete(k.base, [
        h.completion(run.member, run.fencingToken, { outcome: 'retry', nextDueMs: retryAt }),
      ]),
    ).toEqual(['ok']);
    await waitUntil(async () => (await h.redisNow()) > retryAt);
    const [retry] = (await h.claim()).runs;
    expect(retry).toMatchObject({ member: run.member, fireMs: reply.fireMs, attempt: 2 });
    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);
    // Only the partition's counter stays: no record, run set or due entry of it.
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });
  it('refuses a finished one-off task, writing nothing', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', cron: `@at:${now - 10}`, fireMs: now - 10 });
    const [run] = (await h.claim()).runs;
    expect(
      await h.complete(k.base, [
        h.completion(run.member, run.fencingToken, { chain: 'finish', nextDueMs: 60_000 }),
      ]),
    ).toEqual(['ok']);
    const before = await h.prefixKeys();
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'finished' });
    expect(await h.prefixKeys()).toEqual(before);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('under overlap skip, refuses while a fire time of the series waits for its retry', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(run.member, run.fencingToken, { outcome: 'retry', nextDueMs: now + 60_000 }),
    ]);
    // The retry is re-claimed whatever a trigger does: accepted, both would run at once.
    const before = await h.prefixKeys();
    expect(await trigger('s1')).toEqual({ status: 'refused', reason: 'running' });
    expect(await h.prefixKeys()).toEqual(before);
  });
});

function waitUntil(check: () => boolean | Promise<boolean>): Promise<unknown> {
  return waitFor(check);
}
