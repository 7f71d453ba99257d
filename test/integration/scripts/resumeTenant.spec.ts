import { TENANT, useScriptHarness } from './script-harness';

/*
 * resumeTenant-1.lua called directly: each schedule back to its own state, armed at the next fire
 * time sent, all or nothing when a timing changed since it was read.
 */

const h = useScriptHarness();
const TIMING = '* * * * *|UTC|0';

const base = () => h.ks.partitionBases[0];
const pauseTenant = () => h.scripts.pauseTenant(base(), TENANT, h.ks.wakeChannel);

describe('resumeTenant', () => {
  it('arms the schedules enabled on their own, leaves the ones paused on their own, wakes workers', async () => {
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_c: string, m: string) => messages.push(m));
    await subscriber.subscribe(h.ks.wakeChannel);
    try {
      const now = await h.redisNow();
      await h.upsert({ id: 'on', fireMs: now - 60_000 });
      await h.upsert({ id: 'off', fireMs: now + 60_000, enabled: false });
      await pauseTenant();

      const reply = await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [
        { id: 'on', timing: TIMING, nextFireMs: now + 30_000, nextDueMs: now + 30_500 },
      ]);
      expect(reply).toEqual({ status: 'resumed', resumed: 1, keptPaused: 1 });
      const on = h.keysOf('on');
      expect(await h.client.hmget(on.hash, 'en', 'tp', 'nf', 'nd')).toEqual([
        null,
        null,
        String(now + 30_000),
        String(now + 30_500),
      ]);
      expect(await h.score(h.dueKey(), on.member)).toBe(now + 30_500);
      expect(await h.client.hmget(h.keysOf('off').hash, 'en', 'tp')).toEqual(['0', null]);
      expect(await h.score(h.dueKey(), h.keysOf('off').member)).toBeNull();
      expect(await h.client.exists(h.ks.tenantPause(TENANT))).toBe(0);
      await subscriber.ping(); // the messages published before the reply have arrived after it
      expect(messages).toContain(`${h.dueKey()} ${now + 30_500}`);
    } finally {
      subscriber.disconnect();
    }
  });

  it('writes nothing when a schedule to arm is missing from the call or its timing changed', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now + 60_000 });
    await h.upsert({ id: 'b', fireMs: now + 60_000 });
    await pauseTenant();
    const plan = (id: string, timing = TIMING) => ({
      id,
      timing,
      nextFireMs: now + 1_000,
      nextDueMs: now + 1_000,
    });
    expect(await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [plan('a')])).toEqual({
      status: 'changed',
      scheduleId: 'b',
    });
    expect(
      await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [
        plan('a'),
        plan('b', '*/5 * * * *|UTC|0'),
      ]),
    ).toEqual({ status: 'changed', scheduleId: 'b' });
    expect(await h.client.hmget(h.keysOf('a').hash, 'en', 'tp')).toEqual(['0', '1']);
    expect(await h.client.exists(h.ks.tenantPause(TENANT))).toBe(1);
    expect(
      await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [plan('a'), plan('b')]),
    ).toMatchObject({ status: 'resumed', resumed: 2 });
  });

  it('answers not-paused for a tenant that is not paused, and touches nothing', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now + 60_000 });
    expect(await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [])).toEqual({
      status: 'not-paused',
    });
    expect(await h.client.hget(h.keysOf('a').hash, 'rv')).toBe('1');
  });

  it('moves the epoch on for a schedule holding a run instead of re-arming it', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now - 1_000 });
    await h.claim();
    await pauseTenant();
    const epoch = await h.epoch();
    await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [
      { id: 'a', timing: TIMING, nextFireMs: now + 60_000, nextDueMs: now + 60_000 },
    ]);
    expect(await h.epoch()).toBe(epoch + 1);
    expect(await h.client.hget(h.keysOf('a').hash, 'nf')).toBe(String(now + 60_000));
  });

  it('un-parks a schedule enabled on its own that a run parked while the tenant was paused', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('a');
    await h.upsert({ id: 'a', fireMs: now + 60_000 });
    await pauseTenant();
    await h.client.hset(k.hash, 'pk', `${now}:cannot compute its fire times`);
    await h.scripts.resumeTenant(base(), TENANT, h.ks.wakeChannel, [
      { id: 'a', timing: TIMING, nextFireMs: now + 60_000, nextDueMs: now + 60_000 },
    ]);
    expect(await h.client.hmget(k.hash, 'pk', 'en', 'tp')).toEqual([null, null, null]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
  });
});
