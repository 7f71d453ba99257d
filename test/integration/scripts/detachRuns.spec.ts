import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * detachRuns-1.lua called directly: a run (overlap 'allow') moved into its own record while the
 * schedule is re-armed at once. What a removal does to such records is in removeSchedule.spec.ts.
 */

const h = useScriptHarness();

describe('detachRuns', () => {
  it('moves the run into its own record and re-arms the schedule at once', async () => {
    const { k, run, nextMs, codes, recordMember, recordHash } = await h.detachedRun();
    expect(codes).toEqual(['ok']);
    expect(await h.client.hgetall(recordHash)).toEqual({
      r: `${run.fireMs}:1:${run.fencingToken}:${run.leaseUntilMs}:`,
      h: 'h:h1',
      // the schedule's incarnation: a schedule created again under this id does not adopt the record
      gn: await h.client.hget(k.hash, 'gn'),
    });
    expect(await h.score(h.dueKey(), recordMember)).toBe(run.leaseUntilMs);
    expect(await h.score(h.dueKey(), k.member)).toBe(nextMs);
    expect(await h.client.hmget(k.hash, 'r', 'nf', 'nd')).toEqual([
      String(run.fireMs),
      String(nextMs),
      '',
    ]);
    // The record's lease is renewed like any run's.
    const [lease] = await h.scripts.extendLeases(k.base, 30_000, [
      { member: recordMember, fencingToken: run.fencingToken },
    ]);
    expect(lease).toBeGreaterThan(run.leaseUntilMs);
    expect(await h.score(h.dueKey(), recordMember)).toBe(lease);
  });

  it('completing the record deletes it and records the outcome on the schedule', async () => {
    const { k, run, nextMs, recordMember, recordHash } = await h.detachedRun();
    expect(
      await h.complete(k.base, [
        h.completion(recordMember, run.fencingToken, { outcome: 'failed', error: 'detached boom' }),
      ]),
    ).toEqual(['ok']);
    expect(await h.client.exists(recordHash)).toBe(0);
    expect(await h.score(h.dueKey(), recordMember)).toBeNull();
    const [l, lm, nf] = await h.client.hmget(k.hash, 'l', 'lm', 'nf');
    expect(l?.split(':').slice(0, 2)).toEqual(['failed', String(run.fireMs)]);
    expect([lm, nf]).toEqual(['detached boom', String(nextMs)]);
    expect(await h.score(h.dueKey(), k.member)).toBe(nextMs);
  });

  it('a record whose lease expired is re-claimed for the same fire time with attempt + 1', async () => {
    const { k, run, recordMember, recordHash } = await h.detachedRun(150);
    const again = await waitFor(async () => (await h.claim()).runs[0], {
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
    expect((await h.runState(recordHash))?.fence).toBe(again.fencingToken);
    // The schedule itself is not claimed: it is armed in the future.
    expect(await h.runState(k.hash)).toBeNull();
  });

  it('returns -4 for a wrong token and -5 after the lease expired, writing nothing', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 150 })).runs;
    const detach = (fencingToken: number) =>
      h.scripts.detachRuns(k.base, [
        { member: k.member, fencingToken, revision: '1', nextFireMs: now + 1, nextDueMs: now + 1 },
      ]);

    expect(await detach(999_999)).toEqual(['lease-lost']);
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect(await detach(run.fencingToken)).toEqual(['lease-expired']);
    expect(await h.client.keys(`${k.hash}:r:*`)).toEqual([]);
    expect((await h.runState(k.hash))?.fence).toBe(run.fencingToken);
    expect(await h.client.hget(k.hash, 'nf')).toBe(String(now - 1_000));
  });

  it('keeps the next fire time of a timing change, and does not re-arm a paused schedule', async () => {
    const now = await h.redisNow();
    const a = h.keysOf('a');
    const b = h.keysOf('b');
    await h.upsert({ id: 'a', fireMs: now - 1_000 });
    await h.upsert({ id: 'b', fireMs: now - 900 });
    const [ra, rb] = (await h.claim()).runs;
    await h.upsert({ id: 'a', fireMs: now + 120_000, cron: '*/2 * * * *' }); // revision 2
    await h.pause('b');

    expect(
      await h.scripts.detachRuns(a.base, [
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
    expect(await h.score(h.dueKey(), a.member)).toBe(now + 120_000);
    expect(await h.client.hget(a.hash, 'nf')).toBe(String(now + 120_000));
    expect(await h.score(h.dueKey(), b.member)).toBeNull();
    // Both detached runs still go on.
    expect(await h.score(h.dueKey(), `${a.member}:r:${ra.fireMs}`)).toBe(ra.leaseUntilMs);
    expect(await h.score(h.dueKey(), `${b.member}:r:${rb.fireMs}`)).toBe(rb.leaseUntilMs);
  });
});
