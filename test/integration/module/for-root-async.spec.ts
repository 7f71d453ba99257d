import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  InvalidOptionsError,
  REDIS_SCHEDULER_CLIENT,
  RedisLockService,
  RedisSchedulerModule,
  SchedulerService,
  TenantQuotaExceededError,
} from '../../../lib';
import type { RedisSchedulerModuleOptions } from '../../../lib';
import { behaviour, recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { bootModule, closeBooted, freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

/*
 * RedisSchedulerModule.forRootAsync({ imports, inject, useFactory }) with a small ConfigModule-like
 * module: the factory's options are the ones used, the module stays global, bad options from the
 * factory fail init, and the connection it made is closed with the app.
 */

const SETTINGS = Symbol('SETTINGS');

/** What a ConfigService reads from the environment, here set per test. */
type Settings = Record<string, string | number | undefined>;

@Injectable()
class ConfigService {
  constructor(@Inject(SETTINGS) private readonly settings: Settings) {}

  get<T extends string | number | undefined>(key: string): T {
    return this.settings[key] as T;
  }
}

/** A ConfigModule.forRoot({ load }) look-alike. */
@Module({})
class ConfigModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: SETTINGS, useValue: settings }, ConfigService],
      exports: [ConfigService],
    };
  }
}

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

function configured(settings: Settings): DynamicModule {
  return RedisSchedulerModule.forRootAsync({
    imports: [ConfigModule.forRoot(settings)],
    inject: [ConfigService],
    useFactory: (config: ConfigService): RedisSchedulerModuleOptions => ({
      redis: config.get<string>('REDIS_URL'),
      keyPrefix: config.get<string>('SCHEDULER_PREFIX'),
      leaseMs: config.get<number>('SCHEDULER_LEASE_MS'),
      tenantGuards: {
        maxSchedulesPerTenant: config.get<number>('MAX_SCHEDULES'),
        minIntervalMs: 0,
      },
    }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but it resolved');
    },
    (error: unknown) => error,
  );
}

describe('forRootAsync', () => {
  it('builds the options with the injected config and uses them', async () => {
    const module = await boot(
      [
        configured({
          REDIS_URL: server.url,
          SCHEDULER_PREFIX: keyPrefix,
          SCHEDULER_LEASE_MS: 5_000,
          MAX_SCHEDULES: 1,
        }),
      ],
      [recordingHandlers('async')],
    );
    const redis = module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    expect(redis.options.port).toBe(server.port);

    const scheduler = module.get(SchedulerService);
    behaviour.delayMs = 1_500; // runs stay in flight long enough to read their lease
    await scheduler.upsert({
      tenantId: 'acme',
      id: 'tick',
      cron: '* * * * * *', // allowed: minIntervalMs 0 came from the factory
      handler: 'record',
    });
    // The keyPrefix from config.
    const keys = await client.keys(`${keyPrefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    // maxSchedulesPerTenant 1 from config.
    await expect(
      scheduler.upsert({ tenantId: 'acme', id: 'second', cron: '0 9 * * *', handler: 'record' }),
    ).rejects.toBeInstanceOf(TenantQuotaExceededError);
    // And it runs.
    await waitFor(() => runs.length > 0, { timeoutMs: 10_000, message: 'a run' });
    expect(runs[0]).toMatchObject({ app: 'async', tenantId: 'acme', scheduleId: 'tick' });
    // leaseMs 5000 from config: the running run's lease (its due-index score) ends at most 5 s from now.
    const [lx, [seconds, micros]] = await Promise.all([
      client.zscore(`${keyPrefix}:{p0}:due:h:record`, 't:acme:tick'),
      client.time(),
    ]);
    const leftMs = Number(lx) - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    expect(leftMs).toBeGreaterThan(3_000);
    expect(leftMs).toBeLessThanOrEqual(5_000);
  });

  it('accepts an async factory', async () => {
    const module = await boot([
      RedisSchedulerModule.forRootAsync({
        imports: [ConfigModule.forRoot({ REDIS_URL: server.url })],
        inject: [ConfigService],
        useFactory: async (config: ConfigService) => {
          await new Promise((resolve) => setImmediate(resolve));
          return { redis: config.get<string>('REDIS_URL'), keyPrefix };
        },
      }),
    ]);
    const lock = await module.get(RedisLockService).acquire('async', 5_000);
    expect(await client.get(`${keyPrefix}:lock:{async}`)).toBe(lock!.token);
  });

  it('is global: a provider in another module injects SchedulerService', async () => {
    @Injectable()
    class ReportService {
      constructor(readonly scheduler: SchedulerService) {}
    }
    @Module({ providers: [ReportService] })
    class ReportModule {}

    const module = await boot([
      configured({ REDIS_URL: server.url, SCHEDULER_PREFIX: keyPrefix }),
      ReportModule,
    ]);
    const reports = module.get(ReportService);
    expect(reports.scheduler).toBe(module.get(SchedulerService));
    expect(await reports.scheduler.list('acme')).toEqual([]);
  });

  it.each<[string, Settings, string]>([
    ['a keyPrefix with a brace', { SCHEDULER_PREFIX: 'a{b}' }, 'option `keyPrefix`'],
    ['leaseMs 10', { SCHEDULER_LEASE_MS: 10 }, 'option `leaseMs`'],
    ['a missing redis', { REDIS_URL: undefined }, 'option `redis`'],
  ])('fails init with InvalidOptionsError for %s from the factory', async (_label, bad, option) => {
    const error = await rejection(
      boot([configured({ REDIS_URL: server.url, SCHEDULER_PREFIX: keyPrefix, ...bad })]),
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
  });

  it('closes the connection made from the factory options when the app closes', async () => {
    const module = await boot([configured({ REDIS_URL: server.url, SCHEDULER_PREFIX: keyPrefix })]);
    const redis = module.get<Redis>(REDIS_SCHEDULER_CLIENT);
    expect(redis.status).toBe('ready');
    await module.close();
    const statusWhenCloseResolved = redis.status;
    await waitFor(() => redis.status === 'end', { timeoutMs: 5_000, message: "status 'end'" });
    expect(statusWhenCloseResolved).toBe('end');
  });
});
