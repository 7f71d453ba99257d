import type { Provider } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import {
  InvalidOptionsError,
  REDIS_SCHEDULER_CLIENT,
  RedisLockService,
  RedisSchedulerModule,
  SchedulerService,
} from '../../../lib';
import type { RedisSchedulerModuleOptions } from '../../../lib';
import { recordingHandlers, resetRecorder, runs } from '../../fixtures/recorder';
import { bootModule, closeBooted, forget, freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

/*
 * RedisSchedulerModule.forRoot({ redis: <an existing ioredis instance> }): the module uses that
 * client, never quits it (the application owns it), closes only the extra connections it made
 * itself, and refuses a client with an ioredis keyPrefix.
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

function boot(
  options: RedisSchedulerModuleOptions,
  providers: Provider[] = [],
): Promise<TestingModule> {
  return bootModule([RedisSchedulerModule.forRoot(options)], providers);
}

/** Connections the server has open, by client name. */
async function connectionNames(): Promise<string[]> {
  const list = await client.client('LIST');
  return String(list)
    .split('\n')
    .filter(Boolean)
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '');
}

describe('an existing Redis instance', () => {
  it('is the client the module uses', async () => {
    const own = server.client();
    const module = await boot({ redis: own, keyPrefix });
    expect(module.get(REDIS_SCHEDULER_CLIENT)).toBe(own);

    const lock = await module.get(RedisLockService).acquire('shared', 5_000);
    expect(await own.get(`${keyPrefix}:lock:{shared}`)).toBe(lock!.token);
  });

  it('runs schedules through it', async () => {
    const own = server.client();
    const module = await boot({ redis: own, keyPrefix, tenantGuards: { minIntervalMs: 0 } }, [
      recordingHandlers('existing'),
    ]);
    await module.get(SchedulerService).upsert({
      tenantId: 'acme',
      id: 'tick',
      cron: '* * * * * *',
      handler: 'record',
    });
    await waitFor(() => runs.length > 0, { timeoutMs: 10_000, message: 'a run' });
    expect(runs[0]).toMatchObject({ app: 'existing', scheduleId: 'tick', tenantId: 'acme' });
  });

  it('is not quit when the app closes, and still answers PING', async () => {
    const own = server.client();
    const module = await boot({ redis: own, keyPrefix }, [recordingHandlers('existing')]);
    forget(module);
    await module.close();

    expect(own.status).toBe('ready');
    expect(await own.ping()).toBe('PONG');
    // The app's own client still works for the library's scripts too.
    expect(await own.set(`${keyPrefix}:after`, '1')).toBe('OK');
  });

  it('the extra (pub/sub) connection the module opened is closed with the app', async () => {
    const own = server.client({ connectionName: 'app-owned' });
    await own.ping();
    const before = await connectionNames();

    const module = await boot({ redis: own, keyPrefix }, [recordingHandlers('existing')]);
    // A worker with handlers subscribes to the wake channel on a duplicate of the client.
    await waitFor(async () => (await connectionNames()).length > before.length, {
      timeoutMs: 5_000,
      message: "the module's subscriber connection",
    });
    // Connected first, subscribed next.
    await waitFor(async () => (await client.pubsub('NUMSUB', `${keyPrefix}:wake`))[1] === 1, {
      timeoutMs: 5_000,
      message: 'the wake-channel subscription',
    });

    forget(module);
    await module.close();
    await waitFor(async () => (await connectionNames()).length === before.length, {
      timeoutMs: 5_000,
      message: 'the subscriber connection to close',
    });
    expect(await client.pubsub('NUMSUB', `${keyPrefix}:wake`)).toEqual([`${keyPrefix}:wake`, 0]);
    expect(own.status).toBe('ready');
    expect((await connectionNames()).filter((n) => n === 'app-owned')).toHaveLength(1);
  });

  it('the same client serves two apps one after the other', async () => {
    const own = server.client();
    const first = await boot({ redis: own, keyPrefix });
    const lock = await first.get(RedisLockService).acquire('handover', 10_000);
    forget(first);
    await first.close();

    const second = await boot({ redis: own, keyPrefix });
    expect(await second.get(RedisLockService).acquire('handover', 10_000)).toBeNull();
    expect(await lock!.release()).toBe(true);
    expect(await second.get(RedisLockService).acquire('handover', 10_000)).not.toBeNull();
  });

  it('a client with an ioredis keyPrefix is rejected with InvalidOptionsError, and left open', async () => {
    const prefixed = server.client({ keyPrefix: 'app:' });
    await prefixed.ping();
    const error = await boot({ redis: prefixed, keyPrefix }).then(
      () => {
        throw new Error('expected the app to fail');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe('option `redis`');
    expect((error as Error).message).toContain('keyPrefix');
    expect(prefixed.status).toBe('ready');
    expect(await client.keys(`${keyPrefix}*`)).toEqual([]);
    expect(await client.keys('app:*')).toEqual([]);
  });
});
