import { Injectable, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import type { Redis, RedisOptions } from 'ioredis';
import {
  DistributedCron,
  InvalidOptionsError,
  REDIS_SCHEDULER_CLIENT,
  RedisLockService,
  RedisSchedulerModule,
  SchedulerService,
} from '../../../lib';
import type { RedisSchedulerModuleOptions } from '../../../lib';
import { recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { bootModule, closeBooted, freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { untilRedisTime } from '../../support/redis-time';
import { waitFor } from '../../support/wait-for';

/*
 * RedisSchedulerModule.forRoot: a URL or ioredis options, global by default, the connection it
 * made is closed with the app, options are checked at boot, worker: false never claims, and
 * processes sharing a keyPrefix must agree on the partition count.
 */

let server: RedisServerHandle;
let client: Redis;
let keyPrefix: string;

beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});

afterAll(() => server.stop());

beforeEach(() => {
  keyPrefix = freshPrefix();
  resetRecorder();
});

afterEach(() => closeBooted());

const boot = bootModule;

function forRoot(options: Partial<RedisSchedulerModuleOptions>, extras = {}): DynamicModule {
  return RedisSchedulerModule.forRoot({
    redis: server.url,
    keyPrefix,
    ...options,
    ...extras,
  } as RedisSchedulerModuleOptions);
}

/** The error `promise` rejects with; fails if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but it resolved');
    },
    (error: unknown) => error,
  );
}

async function prefixKeys(prefix = keyPrefix): Promise<string[]> {
  return (await client.keys(`${prefix}*`)).sort();
}

/** Closes the app and checks that the connection the module made is closed by then. */
async function expectClosedBy(module: TestingModule, redis: Redis): Promise<void> {
  await module.close();
  const statusWhenCloseResolved = redis.status;
  // It does end (not left reconnecting)...
  await waitFor(() => redis.status === 'end', { timeoutMs: 5_000, message: "status 'end'" });
  // ...and it has ended by the time close() resolves: nothing of the module outlives the app.
  expect(statusWhenCloseResolved).toBe('end');
}

const EVERY_SECOND = {
  tenantId: 'acme',
  id: 'tick',
  cron: '* * * * * *',
  handler: 'record',
  payload: { n: 1 },
};

describe('forRoot with a URL', () => {
  it('provides SchedulerService, RedisLockService and a ready client on that server', async () => {
    const module = await boot([forRoot({})], [recordingHandlers('url')]);
    const redis = module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    expect(redis.status).toBe('ready');
    expect(redis.options.port).toBe(server.port);
    expect(await redis.ping()).toBe('PONG');

    const scheduler = module.get(SchedulerService);
    const stored = await scheduler.upsert({ ...EVERY_SECOND, cron: '0 9 * * 1' });
    expect(stored.nextFireAt).toBeInstanceOf(Date);
    // Written on this server, under the module's keyPrefix.
    const keys = await prefixKeys();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`${keyPrefix}:`))).toBe(true);

    const lock = await module.get(RedisLockService).acquire('x', 5_000);
    expect(await client.exists(`${keyPrefix}:lock:{x}`)).toBe(1);
    expect(await lock!.release()).toBe(true);
  });

  it('runs dynamic schedules end to end', async () => {
    const module = await boot(
      [forRoot({ tenantGuards: { minIntervalMs: 0 } })],
      [recordingHandlers('url')],
    );
    await module.get(SchedulerService).upsert(EVERY_SECOND);
    await waitFor(() => runs.length > 0, { timeoutMs: 10_000, message: 'a run' });
    expect(runs[0]).toMatchObject({
      app: 'url',
      tenantId: 'acme',
      scheduleId: 'tick',
      payload: { n: 1 },
    });
  });

  it('closes the connection it made when the app closes', async () => {
    const module = await boot([forRoot({})]);
    const redis = module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    expect(redis.status).toBe('ready');
    await expectClosedBy(module, redis);
  });
});

