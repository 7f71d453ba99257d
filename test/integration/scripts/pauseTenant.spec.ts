import { TENANT, useScriptHarness } from './script-harness';

/*
 * pauseTenant-1.lua called directly: every schedule of the tenant paused with its own state kept,
 * out of its due index, the epoch moved on only when one held a run; other tenants untouched.
 */

const h = useScriptHarness();

const pauseTenant = (tenant = TENANT) =>
  h.scripts.pauseTenant(h.ks.partitionBases[0], tenant, h.ks.wakeChannel);

describe('pauseTenant', () => {
  it("pauses each schedule, keeping its own state in 'tp', and takes it out of its due index", async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'on', fireMs: now + 60_000 });
    await h.upsert({ id: 'off', fireMs: now + 60_000, enabled: false });
    await h.upsert({ id: 'other', tenant: 'beta', fireMs: now + 60_000 });

    expect(await pauseTenant()).toEqual({ paused: 2, schedules: 2 });
    expect(await h.client.hmget(h.keysOf('on').hash, 'en', 'tp', 'rv')).toEqual(['0', '1', '2']);
    expect(await h.client.hmget(h.keysOf('off').hash, 'en', 'tp')).toEqual(['0', '0']);
    expect(await h.score(h.dueKey(), h.keysOf('on').member)).toBeNull();
    expect(await h.client.exists(h.ks.tenantPause(TENANT))).toBe(1);
    expect(await h.client.zrange(h.ks.tenantIndex(0), '0', '-1')).toEqual([TENANT, 'beta']);
    // Nothing held a run: no reservation can wait, the epoch stays.
    expect(await h.epoch()).toBe(0);
    // Another tenant is untouched.
    const other = h.keysOf('other', 'h1', 'beta');
    expect(await h.client.hmget(other.hash, 'en', 'tp')).toEqual([null, null]);
    expect(await h.score(h.dueKey(), other.member)).toBe(now + 60_000);

    // Again: already paused by the tenant, nothing changes.
    expect(await pauseTenant()).toEqual({ paused: 0, schedules: 2 });
    expect(await h.client.hget(h.keysOf('on').hash, 'rv')).toBe('2');
  });

  it('moves the epoch on when a schedule holds a reservation, which confirmRuns then hands back', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 2_000 });
    const [run] = (await h.claim({ lookAheadMs: 5_000 })).runs;
    expect(run).toMatchObject({ claim: 'run', attempt: 1 });

    await pauseTenant();
    expect(await h.epoch()).toBe(1);
    // The held run's due entry stays (its lease), as pause() leaves it.
    expect(await h.score(h.dueKey(), k.member)).not.toBeNull();
    const reply = await h.scripts.confirmRuns(k.base, 0, 0, run.leaseUntilMs, [
      { member: k.member, fencingToken: run.fencingToken, revision: run.revision },
    ]);
    expect(reply).toMatchObject({ status: 'checked', verdicts: ['changed'] });
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('pauses a tenant without schedules: its later upserts are stored paused', async () => {
    const now = await h.redisNow();
    expect(await pauseTenant()).toEqual({ paused: 0, schedules: 0 });
    const reply = await h.upsert({ id: 'new', fireMs: now - 1_000 });
    expect(reply.tenantPaused).toBe(true);
    expect(await h.client.hmget(h.keysOf('new').hash, 'en', 'tp')).toEqual(['0', '1']);
    expect(await h.score(h.dueKey(), h.keysOf('new').member)).toBeNull();
    expect((await h.claim()).runs).toEqual([]);
  });
  it('stops a triggered run that has not started: its record ends at the next claim', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const triggered = await h.scripts.triggerRun(k, 'skip', h.ks.wakeChannel);
    if (triggered.status !== 'triggered') throw new Error(JSON.stringify(triggered));
    const record = `${k.member}:r:${triggered.id}`;

    await pauseTenant();
    // Kill switch: nothing of the tenant starts, not even a trigger accepted before the pause.
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.client.exists(`${k.base}s:${record}`)).toBe(0);
    expect(await h.score(h.dueKey(), record)).toBeNull();
    expect(await h.client.smembers(h.ks.detachedRuns(k))).toEqual([]);
    expect(await h.client.hget(k.hash, 'tg')).toBeNull();
  });
});
