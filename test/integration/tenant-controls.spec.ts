import type { Redis } from 'ioredis';
import { InvalidIdentifierError, InvalidOptionsError, ScheduleInput } from '../../lib';
import { KeySpace } from '../../lib/redis/key-space';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { redisNow } from '../support/redis-time';
import { recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { waitFor } from '../support/wait-for';

/*
 * Tenant controls against a real redis-server: pauseTenant as a kill switch (runs reserved ahead
 * included), resumeTenant back to each schedule's own state, removeTenant, and paging through
 * tenants and a tenant's schedules. Every test also checks that another tenant is untouched.
 */

let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterAll(() => server.stop());

const guards = { maxSchedulesPerTenant: 50, minIntervalMs: 0, maxPayloadBytes: 0 };
const everySecond = (tenantId: string, id: string, over: Partial<ScheduleInput> = {}) => ({
  tenantId,
  id,
  cron: '* * * * * *',
  handler: 'record',
  ...over,
});
/** A cron that never fires during a test (paging tests). */
const yearly = (tenantId: string, id: string) => ({
  ...everySecond(tenantId, id),
  cron: '0 0 1 1 *',
});

const startsOf = (tenantId: string, id?: string) =>
  runs.filter((r) => r.tenantId === tenantId && (id === undefined || r.scheduleId === id));

/** A negative observation: nothing may happen during `ms` (a window, not a synchronisation). */
const observe = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tenant controls', () => {
  let app: TestApp;
  let prefix: string;
  let ks: KeySpace;
  beforeEach(async () => {
    resetRecorder();
    prefix = freshPrefix();
    ks = new KeySpace(prefix, 1);
    app = await createApp(
      { redis: server.url, keyPrefix: prefix, tenantGuards: guards, lookAheadMs: 1_500 },
      [recordingHandlers('a')],
    );
  });
  afterEach(() => app.close());

  it('pauseTenant stops every schedule of the tenant at once, a run reserved ahead included; other tenants run on', async () => {
    await app.scheduler.upsert(everySecond('acme', 's1'));
    await app.scheduler.upsert(everySecond('acme', 's2'));
    await app.scheduler.upsert(everySecond('other', 's1'));
    await waitFor(() => startsOf('acme', 's1').length >= 2, { message: 'acme to run' });
    // A run reserved ahead: s1's run state holds a first attempt for a fire time not yet due.
    const hash = ks.dynamicSchedule('acme', 's1').hash;
    const reserved = await waitFor(
      async () => {
        const [fire, attempt, fence] = ((await redis.hget(hash, 'r')) ?? '').split(':').map(Number);
        return attempt === 1 && fence > 0 && fire > (await redisNow(redis)) + 200
          ? fire
          : undefined;
      },
      { timeoutMs: 10_000, message: 'a run of acme/s1 reserved ahead' },
    );

    expect(await app.scheduler.pauseTenant('acme')).toBe(2);
    const pausedAt = await redisNow(redis);
    const acmeStarts = startsOf('acme').length;
    const otherStarts = startsOf('other').length;
    expect(reserved).toBeGreaterThan(pausedAt);

    await observe(3_000);
    expect(startsOf('acme').filter((r) => r.fireTime === reserved)).toEqual([]);
    expect(startsOf('acme').filter((r) => r.fireTime > pausedAt)).toEqual([]);
    expect(startsOf('acme')).toHaveLength(acmeStarts);
    expect(startsOf('other').length).toBeGreaterThanOrEqual(otherStarts + 2);
    expect(await app.scheduler.get('acme', 's1')).toMatchObject({
      state: 'paused',
      enabled: true,
      tenantPaused: true,
      nextFireAt: null,
    });
    expect(await app.scheduler.get('other', 's1')).toMatchObject({
      state: 'active',
      tenantPaused: false,
    });
    // Pausing again changes nothing and still counts the tenant's schedules.
    expect(await app.scheduler.pauseTenant('acme')).toBe(2);
  });

  it('resumeTenant puts each schedule back to its own state; upserts while paused wait for it', async () => {
    await app.scheduler.upsert(everySecond('acme', 'on'));
    await app.scheduler.upsert(everySecond('acme', 'off'));
    await app.scheduler.pause('acme', 'off');
    expect(await app.scheduler.pauseTenant('acme')).toBe(2);

    // Upserted while the tenant is paused: stored, not firing, its own state kept.
    const created = await app.scheduler.upsert(everySecond('acme', 'new'));
    expect(created).toMatchObject({ state: 'paused', enabled: true, tenantPaused: true });
    expect(created.nextFireAt).toBeNull();
    const disabled = await app.scheduler.upsert(everySecond('acme', 'new-off', { enabled: false }));
    expect(disabled).toMatchObject({ enabled: false, tenantPaused: true });
    // pause() / resume() while the tenant is paused change only the schedule's own state.
    expect(await app.scheduler.resume('acme', 'off')).toMatchObject({
      enabled: true,
      state: 'paused',
      tenantPaused: true,
    });
    expect(await app.scheduler.pause('acme', 'off')).toMatchObject({ enabled: false });
    await observe(2_500);
    expect(startsOf('acme')).toEqual([]);

    const resumedAt = await redisNow(redis);
    expect(await app.scheduler.resumeTenant('acme')).toBe(2);
    await waitFor(() => startsOf('acme', 'on').length >= 1 && startsOf('acme', 'new').length >= 1, {
      message: 'the resumed schedules to fire',
    });
    // Fire times missed while paused are skipped, as resume() does.
    expect(Math.min(...startsOf('acme').map((r) => r.fireTime))).toBeGreaterThan(resumedAt - 1_000);
    expect(await app.scheduler.get('acme', 'off')).toMatchObject({
      state: 'paused',
      enabled: false,
      tenantPaused: false,
    });
    expect(await app.scheduler.get('acme', 'new-off')).toMatchObject({
      state: 'paused',
      tenantPaused: false,
    });
    expect(await app.scheduler.get('acme', 'on')).toMatchObject({ state: 'active' });
    expect(startsOf('acme', 'off')).toEqual([]);
    // Not paused (any more): nothing to resume.
    expect(await app.scheduler.resumeTenant('acme')).toBe(0);
    expect(await app.scheduler.resumeTenant('nobody')).toBe(0);
  });

  it('removeTenant removes every schedule, returns the count, and none fires again', async () => {
    for (let i = 0; i < 5; i++) await app.scheduler.upsert(everySecond('acme', `s${i}`));
    await app.scheduler.upsert(everySecond('other', 's0'));
    await waitFor(() => startsOf('acme').length >= 5, { message: 'acme to run' });

    expect(await app.scheduler.removeTenant('acme')).toBe(5);
    const removedAt = Date.now();
    const otherStarts = startsOf('other').length;
    expect(await app.scheduler.list('acme')).toEqual([]);
    expect(await redis.keys(`${prefix}:*acme*`)).toEqual([]);
    await observe(2_500);
    // A run confirmed before the removal may still start within its round trip; none later.
    expect(startsOf('acme').filter((r) => r.startedAt > removedAt + 500)).toEqual([]);
    expect(startsOf('other').length).toBeGreaterThan(otherStarts);
    expect((await app.scheduler.tenants()).items.map((t) => t.tenantId)).toEqual(['other']);
    expect(await app.scheduler.removeTenant('acme')).toBe(0);
    // The quota is free again.
    for (let i = 0; i < guards.maxSchedulesPerTenant; i++) {
      await app.scheduler.upsert(yearly('acme', `again${i}`));
    }
  });

  it('refuses a bad tenant id with a typed error before anything is written', async () => {
    for (const call of [
      () => app.scheduler.pauseTenant('a:b'),
      () => app.scheduler.resumeTenant(''),
      () => app.scheduler.removeTenant('x{y}'),
      () => app.scheduler.list('a b', {}),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(InvalidIdentifierError);
    }
    expect(await redis.keys(`${prefix}:*`)).toEqual(
      expect.not.arrayContaining([expect.stringContaining('tpause')]),
    );
  });
});

