import { Injectable } from '@nestjs/common';
import { CronExpressionParser } from 'cron-parser';
import type { Redis } from 'ioredis';
import {
  DistributedCron,
  BulkUpsertError,
  IntervalTooShortError,
  InvalidCronError,
  InvalidIdentifierError,
  InvalidOptionsError,
  PayloadTooLargeError,
  ScheduleInput,
  SchedulerError,
  TenantQuotaExceededError,
  UnknownHandlerError,
  UnknownTimeZoneError,
} from '../../lib';
import { KeySpace } from '../../lib/redis/key-space';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { waitFor } from '../support/wait-for';

let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterAll(() => server.stop());

const guards = { maxSchedulesPerTenant: 3, minIntervalMs: 2_000, maxPayloadBytes: 1_000 };
const input = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  tenantId: 'acme',
  id: 'weekly',
  cron: '0 9 * * 1',
  timeZone: 'Europe/Paris',
  handler: 'record',
  payload: { reportId: 'r1' },
  jitterMs: 30_000,
  ...over,
});

/** Every key under the prefix with its full value, to prove a refusal wrote nothing. */
async function snapshot(prefix: string): Promise<Record<string, string>> {
  const keys = (await redis.keys(`${prefix}:*`)).sort();
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = JSON.stringify(await redis.dump(key));
  return out;
}