describe('forRoot with ioredis options', () => {
  it('connects with the given options, works, and closes the connection on app close', async () => {
    const options: RedisOptions = { host: '127.0.0.1', port: server.port, db: 3 };
    const module = await boot([forRoot({ redis: options })]);
    const redis = module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    expect(redis.status).toBe('ready');
    expect(redis.options.db).toBe(3);

    const lock = await module.get(RedisLockService).acquire('on-db-3', 5_000);
    expect(lock).not.toBeNull();
    const db3 = server.client({ db: 3 });
    expect(await db3.get(`${keyPrefix}:lock:{on-db-3}`)).toBe(lock!.token);
    expect(await client.exists(`${keyPrefix}:lock:{on-db-3}`)).toBe(0); // not db 0

    await expectClosedBy(module, redis);
  });

  it('rejects ioredis options with a keyPrefix, naming the option, before connecting', async () => {
    const before = await client.client('LIST');
    const error = await rejection(
      boot([forRoot({ redis: { host: '127.0.0.1', port: server.port, keyPrefix: 'app:' } })]),
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('option `redis.keyPrefix`');
    const after = await client.client('LIST');
    expect(String(after).split('\n').filter(Boolean).length).toBe(
      String(before).split('\n').filter(Boolean).length,
    );
  });
});

describe('global module', () => {
  @Injectable()
  class FeatureService {
    constructor(
      readonly scheduler: SchedulerService,
      readonly locks: RedisLockService,
    ) {}
  }

  @Module({ providers: [FeatureService], exports: [FeatureService] })
  class FeatureModule {}

  it('is global: a provider of another module injects SchedulerService and RedisLockService', async () => {
    const module = await boot([forRoot({}), FeatureModule]);
    const feature = module.get(FeatureService);
    expect(feature.scheduler).toBeInstanceOf(SchedulerService);
    expect(feature.scheduler).toBe(module.get(SchedulerService));
    expect(feature.locks).toBe(module.get(RedisLockService));
    expect(await feature.scheduler.list('acme')).toEqual([]);
  });

  it('isGlobal: false makes it a regular module that other modules must import', async () => {
    // An existing client: the failed compile leaves no module to close, and stop() quits it.
    const redis = server.client();
    const error = await rejection(boot([forRoot({ redis }, { isGlobal: false }), FeatureModule]));
    expect(String(error)).toMatch(/SchedulerService|FeatureService/);
  });
});

describe('invalid options fail app init with InvalidOptionsError naming the option', () => {
  it.each<[string, Partial<RedisSchedulerModuleOptions>, string]>([
    ['keyPrefix with a brace', { keyPrefix: 'a{b' }, 'option `keyPrefix`'],
    ['keyPrefix with a colon', { keyPrefix: 'a:b' }, 'option `keyPrefix`'],
    ['leaseMs 10', { leaseMs: 10 }, 'option `leaseMs`'],
    ['partitions 0', { partitions: 0 }, 'option `partitions`'],
    ['partitions 1025', { partitions: 1025 }, 'option `partitions`'],
    [
      'unknown defaultTimeZone',
      { defaultTimeZone: 'Mars/Olympus_Mons' },
      'option `defaultTimeZone`',
    ],
    ['missing redis', { redis: undefined }, 'option `redis`'],
    ['negative defaultJitterMs', { defaultJitterMs: -1 }, 'option `defaultJitterMs`'],
    [
      'fractional maxSchedulesPerTenant',
      { tenantGuards: { maxSchedulesPerTenant: 1.5 } },
      'option `tenantGuards.maxSchedulesPerTenant`',
    ],
    // Durations that end in a timer: beyond 2^31 - 1 ms a Node.js timer fires after 1 ms.
    ['shutdownTimeoutMs 2 ** 31', { shutdownTimeoutMs: 2 ** 31 }, 'option `shutdownTimeoutMs`'],
    ['leaseMs 2 ** 31', { leaseMs: 2 ** 31 }, 'option `leaseMs`'],
    ['maxIdleMs 2 ** 31', { maxIdleMs: 2 ** 31 }, 'option `maxIdleMs`'],
    [
      'defaultPolicy.timeoutMs 2 ** 31',
      { defaultPolicy: { timeoutMs: 2 ** 31 } },
      'option `defaultPolicy`.timeoutMs',
    ],
  ])('%s', async (_label, options, option) => {
    const prefix = freshPrefix();
    const error = await rejection(boot([forRoot({ keyPrefix: prefix, ...options })]));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
    expect((error as Error).message).toContain(option.replace(/^option /, ''));
    expect(await prefixKeys(prefix)).toEqual([]);
  });

  it('a duration beyond a timer’s range names the bound, and 2 ** 31 - 1 boots', async () => {
    const error = await rejection(boot([forRoot({ shutdownTimeoutMs: 2 ** 31 })]));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toMatch(/2147483648 must be an integer from 0 to 2147483647/);
    expect(await prefixKeys()).toEqual([]);
    const module = await boot([
      forRoot({ keyPrefix: freshPrefix(), shutdownTimeoutMs: 2 ** 31 - 1, leaseMs: 2 ** 31 - 1 }),
    ]);
    expect(module.get(SchedulerService)).toBeInstanceOf(SchedulerService);
  });

  it('a @DistributedCron with timeoutMs 2 ** 31 fails init, naming the method and the bound', async () => {
    @Injectable()
    class HugeTimeout {
      @DistributedCron('* * * * *', { timeoutMs: 2 ** 31 })
      run(): void {}
    }
    const error = await rejection(boot([forRoot({})], [HugeTimeout]));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(
      '@DistributedCron options of HugeTimeout.run.timeoutMs',
    );
    expect((error as Error).message).toMatch(/2147483647/);
    expect(await prefixKeys()).toEqual([]);
  });
});

describe('worker: false', () => {
  it('never claims, while an app with worker: true on the same keyPrefix runs the schedule', async () => {
    const guards = { tenantGuards: { minIntervalMs: 0 } };
    const passive = await boot(
      [forRoot({ ...guards, worker: false })],
      [recordingHandlers('passive')],
    );
    const stored = await passive.get(SchedulerService).upsert(EVERY_SECOND);
    expect(stored.nextFireAt).toBeInstanceOf(Date);

    // A window for a wrong start: the first fire time, and 1.5 s for a run to start.
    await untilRedisTime(
      client,
      stored.nextFireAt!.getTime() + 1_500,
      'the first fire time + 1.5 s',
    );
    expect(runs).toEqual([]);
    const waiting = await passive.get(SchedulerService).get('acme', 'tick');
    expect(waiting!.running).toBe(false);
    expect(waiting!.lastFireAt).toBeNull();
    expect(waiting!.nextFireAt!.getTime()).toBe(stored.nextFireAt!.getTime()); // due, unclaimed

    await boot([forRoot({ ...guards, worker: true })], [recordingHandlers('active')]);
    await waitFor(() => runs.length >= 2, { timeoutMs: 10_000, message: 'runs on the worker' });
    expect(runs.every((r) => r.app === 'active')).toBe(true);
  });
});

describe('partitions', () => {
  it('a second app on the same keyPrefix with another partition count fails init', async () => {
    await boot([forRoot({ partitions: 2 })]);
    expect(await client.hget(`${keyPrefix}:meta`, 'partitions')).toBe('2');

    const error = await rejection(boot([forRoot({ partitions: 3 })]));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('option `partitions`');
    expect((error as Error).message).toContain(keyPrefix);
    expect(await client.hget(`${keyPrefix}:meta`, 'partitions')).toBe('2');

    // The default (1) disagrees too; the same count is accepted.
    await expect(boot([forRoot({})])).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(boot([forRoot({ partitions: 2 })])).resolves.toBeDefined();
  });
});
