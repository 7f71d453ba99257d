import { Logger } from '@nestjs/common';
import { RedisUnavailableError } from '../../../lib';
import { everySecondStatic, resetRecorder, runs } from '../../fixtures/recorder';
import { createApp, freshPrefix, type TestApp } from '../../support/create-app';
import { freePort } from '../../support/free-port';
import { spawnRedis, terminateRedis, type SpawnedRedis } from '../../support/redis-process';
import { waitFor } from '../../support/wait-for';

/*
 * Boot waits for Redis for connectTimeoutMs at most (issue 10, A2): with nothing listening,
 * app.init() rejects with RedisUnavailableError naming host and port, never a password, after
 * logging its progress; a Redis that comes up within the bound lets the boot finish.
 */

const LEVELS = ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const;
let lines: string[];
let spies: jest.SpyInstance[];

beforeEach(() => {
  resetRecorder();
  lines = [];
  spies = LEVELS.map((level) =>
    jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
      lines.push(`${level}: ${args.map(String).join(' ')}`);
    }),
  );
});

afterEach(() => spies.forEach((spy) => spy.mockRestore()));

/** The error `promise` rejects with, and when it did (ms after `from`); fails if it resolves. */
async function rejection(promise: Promise<unknown>, from: number) {
  const error = await promise.then(
    () => {
      throw new Error('expected the boot to fail, but it succeeded');
    },
    (e: unknown) => e,
  );
  return { error, afterMs: Date.now() - from };
}

describe('connectTimeoutMs', () => {
  it('a boot against a port where nothing listens fails after connectTimeoutMs with RedisUnavailableError naming host:port', async () => {
    const port = await freePort();
    const started = Date.now();
    const { error, afterMs } = await rejection(
      createApp(
        { redis: `redis://127.0.0.1:${port}`, keyPrefix: freshPrefix(), connectTimeoutMs: 1_500 },
        [everySecondStatic('p0')],
      ),
      started,
    );
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({
      code: 'REDIS_UNAVAILABLE',
      target: `127.0.0.1:${port}`,
      timeoutMs: 1_500,
    });
    expect((error as Error).message).toContain(`Redis at 127.0.0.1:${port} was not reachable`);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).toContain('connectTimeoutMs');
    expect(afterMs).toBeGreaterThanOrEqual(1_500);
    expect(afterMs).toBeLessThan(1_500 + 3_000);
  }, 15_000);

  it('never shows the password of the URL, in the error or in any log line, and logs its progress', async () => {
    const port = await freePort();
    const started = Date.now();
    const { error } = await rejection(
      createApp({
        redis: `redis://user:s3cret@127.0.0.1:${port}`,
        keyPrefix: freshPrefix(),
        connectTimeoutMs: 4_500,
      }),
      started,
    );
    expect(error).toBeInstanceOf(RedisUnavailableError);
    const { message, stack } = error as Error;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(`${message}\n${stack ?? ''}`).not.toContain('s3cret');
    expect(message).not.toContain('user:');
    // Progress while waiting: one line every 2 s.
    const waiting = lines.filter((l) => l.includes(`Waiting for Redis at 127.0.0.1:${port} (`));
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeGreaterThan(waiting.length);
    for (const line of lines) expect(line).not.toContain('s3cret');
  }, 20_000);

  it('fails at once when the client gives up reconnecting (retryStrategy returns null)', async () => {
    const port = await freePort();
    const started = Date.now();
    const { error, afterMs } = await rejection(
      createApp({
        redis: { host: '127.0.0.1', port, retryStrategy: () => null },
        keyPrefix: freshPrefix(),
        connectTimeoutMs: 10_000,
      }),
      started,
    );
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toContain('closed for good');
    expect(afterMs).toBeLessThan(5_000);
  }, 15_000);

  describe('Redis that comes up while the boot waits', () => {
    let redis: SpawnedRedis | undefined;
    let app: TestApp | undefined;
    afterEach(async () => {
      await app?.close();
      if (redis) await terminateRedis(redis);
      app = undefined;
      redis = undefined;
    });

    it('lets the boot finish, and the app runs its schedules', async () => {
      const port = await freePort();
      let booted = 0;
      const boot = createApp(
        { redis: `redis://127.0.0.1:${port}`, keyPrefix: freshPrefix(), connectTimeoutMs: 20_000 },
        [everySecondStatic('p0')],
      ).then((a) => {
        booted = Date.now();
        return (app = a);
      });
      // The boot is waiting: its connection was refused.
      await waitFor(() => lines.some((l) => l.includes(`ECONNREFUSED 127.0.0.1:${port}`)), {
        timeoutMs: 10_000,
        message: 'a refused connection',
      });
      expect(booted).toBe(0);
      const spawning = Date.now();
      redis = await spawnRedis(port, {
        args: ['--save', '', '--appendonly', 'no'],
        onOutput: () => undefined,
      });
      await boot;
      expect(booted).toBeGreaterThanOrEqual(spawning);
      await waitFor(() => runs.length > 0, { timeoutMs: 5_000, message: 'a run of the static' });
    }, 40_000);
  });
});