describe('SchedulerService', () => {
  let app: TestApp;
  let prefix: string;
  beforeEach(async () => {
    resetRecorder();
    prefix = freshPrefix();
    app = await createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: guards }, [
      recordingHandlers('a'),
    ]);
  });
  afterEach(() => app.close());

  it('upserts and returns the stored schedule with its next fire time', async () => {
    const [seconds] = await redis.time();
    const schedule = await app.scheduler.upsert(input());
    expect(schedule).toMatchObject({
      tenantId: 'acme',
      id: 'weekly',
      cron: '0 9 * * 1',
      timeZone: 'Europe/Paris',
      handler: 'record',
      payload: { reportId: 'r1' },
      jitterMs: 30_000,
      enabled: true,
      lastFireAt: null,
      lastStatus: null,
      running: false,
    });
    expect(schedule.nextFireAt!.getTime()).toBeGreaterThan(Number(seconds) * 1000);
    // A Monday, 09:00 in Paris.
    expect(
      schedule.nextFireAt!.toLocaleString('en-GB', {
        timeZone: 'Europe/Paris',
        weekday: 'long',
        hour: '2-digit',
        minute: '2-digit',
      }),
    ).toBe('Monday 09:00');
    expect(await app.scheduler.get('acme', 'weekly')).toEqual(schedule);
  });

  it('is idempotent: the same upsert twice keeps the schedule and its next fire time', async () => {
    const first = await app.scheduler.upsert(input());
    const second = await app.scheduler.upsert(input());
    expect(second.nextFireAt).toEqual(first.nextFireAt);
    expect(second.createdAt).toEqual(first.createdAt);
    expect(await app.scheduler.list('acme')).toHaveLength(1);
  });

  it('re-arms when the timing changes, keeps the next fire when only the payload changes', async () => {
    const first = await app.scheduler.upsert(input());
    const payloadOnly = await app.scheduler.upsert(input({ payload: { reportId: 'r2' } }));
    expect(payloadOnly.nextFireAt).toEqual(first.nextFireAt);
    expect(payloadOnly.payload).toEqual({ reportId: 'r2' });
    const daily = await app.scheduler.upsert(input({ cron: '0 9 * * *' }));
    expect(daily.nextFireAt!.getTime()).toBeLessThanOrEqual(first.nextFireAt!.getTime());
    expect(daily.cron).toBe('0 9 * * *');
  });

  it('lists a tenant’s schedules sorted by id, and nobody else’s', async () => {
    await app.scheduler.upsert(input({ id: 'b' }));
    await app.scheduler.upsert(input({ id: 'a' }));
    await app.scheduler.upsert(input({ tenantId: 'globex', id: 'c' }));
    expect((await app.scheduler.list('acme')).map((s) => s.id)).toEqual(['a', 'b']);
    expect(await app.scheduler.list('nobody')).toEqual([]);
  });

  it('removes: true once, then false; get returns null; the quota slot is freed', async () => {
    for (const id of ['a', 'b', 'c']) await app.scheduler.upsert(input({ id }));
    expect(await app.scheduler.remove('acme', 'a')).toBe(true);
    expect(await app.scheduler.remove('acme', 'a')).toBe(false);
    expect(await app.scheduler.get('acme', 'a')).toBeNull();
    await expect(app.scheduler.upsert(input({ id: 'd' }))).resolves.toMatchObject({ id: 'd' });
  });

  it('pauses and resumes; null for an unknown schedule', async () => {
    await app.scheduler.upsert(input());
    const paused = await app.scheduler.pause('acme', 'weekly');
    expect(paused).toMatchObject({ enabled: false, nextFireAt: null });
    const resumed = await app.scheduler.resume('acme', 'weekly');
    expect(resumed?.enabled).toBe(true);
    expect(resumed?.nextFireAt).toBeInstanceOf(Date);
    expect(await app.scheduler.pause('acme', 'nope')).toBeNull();
    expect(await app.scheduler.resume('acme', 'nope')).toBeNull();
  });

  it('enforces the tenant quota; updating an existing schedule does not count twice', async () => {
    for (const id of ['a', 'b', 'c']) await app.scheduler.upsert(input({ id }));
    await expect(app.scheduler.upsert(input({ id: 'a', payload: 1 }))).resolves.toMatchObject({
      payload: 1,
    });
    await expect(app.scheduler.upsert(input({ id: 'd' }))).rejects.toThrow(
      TenantQuotaExceededError,
    );
    await expect(
      app.scheduler.upsert(input({ tenantId: 'globex', id: 'd' })),
    ).resolves.toBeDefined();
  });

  it.each<[string, Partial<ScheduleInput>, new (...args: never[]) => SchedulerError]>([
    ['invalid cron', { cron: '* * *' }, InvalidCronError],
    ['unknown time zone', { timeZone: 'Nowhere/Land' }, UnknownTimeZoneError],
    ['unknown handler', { handler: 'nope' }, UnknownHandlerError],
    ['interval below the minimum', { cron: '* * * * * *' }, IntervalTooShortError],
    ['payload too large', { payload: 'x'.repeat(2_000) }, PayloadTooLargeError],
    ['identifier escaping its key', { id: 'a}{b' }, InvalidIdentifierError],
    ['empty tenant', { tenantId: '' }, InvalidIdentifierError],
    // A timer cannot wait longer: every run would time out after 1 ms and be dead-lettered.
    ['timeoutMs beyond a timer (2 ** 31)', { timeoutMs: 2 ** 31 }, InvalidOptionsError],
  ])('rejects %s with its typed error and leaves Redis unchanged', async (_what, change, type) => {
    await app.scheduler.upsert(input({ id: 'existing' }));
    const before = await snapshot(prefix);
    await expect(app.scheduler.upsert(input({ id: 'new', ...change }))).rejects.toThrow(type);
    await expect(app.scheduler.upsert(input({ id: 'existing', ...change }))).rejects.toThrow(type);
    expect(await snapshot(prefix)).toEqual(before);
  });

  it('leaves Redis unchanged when the quota refuses', async () => {
    for (const id of ['a', 'b', 'c']) await app.scheduler.upsert(input({ id }));
    const before = await snapshot(prefix);
    await expect(app.scheduler.upsert(input({ id: 'd' }))).rejects.toThrow(
      TenantQuotaExceededError,
    );
    expect(await snapshot(prefix)).toEqual(before);
  });

  it('validates identifiers on reads too', async () => {
    await expect(app.scheduler.get('ac me', 'x')).rejects.toThrow(InvalidIdentifierError);
    await expect(app.scheduler.list('{x}')).rejects.toThrow(InvalidIdentifierError);
    await expect(app.scheduler.remove('acme', '')).rejects.toThrow(InvalidIdentifierError);
  });

  it('runs a dynamic schedule with its payload and tenant, and records the outcome', async () => {
    await app.scheduler.upsert(input({ cron: '*/2 * * * * *', jitterMs: 0, payload: { n: 1 } }));
    await waitFor(() => runs.length >= 1, { message: 'no run' });
    expect(runs[0]).toMatchObject({
      scheduleId: 'weekly',
      tenantId: 'acme',
      attempt: 1,
      payload: { n: 1 },
    });
    expect(runs[0].fireTime % 1000).toBe(0);
    const stored = await waitFor(async () => {
      const s = await app.scheduler.get('acme', 'weekly');
      return s?.lastStatus === 'succeeded' ? s : null;
    });
    expect(stored.lastFireAt!.getTime()).toBeGreaterThanOrEqual(runs[0].fireTime);
  });
});

