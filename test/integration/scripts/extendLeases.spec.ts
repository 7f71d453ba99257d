import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * extendLeases-1.lua called directly: lease renewal under the fencing token, and a lease of 0 giving
 * the run back.
 */

const h = useScriptHarness();

describe('extendLeases', () => {
  it('renews the lease of a run its owner holds, in the hash and the due index', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 1_000 })).runs;

    const before = await h.redisNow();
    const [lease] = await h.scripts.extendLeases(k.base, 30_000, [
      { member: k.member, fencingToken: run.fencingToken },
    ]);
    const after = await h.redisNow();

    expect(lease).toBeGreaterThanOrEqual(before + 30_000);
    expect(lease).toBeLessThanOrEqual(after + 30_000);
    expect(await h.runState(k.hash)).toMatchObject({ lease, fence: run.fencingToken, attempt: 1 });
    expect(await h.score(h.dueKey(), k.member)).toBe(lease);
    // Past the original lease, the run is still held (not re-claimed).
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.complete(k.base, [h.completion(k.member, run.fencingToken)])).toEqual(['ok']);
  });

  it('returns -4 for a wrong token or a removed schedule, without writing', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const k2 = h.keysOf('s2');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    await h.upsert({ id: 's2', fireMs: now - 900 });
    const [r1, r2] = (await h.claim()).runs;
    await h.scripts.removeSchedule(k2, 's2', h.ks.wakeChannel);

    expect(
      await h.scripts.extendLeases(k.base, 30_000, [
        { member: k.member, fencingToken: 999_999 },
        { member: k2.member, fencingToken: r2.fencingToken },
      ]),
    ).toEqual(['lease-lost', 'lease-lost']);
    expect((await h.runState(k.hash))?.lease).toBe(r1.leaseUntilMs);
    expect(await h.score(h.dueKey(), k.member)).toBe(r1.leaseUntilMs);
    expect(await h.client.exists(k2.hash)).toBe(0);
    expect(await h.score(h.dueKey(), k2.member)).toBeNull();
  });

  it('returns -5 once the lease has expired', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 150 })).runs;
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });

    expect(
      await h.scripts.extendLeases(k.base, 30_000, [
        { member: k.member, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-expired']);
    expect((await h.runState(k.hash))?.lease).toBe(run.leaseUntilMs);
  });

  it('with a lease of 0 gives the run back, so it is re-claimable at once', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 60_000 })).runs;
    expect((await h.claim()).runs).toEqual([]);

    const [ended] = await h.scripts.extendLeases(k.base, 0, [
      { member: k.member, fencingToken: run.fencingToken },
    ]);
    expect(ended).toBeLessThanOrEqual(await h.redisNow());
    expect(ended).toBeLessThan(run.leaseUntilMs);

    const [again] = (await h.claim()).runs;
    expect(again).toMatchObject({
      member: k.member,
      claim: 'recover',
      attempt: 2,
      fireMs: run.fireMs,
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });
});
