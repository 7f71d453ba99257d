import { PayloadTooLargeError, TenantQuotaExceededError } from '../../../lib';
import { waitFor } from '../../support/wait-for';
import { TENANT, useScriptHarness } from './script-harness';

/*
 * upsertSchedules-1.lua called directly: creating and updating schedules, tenant quota, payload
 * limit, handler moves, the change epoch and wake messages.
 */

const h = useScriptHarness();

describe('upsertSchedules', () => {
  it('creates a schedule: hash, tenant set, due index entry and the reply of its header', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const before = await h.redisNow();
    const { nowMs, replies } = await h.upsertBatch([
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
    const after = await h.redisNow();

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
        tenantPaused: false,
      },
    ]);
    // The tenant is in its partition's tenant index (tenants() pages through it).
    expect(await h.client.zrange(h.ks.tenantIndex(0), '0', '-1')).toEqual(['acme']);
    // Fields at their default are not stored: no policy, no 'en' while enabled.
    expect(await h.client.hgetall(k.hash)).toEqual({
      h: 'h:h1',
      t: '0 9 * * 1|Europe/Paris|5000',
      p: '{"a":1}',
      nf: String(now + 60_000),
      nd: String(now + 61_000),
      rv: '1',
      ca: String(nowMs), // 'ua' comes with the first update
      gn: expect.any(String),
    });
    expect(await h.client.smembers(h.ks.tenantSet(TENANT))).toEqual(['s1']);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 61_000);
  });

  it('is idempotent: the same timing again keeps the next fire time; a revision counts changes', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const first = await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const same = await h.upsert({ id: 's1', fireMs: now + 90_000 });
    expect(await h.client.hget(k.hash, 'rv')).toBe('1');
    const second = await h.upsert({ id: 's1', fireMs: now + 120_000, payload: '{"changed":true}' });

    expect([same.status, same.nextFireMs]).toEqual(['updated', now + 60_000]);
    expect(second.status).toBe('updated');
    expect(second.nextFireMs).toBe(now + 60_000);
    expect(second.nextDueMs).toBe(now + 60_000);
    expect(second.createdAtMs).toBe(first.createdAtMs);
    expect(Number(await h.client.hget(k.hash, 'ua'))).toBeGreaterThanOrEqual(first.createdAtMs);
    expect(await h.client.hmget(k.hash, 'nf', 'nd', 'rv', 'p')).toEqual([
      String(now + 60_000),
      null,
      '2',
      '{"changed":true}',
    ]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
    expect(await h.client.scard(h.ks.tenantSet(TENANT))).toBe(1);
    // Dropping the payload deletes the field.
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    expect(await h.client.hexists(k.hash, 'p')).toBe(0);
  });

  it.each([
    ['cron', { cron: '*/2 * * * *' }],
    ['time zone', { timeZone: 'Asia/Tokyo' }],
    ['jitter', { jitterMs: 1_000 }],
  ])('a %s change replaces the next fire time and bumps the revision', async (_what, change) => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    const reply = await h.upsert({
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
    expect(await h.client.hmget(k.hash, 'nf', 'nd', 'rv')).toEqual([
      String(now + 120_000),
      String(now + 120_500),
      '2',
    ]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 120_500);
  });

  it('refuses a new schedule over the tenant quota with -1 and writes nothing', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'a', fireMs: now + 60_000, maxPerTenant: 2 });
    await h.upsert({ id: 'b', fireMs: now + 60_000, maxPerTenant: 2 });
    const keysBefore = await h.prefixKeys();
    const dueBefore = await h.client.zrange(h.dueKey(), 0, '-1');

    const refused = await h.refusal({ id: 'c', fireMs: now + 1_000, maxPerTenant: 2 });
    expect(refused).toBeInstanceOf(TenantQuotaExceededError);
    expect(refused).toMatchObject({ tenantId: TENANT, limit: 2 });

    expect(await h.client.exists(h.keysOf('c').hash)).toBe(0);
    expect((await h.client.smembers(h.ks.tenantSet(TENANT))).sort()).toEqual(['a', 'b']);
    expect(await h.client.zrange(h.dueKey(), 0, '-1')).toEqual(dueBefore);
    expect(await h.prefixKeys()).toEqual(keysBefore);
    // Updating an existing schedule at the quota is allowed; another tenant is not affected.
    expect((await h.upsert({ id: 'a', fireMs: now + 60_000, maxPerTenant: 2 })).status).toBe(
      'updated',
    );
    expect(
      (await h.upsert({ id: 'c', fireMs: now + 60_000, maxPerTenant: 2, tenant: 'other' })).status,
    ).toBe('created');
  });

  it('counts schedules created earlier in the same batch against the quota', async () => {
    const now = await h.redisNow();
    const { replies } = await h.upsertBatch(
      ['a', 'b', 'c', 'd'].map((id) => ({ id, fireMs: now + 60_000, maxPerTenant: 3 })),
    );
    expect(replies.map((r) => r.status)).toEqual(['created', 'created', 'created', 'refused']);
    expect(await h.client.scard(h.ks.tenantSet(TENANT))).toBe(3);
    expect(await h.client.zcard(h.dueKey())).toBe(3);
  });

  it('refuses a payload over the limit (counted in bytes) with -2 and writes nothing', async () => {
    const now = await h.redisNow();
    const payload = JSON.stringify('ééééé'); // 7 characters, 12 bytes
    const tooLarge = { bytes: 12, maxBytes: 10 };
    const refused = await h.refusal({
      id: 'new',
      fireMs: now + 1_000,
      payload,
      maxPayloadBytes: 10,
    });
    expect(refused).toBeInstanceOf(PayloadTooLargeError);
    expect(refused).toMatchObject(tooLarge);
    expect(await h.prefixKeys()).toEqual([]);

    const k = h.keysOf('old');
    await h.upsert({ id: 'old', fireMs: now + 60_000, payload: '"ok"', maxPayloadBytes: 10 });
    const before = await h.client.hgetall(k.hash);
    expect(
      await h.refusal({
        id: 'old',
        fireMs: now + 1_000,
        payload,
        cron: '*/3 * * * *',
        maxPayloadBytes: 10,
      }),
    ).toMatchObject(tooLarge);
    expect(await h.client.hgetall(k.hash)).toEqual(before);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 60_000);
    // At the limit exactly is fine.
    const exact = '"12345678"'; // 10 bytes
    expect(
      (await h.upsert({ id: 'old', fireMs: now + 60_000, payload: exact, maxPayloadBytes: 10 }))
        .status,
    ).toBe('updated');
  });

  it('moves the member between due indexes when the handler changes', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000, handler: 'h1' });
    expect(await h.score(h.dueKey('h1'), k.member)).toBe(now + 60_000);

    const reply = await h.upsert({ id: 's1', fireMs: now + 90_000, handler: 'h2' });
    expect([reply.status, reply.nextFireMs]).toEqual(['updated', now + 90_000]);
    expect(await h.score(h.dueKey('h1'), k.member)).toBeNull();
    expect(await h.score(h.dueKey('h2'), k.member)).toBe(now + 90_000);
    expect(await h.client.hmget(k.hash, 'h', 'rv')).toEqual(['h:h2', '2']);
  });

  it('the last write of a schedule in a batch wins, in the due index too', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsertBatch([
      { id: 's1', fireMs: now + 60_000, handler: 'h1' },
      { id: 's1', fireMs: now + 70_000, handler: 'h2' },
      { id: 's1', fireMs: now + 80_000, handler: 'h2', cron: '*/2 * * * *', enabled: false },
    ]);
    expect(await h.score(h.dueKey('h1'), k.member)).toBeNull();
    expect(await h.score(h.dueKey('h2'), k.member)).toBeNull();
    expect(await h.client.hmget(k.hash, 'h', 'en', 'rv')).toEqual(['h:h2', '0', '3']);
  });

  it('moves a running schedule to the new handler index with its lease score', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000, handler: 'h1' });
    const [run] = (await h.claim({ handler: 'h1' })).runs;

    const reply = await h.upsert({ id: 's1', fireMs: now + 90_000, handler: 'h2' });
    expect(reply.running).toBe(true);
    expect(await h.score(h.dueKey('h1'), k.member)).toBeNull();
    expect(await h.score(h.dueKey('h2'), k.member)).toBe(run.leaseUntilMs);
    // Its completion re-arms in the new index, with the new timing (revision changed).
    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect(await h.score(h.dueKey('h2'), k.member)).toBe(now + 90_000);
    expect(await h.score(h.dueKey('h1'), k.member)).toBeNull();
  });

  it('a disabled upsert takes the schedule out of its due index', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.upsert({ id: 's1', fireMs: now + 60_000, enabled: false });
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.hget(k.hash, 'en')).toBe('0');
    // Re-enabling is a timing change: the given next fire time is used.
    const back = await h.upsert({ id: 's1', fireMs: now + 70_000 });
    expect([back.status, back.nextFireMs, back.nextDueMs]).toEqual([
      'updated',
      now + 70_000,
      now + 70_000,
    ]);
    expect(await h.client.hexists(k.hash, 'en')).toBe(0);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 70_000);
  });

  it('moves the change epoch on only for a change to a schedule holding a run state', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'idle', fireMs: now + 60_000 });
    await h.upsert({ id: 'idle', fireMs: now + 60_000, payload: '"x"' });
    await h.upsert({ id: 'busy', fireMs: now - 1_000 });
    await h.claim();
    expect(await h.epoch()).toBe(0);
    await h.upsert({ id: 'busy', fireMs: now - 1_000 }); // no change
    expect(await h.epoch()).toBe(0);
    await h.upsertBatch([
      { id: 'busy', fireMs: now + 60_000, payload: '"y"' },
      { id: 'busy', fireMs: now + 60_000, payload: '"z"' },
    ]);
    expect(await h.epoch()).toBe(1); // once per batch
  });

  it('publishes on the wake channel only when a batch arms earlier than anything its index held', async () => {
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === h.ks.wakeChannel) messages.push(message);
    });
    await subscriber.subscribe(h.ks.wakeChannel);
    const now = await h.redisNow();

    await h.upsert({ id: 'first', fireMs: now + 60_000 }); // empty index: earliest
    await h.upsert({ id: 'later', fireMs: now + 120_000 }); // not the earliest: silent
    await h.upsert({ id: 'same', fireMs: now + 60_000 }); // equal, not earlier: silent
    await h.upsert({ id: 'other-handler', fireMs: now + 90_000, handler: 'h2' }); // its own index
    await h.upsertBatch([
      { id: 'b1', fireMs: now + 40_000 },
      { id: 'b2', fireMs: now + 30_000 },
      { id: 'b3', fireMs: now + 50_000 },
    ]); // one message for the batch: its earliest

    await waitFor(() => messages.length >= 3, { timeoutMs: 5_000, message: '3 wake messages' });
    // Messages arrive in publish order, so a message from a silent upsert would precede the last.
    expect(messages).toEqual([
      `${h.dueKey()} ${now + 60_000}`,
      `${h.dueKey('h2')} ${now + 90_000}`,
      `${h.dueKey()} ${now + 30_000}`,
    ]);
    await subscriber.quit();
  });

  it('creates a finished one-off anew: old hash and history deleted, counted toward the quota again', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('once');
    const historyKey = `${k.base}rh:${k.member}`;
    await h.upsert({ id: 'once', cron: `@at:${now}`, fireMs: now });
    await h.client.hset(
      k.hash,
      'fx',
      String(now),
      'l',
      `succeeded:${now}:${now}`,
      'r',
      String(now),
    );
    await h.client.srem(k.tenantSet, 'once');
    await h.client.pexpire(k.hash, 60_000);
    await h.client.hset(historyKey, '0', 'old');
    await h.client.pexpire(historyKey, 60_000);
    const gn = await h.client.hget(k.hash, 'gn');

    // The quota counts the schedules that can still run: with one other, a limit of 1 refuses it.
    await h.upsert({ id: 'other', fireMs: now + 60_000 });
    expect(
      (
        await h.refusal({
          id: 'once',
          cron: `@at:${now + 5_000}`,
          fireMs: now + 5_000,
          maxPerTenant: 1,
        })
      ).code,
    ).toBe('TENANT_QUOTA_EXCEEDED');
    expect(await h.client.hget(k.hash, 'fx')).toBe(String(now));

    const again = await h.upsert({
      id: 'once',
      cron: `@at:${now + 5_000}`,
      fireMs: now + 5_000,
      maxPerTenant: 2,
    });
    expect(again.status).toBe('created');
    expect(again.last).toBe('');
    const fields = await h.client.hgetall(k.hash);
    expect(fields.fx).toBeUndefined();
    expect(fields.r).toBeUndefined();
    expect(fields.gn).not.toBe(gn);
    expect(await h.client.pttl(k.hash)).toBe(-1);
    expect(await h.client.exists(historyKey)).toBe(0);
    expect(await h.client.sismember(k.tenantSet, 'once')).toBe(1);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 5_000);
  });
});