describe('tenant quota under concurrent upserts from many pods', () => {
  it('never exceeds maxSchedulesPerTenant', async () => {
    const prefix = freshPrefix();
    const apps = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        createApp(
          {
            redis: server.url,
            keyPrefix: prefix,
            worker: false,
            tenantGuards: { ...guards, maxSchedulesPerTenant: 5 },
          },
          [recordingHandlers(`p${i}`)],
        ),
      ),
    );
    try {
      const attempts = apps.flatMap((app, i) =>
        Array.from({ length: 10 }, (_, j) => app.scheduler.upsert(input({ id: `s-${i}-${j}` }))),
      );
      const results = await Promise.allSettled(attempts);
      const created = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof TenantQuotaExceededError,
      ).length;
      expect(created).toBe(5);
      expect(refused).toBe(35);
      expect(await apps[0].scheduler.list('acme')).toHaveLength(5);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});

describe('upsertMany', () => {
  let app: TestApp;
  let prefix: string;
  beforeEach(async () => {
    prefix = freshPrefix();
    app = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: guards },
      [recordingHandlers('a')],
    );
  });
  afterEach(() => app.close());

  it('writes many schedules across tenants and returns them in order', async () => {
    const inputs = Array.from({ length: 30 }, (_, i) =>
      input({ tenantId: `t${i % 10}`, id: `s${i}` }),
    );
    const written = await app.scheduler.upsertMany(inputs);
    expect(written.map((s) => `${s.tenantId}/${s.id}`)).toEqual(
      inputs.map((i) => `${i.tenantId}/${i.id}`),
    );
    expect(await app.scheduler.list('t3')).toHaveLength(3);
    // Idempotent like upsert.
    const again = await app.scheduler.upsertMany(inputs);
    expect(again.map((s) => s.nextFireAt)).toEqual(written.map((s) => s.nextFireAt));
  });

  it('writes nothing when any input is invalid', async () => {
    const before = await snapshot(prefix);
    await expect(
      app.scheduler.upsertMany([input({ id: 'ok' }), input({ id: 'bad', cron: 'nope' })]),
    ).rejects.toThrow(InvalidCronError);
    expect(await snapshot(prefix)).toEqual(before);
  });

  it('writes what the quota allows and reports the refusals', async () => {
    const inputs = Array.from({ length: 5 }, (_, i) => input({ id: `q${i}` }));
    const error = await app.scheduler.upsertMany(inputs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkUpsertError);
    const bulk = error as BulkUpsertError;
    expect(bulk.schedules.map((s) => s.id)).toEqual(['q0', 'q1', 'q2']);
    expect(bulk.failures.map((f) => f.index)).toEqual([3, 4]);
    expect(bulk.failures[0].error).toBeInstanceOf(TenantQuotaExceededError);
    expect(await app.scheduler.list('acme')).toHaveLength(3);
  });
});