describe('paging', () => {
  let app: TestApp;
  let prefix: string;
  beforeAll(async () => {
    prefix = freshPrefix();
    // Four partitions: a page of tenants is merged from four indexes.
    app = await createApp(
      {
        redis: server.url,
        keyPrefix: prefix,
        partitions: 4,
        worker: false,
        tenantGuards: guards,
      },
      [recordingHandlers('a')],
    );
  });
  afterAll(() => app.close());

  it('pages through every tenant once, in order, with its schedule count and pause', async () => {
    const expected = Array.from({ length: 57 }, (_, i) => ({
      tenantId: `tenant-${String(i).padStart(3, '0')}`,
      schedules: (i % 3) + 1,
      paused: i % 10 === 0,
    }));
    for (const t of expected) {
      for (let s = 0; s < t.schedules; s++) await app.scheduler.upsert(yearly(t.tenantId, `s${s}`));
      if (t.paused) await app.scheduler.pauseTenant(t.tenantId);
    }
    const seen: typeof expected = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await app.scheduler.tenants({ cursor, limit: 10 });
      expect(page.items.length).toBeLessThanOrEqual(10);
      seen.push(...page.items);
      cursor = page.cursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(6);
    expect(seen).toEqual(expected);
    // A page as large as everything: no cursor.
    expect((await app.scheduler.tenants({ limit: 1_000 })).cursor).toBeNull();
  });

  it("pages through a tenant's schedules by id without duplicates or omissions; list(tenantId) still returns all", async () => {
    const ids = Array.from({ length: 37 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    for (const id of [...ids].reverse()) await app.scheduler.upsert(yearly('big', id));
    await app.scheduler.upsert(yearly('small', 'job-00'));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string; tenantId: string }[]; cursor: string | null } =
        await app.scheduler.list('big', { cursor: cursor ?? undefined, limit: 5 });
      expect(page.items.every((s) => s.tenantId === 'big')).toBe(true);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
    const all = await app.scheduler.list('big');
    expect(all.map((s) => s.id)).toEqual(ids);
    expect(await app.scheduler.list('nobody', { limit: 3 })).toEqual({ items: [], cursor: null });
  });

  it('refuses paging options out of bounds or a cursor no page returned, with a typed error', async () => {
    for (const options of [
      { limit: 0 },
      { limit: 1_001 },
      { limit: 2.5 },
      { limit: '10' as unknown as number },
      { cursor: 'not a cursor!' },
      { cursor: Buffer.from('a:b').toString('base64url') },
      { cursor: '' },
    ]) {
      await expect(app.scheduler.tenants(options)).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(app.scheduler.list('big', options)).rejects.toBeInstanceOf(InvalidOptionsError);
    }
    await expect(app.scheduler.tenants({ limit: 0 })).rejects.toThrow(
      'Invalid limit: 0 must be an integer from 1 to 1000.',
    );
  });
});
