import { TENANT, useScriptHarness } from './script-harness';

/*
 * removeTenant-1.lua called directly: every schedule of the tenant removed as removeSchedule
 * removes one, with its set, pause and index entry; other tenants untouched.
 */

const h = useScriptHarness();

const removeTenant = (tenant = TENANT) =>
  h.scripts.removeTenant(h.ks.partitionBases[0], tenant, h.ks.wakeChannel);

describe('removeTenant', () => {
  it('removes every schedule and key of the tenant and returns the count', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'other', tenant: 'beta', fireMs: now + 60_000 });
    const before = await h.prefixKeys();
    for (const id of ['a', 'b', 'c']) await h.upsert({ id, fireMs: now + 60_000 });
    // A history and a paused tenant are removed too.
    await h.client.hset(h.ks.history(h.keysOf('a')), '0', 'x');
    await h.scripts.pauseTenant(h.ks.partitionBases[0], TENANT, h.ks.wakeChannel);

    expect(await removeTenant()).toBe(3);
    // Only what belongs to no tenant, and the other tenant's keys, are left.
    expect(await h.prefixKeys()).toEqual(before);
    expect(await h.client.zrange(h.ks.tenantIndex(0), '0', '-1')).toEqual(['beta']);
    expect(await h.score(h.dueKey(), h.keysOf('other', 'h1', 'beta').member)).toBe(now + 60_000);
    expect(await h.epoch()).toBe(0);
    expect(await removeTenant()).toBe(0);
  });

  it('moves the epoch on when a schedule held a run, so its reservation never starts', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 2_000 });
    const [run] = (await h.claim({ lookAheadMs: 5_000 })).runs;
    expect(await removeTenant()).toBe(1);
    expect(await h.epoch()).toBe(1);
    const reply = await h.scripts.confirmRuns(k.base, 0, 0, run.leaseUntilMs, [
      { member: k.member, fencingToken: run.fencingToken, revision: run.revision },
    ]);
    expect(reply).toMatchObject({ status: 'checked', verdicts: ['lease-lost'] });
  });

  it('deletes the finished one-off tasks kept for inspection too, and counts them', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('once');
    await h.upsert({ id: 'once', cron: `@at:${now - 1_000}`, fireMs: now - 1_000 });
    await h.upsert({ id: 'live', fireMs: now + 60_000 });
    const [run] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(k.member, run.fencingToken, { nextDueMs: 60_000, chain: 'finish' }),
    ]);
    await h.client.hset(h.ks.history(k), '0', 'x');
    expect(await h.client.hget(k.hash, 'fx')).not.toBeNull();
    expect(await h.client.sismember(k.tenantSet, 'once')).toBe(0);

    expect(await removeTenant()).toBe(2);
    expect(await h.client.exists(k.hash, h.ks.history(k))).toBe(0);
    expect(await h.prefixKeys()).not.toContainEqual(expect.stringContaining('tdone:'));
  });
});