describe('H in a cron, drawn once per schedule at upsert', () => {
  let app: TestApp;
  let prefix: string;
  beforeEach(async () => {
    prefix = freshPrefix();
    app = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: guards },
      [recordingHandlers('a'), HashedStatic],
    );
  });
  afterEach(() => app.close());

  @Injectable()
  class HashedStatic {
    @DistributedCron('H H * * * *', { name: 'hashed-static' })
    async tick(): Promise<void> {}
  }

  /** 'H H * * * *' as cron-parser draws it for `seed`. */
  function drawn(seed: string): string {
    const { fields } = CronExpressionParser.parse('H H * * * *', { hashSeed: seed });
    return `${fields.second.values.join(',')} ${fields.minute.values.join(',')} * * * *`;
  }

  it('stores the drawn expression as the timing, returns both, and a re-upsert keeps the next fire', async () => {
    const keys = new KeySpace(prefix, 1);
    const hashKey = keys.dynamicSchedule('acme', 'hashed').hash;
    const resolved = drawn('acme:hashed');
    const nextAfterRedisNow = async (): Promise<number> => {
      const [seconds, micros] = await redis.time();
      const now = new Date(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
      return CronExpressionParser.parse(resolved, { tz: 'Europe/Paris', currentDate: now })
        .next()
        .getTime();
    };
    const before = await nextAfterRedisNow();
    const first = await app.scheduler.upsert(input({ id: 'hashed', cron: 'H H * * * *' }));
    const after = await nextAfterRedisNow();
    expect(await redis.hmget(hashKey, 't', 'cw', 'rv')).toEqual([
      `${resolved}|Europe/Paris|30000`,
      `H H * * * *|${resolved}`,
      '1',
    ]);
    expect(first).toMatchObject({ cron: 'H H * * * *', resolvedCron: resolved });
    // Armed on the drawn expression from Redis time at the write.
    expect([before, after]).toContain(first.nextFireAt!.getTime());
    expect(await app.scheduler.get('acme', 'hashed')).toEqual(first);

    const again = await app.scheduler.upsert(input({ id: 'hashed', cron: 'H H * * * *' }));
    expect(again.nextFireAt).toEqual(first.nextFireAt);
    expect(await redis.hget(hashKey, 'rv')).toBe('1');

    // Another schedule of the same expression draws its own; writing the drawn text keeps the
    // timing (and next fire), and drops the stored original.
    const other = await app.scheduler.upsert(input({ id: 'other', cron: 'H H * * * *' }));
    expect(other.resolvedCron).toBe(drawn('acme:other'));
    expect(other.resolvedCron).not.toBe(resolved);
    const literal = await app.scheduler.upsert(input({ id: 'hashed', cron: resolved }));
    expect(literal).toMatchObject({ cron: resolved, resolvedCron: resolved });
    expect(literal.nextFireAt).toEqual(first.nextFireAt);
    expect(await redis.hexists(hashKey, 'cw')).toBe(0);

    // An older version's upsert rewrites only the timing: the original kept with the old one
    // is no longer shown for it.
    await app.scheduler.upsert(input({ id: 'hashed', cron: 'H H * * * *' }));
    await redis.hset(hashKey, 't', '0 9 * * 1|Europe/Paris|30000');
    expect(await app.scheduler.get('acme', 'hashed')).toMatchObject({
      cron: '0 9 * * 1',
      resolvedCron: '0 9 * * 1',
    });

    // A timing an older version stored with its H unresolved shows what the pods draw for it.
    const legacy = 'H/20 * * * * *|Europe/Paris|30000';
    await redis.hset(hashKey, 't', legacy);
    const legacySeconds = CronExpressionParser.parse('H/20 * * * * *', {
      hashSeed: legacy,
    }).fields.second.values.join(',');
    expect(await app.scheduler.get('acme', 'hashed')).toMatchObject({
      cron: 'H/20 * * * * *',
      resolvedCron: `${legacySeconds} * * * * *`,
    });
  });

  it('draws a @DistributedCron’s H from its name, readable with getStatic', async () => {
    const keys = new KeySpace(prefix, 1);
    const resolved = drawn('hashed-static');
    const stored = await waitFor(() => redis.hget(keys.staticSchedule('hashed-static').hash, 't'));
    expect(stored).toBe(`${resolved}|UTC|0`);
    expect(await app.scheduler.getStatic('hashed-static')).toMatchObject({
      cron: 'H H * * * *',
      resolvedCron: resolved,
    });
  });
});
