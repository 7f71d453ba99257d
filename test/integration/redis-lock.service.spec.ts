import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import {
  InvalidOptionsError,
  Lock,
  LockLostError,
  LockNotAcquiredError,
  RedisLockService,
} from '../../lib';
import { createApp, freshPrefix, type TestApp } from '../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { sleep, waitFor } from '../support/wait-for';

/*
 * RedisLockService through a Nest app, against a private redis-server: owner-only release and
 * extend, fencing tokens, withLock renewal, loss detection (key deleted, Redis frozen).
 */

let server: RedisServerHandle;
let client: Redis;
let app: TestApp;
let locks: RedisLockService;
let keyPrefix: string;

beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});

afterAll(() => server.stop());

beforeEach(async () => {
  keyPrefix = freshPrefix();
  app = await createApp({ redis: server.url, keyPrefix });
  locks = app.locks;
});

afterEach(async () => {
  server.resume(); // in case a test failed while Redis was paused
  await app.close();
});

/** The Redis key of lock `name` (the lock's own hash tag, under the module's prefix). */
function lockKey(name: string): string {
  return `${keyPrefix}:lock:{${name}}`;
}

/**
 * Takes lock `name` through the RedisLockService of another process (a second app), synchronously:
 * the caller's event loop stays blocked meanwhile. Returns what that process got (null: held).
 */
function takeInAnotherProcess(
  name: string,
  ttlMs: number,
): { token: string; fencingToken: number } | null {
  const child = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'test/fixtures/acquire-lock.ts'],
    {
      cwd: join(__dirname, '..', '..'),
      env: {
        ...process.env,
        REDIS_URL: server.url,
        KEY_PREFIX: keyPrefix,
        LOCK_NAME: name,
        LOCK_TTL_MS: String(ttlMs),
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (child.status !== 0) {
    throw new Error(`acquire-lock.ts exited with ${child.status}: ${child.stderr}`);
  }
  return JSON.parse(child.stdout) as { token: string; fencingToken: number } | null;
}

async function prefixKeys(): Promise<string[]> {
  return (await client.keys(`${keyPrefix}*`)).sort();
}

/** Resolves once `signal` aborts; rejects if it does not within `timeoutMs`. */
function aborted(signal: AbortSignal, timeoutMs: number): Promise<void> {
  return waitFor(() => signal.aborted, {
    timeoutMs,
    intervalMs: 20,
    message: 'signal to abort',
  }).then(() => undefined);
}

describe('acquire / release / extend', () => {
  it('acquire returns a Lock with a token and a fencing token; a second acquire returns null', async () => {
    const lock = await locks.acquire('report', 10_000);
    expect(lock).toBeInstanceOf(Lock);
    expect(lock!.key).toBe('report');
    expect(typeof lock!.token).toBe('string');
    expect(lock!.token.length).toBeGreaterThan(0);
    expect(Number.isSafeInteger(lock!.fencingToken)).toBe(true);
    expect(lock!.fencingToken).toBeGreaterThanOrEqual(1);
    expect(await client.get(lockKey('report'))).toBe(lock!.token);

    expect(await locks.acquire('report', 10_000)).toBeNull();
    // Another key is independent.
    expect(await locks.acquire('other', 10_000)).not.toBeNull();
  });

  it('release and extend by the owner return true', async () => {
    const lock = (await locks.acquire('report', 1_000))!;
    expect(await lock.extend(60_000)).toBe(true);
    expect(await client.pttl(lockKey('report'))).toBeGreaterThan(50_000);

    expect(await lock.release()).toBe(true);
    expect(await client.exists(lockKey('report'))).toBe(0);
    const again = await locks.acquire('report', 1_000);
    expect(again).not.toBeNull();
    expect(again!.fencingToken).toBeGreaterThan(lock.fencingToken);
  });

  it('a stale Lock (expired, then re-acquired by another) can neither release nor extend', async () => {
    const stale = (await locks.acquire('report', 150))!;
    await waitFor(async () => (await client.exists(lockKey('report'))) === 0, {
      timeoutMs: 5_000,
      message: 'the lock to expire',
    });
    const fresh = (await locks.acquire('report', 10_000))!;
    expect(fresh).not.toBeNull();
    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);

    expect(await stale.extend(10_000)).toBe(false);
    expect(await stale.release()).toBe(false);
    expect(await client.get(lockKey('report'))).toBe(fresh.token);
    expect(await fresh.release()).toBe(true);
  });

  it('fencing tokens strictly increase across acquisitions of one key', async () => {
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lock = (await locks.acquire('fenced', 10_000))!;
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
  });
});

describe('withLock', () => {
  it('runs fn with the lock held, returns its result and releases afterwards', async () => {
    const result = await locks.withLock('job', 5_000, async (signal, lock) => {
      expect(signal.aborted).toBe(false);
      expect(await client.get(lockKey('job'))).toBe(lock.token);
      expect(await locks.acquire('job', 5_000)).toBeNull();
      return 42;
    });
    expect(result).toBe(42);
    expect(await client.exists(lockKey('job'))).toBe(0);
    expect(await locks.acquire('job', 5_000)).not.toBeNull();
  });

  it('renews the lock while fn runs past the ttl (3 × ttl), and releases afterwards', async () => {
    const ttlMs = 300;
    let checks = 0;
    const started = Date.now();
    await locks.withLock('long', ttlMs, async (signal) => {
      while (Date.now() - started < 3 * ttlMs) {
        expect(await locks.acquire('long', 10_000)).toBeNull();
        checks++;
        await new Promise((resolve) => setTimeout(resolve, 50)); // the pace of the checks
      }
      expect(signal.aborted).toBe(false);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * ttlMs);
    expect(checks).toBeGreaterThan(5);
    expect(await client.exists(lockKey('long'))).toBe(0);
  });

  it('releases the lock when fn throws, and rejects with its error', async () => {
    await expect(
      locks.withLock('job', 5_000, () => {
        throw new Error('fn failed');
      }),
    ).rejects.toThrow('fn failed');
    expect(await client.exists(lockKey('job'))).toBe(0);
  });

  it('rejects with LockNotAcquiredError when the lock is held, without calling fn', async () => {
    const holder = (await locks.acquire('busy', 10_000))!;
    const fn = jest.fn();
    await expect(locks.withLock('busy', 5_000, fn)).rejects.toBeInstanceOf(LockNotAcquiredError);
    const started = Date.now();
    await expect(locks.withLock('busy', 5_000, fn, { waitMs: 300 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(fn).not.toHaveBeenCalled();
    expect(await client.get(lockKey('busy'))).toBe(holder.token);
  });

  it('waits up to waitMs and succeeds if the holder releases meanwhile', async () => {
    const holder = (await locks.acquire('busy', 10_000))!;
    let releasing = false;
    let ranWhileHeld = false;
    // The holder lets go 200 ms into the wait.
    const released = new Promise<boolean>((resolve) =>
      setTimeout(() => {
        releasing = true;
        void holder.release().then(resolve);
      }, 200),
    );
    const result = await locks.withLock(
      'busy',
      5_000,
      async (_signal, lock) => {
        ranWhileHeld = !releasing;
        expect(lock.fencingToken).toBeGreaterThan(holder.fencingToken);
        return 'ran';
      },
      { waitMs: 5_000, retryDelayMs: 20 },
    );
    expect(await released).toBe(true);
    expect(result).toBe('ran');
    expect(ranWhileHeld).toBe(false); // fn ran only once the holder let go
    expect(await client.exists(lockKey('busy'))).toBe(0);
  });

  it('aborts the signal and rejects with LockLostError when the lock key disappears during fn', async () => {
    const ttlMs = 300;
    let reason: unknown;
    let finished = false;
    const run = locks.withLock('lost', ttlMs, async (signal) => {
      await client.del(lockKey('lost')); // expiry or takeover, as far as the owner can tell
      await aborted(signal, 5_000);
      reason = signal.reason;
      finished = true;
      return 'too late';
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(finished).toBe(true);
    expect(reason).toBeInstanceOf(LockLostError);
  });

  it('does not release a lock that another owner took over while fn ran', async () => {
    const ttlMs = 300;
    let thief: Lock | null = null;
    const run = locks.withLock('taken', ttlMs, async (signal) => {
      await client.del(lockKey('taken'));
      thief = await locks.acquire('taken', 10_000);
      await aborted(signal, 5_000);
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(thief).not.toBeNull();
    expect(await client.get(lockKey('taken'))).toBe(thief!.token);
  });

  it('Redis paused longer than the ttl: the signal aborts, withLock rejects with LockLostError, no crash', async () => {
    const ttlMs = 300;
    let reason: unknown;
    const run = locks.withLock('frozen', ttlMs, async (signal) => {
      server.pause();
      try {
        await sleep(3 * ttlMs); // the fault: Redis answers nothing for 3 × ttl
      } finally {
        server.resume();
      }
      await aborted(signal, 5_000);
      reason = signal.reason;
      return 'done';
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(reason).toBeInstanceOf(LockLostError);

    // After resume, the service and Redis work again (the setup file checks for unhandled rejections).
    const lock = await waitFor(() => locks.acquire('frozen', 5_000), {
      timeoutMs: 5_000,
      message: 'the lock to be acquirable after resume',
    });
    expect(lock.fencingToken).toBeGreaterThan(1);
    expect(await lock.release()).toBe(true);
  });

  it('Redis paused: the signal aborts by the end of the ttl, while Redis is still unreachable', async () => {
    // Once a renewal cannot be confirmed within the ttl, another owner may hold the lock: fn must
    // be told then, not whenever Redis answers again.
    const ttlMs = 500;
    let pausedAt = 0;
    let abortedAfterMs: number | null = null;
    const run = locks.withLock('frozen', ttlMs, async (signal) => {
      server.pause();
      pausedAt = Date.now();
      try {
        await aborted(signal, 3 * ttlMs);
        abortedAfterMs = Date.now() - pausedAt;
      } catch {
        // not aborted while paused: reported by the expectation below
      } finally {
        server.resume();
      }
    });
    await run.catch(() => undefined);
    expect({ abortedWhilePaused: abortedAfterMs !== null }).toEqual({ abortedWhilePaused: true });
    expect(abortedAfterMs).toBeLessThanOrEqual(3 * ttlMs);
  });

  it('fn blocking the event loop past the ttl while another process takes the lock: withLock rejects with LockLostError', async () => {
    // The holder cannot notice anything while fn blocks (no timer runs), so the verdict must come
    // after fn returns: from Redis (the release finds another owner's token) and from the deadline.
    const ttlMs = 300;
    let ours: Lock | undefined;
    let other: { token: string; fencingToken: number } | null = null;
    let signalAbortedAtReturn: boolean | undefined;
    const run = locks.withLock('blocked', ttlMs, (signal, lock) => {
      ours = lock;
      const started = performance.now();
      while (performance.now() - started < ttlMs + 100) {
        // busy: the lock expires in Redis meanwhile
      }
      other = takeInAnotherProcess('blocked', 10_000); // the event loop is still blocked
      signalAbortedAtReturn = signal.aborted;
      return 'done';
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    await expect(run).rejects.toThrow(/another owner/);
    expect(signalAbortedAtReturn).toBe(false); // nothing could tell fn while it blocked
    expect(other).not.toBeNull();
    expect(other!.fencingToken).toBeGreaterThan(ours!.fencingToken);
    // The other owner's lock is left alone.
    expect(await client.get(lockKey('blocked'))).toBe(other!.token);
  });

  it('rejects with LockLostError when Redis no longer holds our token at the end, though fn returned before any renewal', async () => {
    // A long ttl: no renewal runs while fn does; only the check at the end can see the takeover
    // (a failover that lost the key, an operator's DEL, then another owner).
    let thief: Lock | null = null;
    const run = locks.withLock('swapped', 60_000, async (signal) => {
      await client.del(lockKey('swapped'));
      thief = await locks.acquire('swapped', 60_000);
      expect(signal.aborted).toBe(false);
      return 'done';
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(thief).not.toBeNull();
    expect(await client.get(lockKey('swapped'))).toBe(thief!.token);
  });

  it('wall clock stepped back 10 s while Redis is paused: the signal still aborts by the monotonic deadline', async () => {
    const ttlMs = 500;
    const realNow = Date.now.bind(Date);
    let pausedAt = 0;
    let abortedAfterMs: number | null = null;
    const run = locks.withLock('stepped', ttlMs, async (signal) => {
      // NTP steps the holder's clock back 10 s, and Redis stops answering: renewals hang.
      const stepped = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 10_000);
      server.pause();
      pausedAt = performance.now();
      try {
        await waitFor(() => signal.aborted, { timeoutMs: 3 * ttlMs, intervalMs: 20 });
        abortedAfterMs = performance.now() - pausedAt;
      } catch {
        // not aborted in time: reported by the expectation below
      } finally {
        server.resume();
        stepped.mockRestore();
      }
    });
    const outcome: unknown = await run.then(
      (value) => ({ resolved: value }),
      (error: unknown) => error,
    );
    expect({ abortedWhilePaused: abortedAfterMs !== null }).toEqual({ abortedWhilePaused: true });
    expect(abortedAfterMs).toBeLessThanOrEqual(2 * ttlMs); // by the deadline plus a tick, not 10 s later
    expect(outcome).toBeInstanceOf(LockLostError);
  });
});

describe('invalid input', () => {
  const badKeys: unknown[] = [
    '',
    'a{b',
    'a}b',
    'a b',
    'tab\there',
    'nl\n',
    '\u0000',
    'x'.repeat(257),
    42,
  ];
  // 2 ** 31 and over: withLock's renewal timer would fire after 1 ms, over and over.
  const badTtls: unknown[] = [0, -1, 1.5, Number.NaN, Infinity, '100', 2 ** 31, 2 ** 33];

  it.each(badKeys.map((k) => [JSON.stringify(k), k]))(
    'key %s → InvalidOptionsError, nothing written',
    async (_label, key) => {
      const fn = jest.fn();
      const before = await prefixKeys();
      await expect(locks.acquire(key as string, 1_000)).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(locks.withLock(key as string, 1_000, fn)).rejects.toBeInstanceOf(
        InvalidOptionsError,
      );
      await expect(locks.acquire(key as string, 1_000)).rejects.toThrow(/lock key/);
      expect(fn).not.toHaveBeenCalled();
      expect(await prefixKeys()).toEqual(before);
      expect(before.some((k) => k.includes(':lock:'))).toBe(false);
    },
  );

  it.each(badTtls.map((t) => [String(t), t]))(
    'ttl %s → InvalidOptionsError, nothing written',
    async (_label, ttl) => {
      const fn = jest.fn();
      const before = await prefixKeys();
      await expect(locks.withLock('ok', ttl as number, fn)).rejects.toBeInstanceOf(
        InvalidOptionsError,
      );
      await expect(locks.withLock('ok', ttl as number, fn)).rejects.toThrow(/ttlMs/);
      if ((ttl as number) < 2 ** 31) {
        await expect(locks.acquire('ok', ttl as number)).rejects.toBeInstanceOf(
          InvalidOptionsError,
        );
      }
      expect(fn).not.toHaveBeenCalled();
      expect(await prefixKeys()).toEqual(before);
      expect(before.some((k) => k.includes(':lock:'))).toBe(false);
    },
  );

  it('withLock names the bound of ttlMs; 2 ** 31 - 1 is accepted, and acquire() takes longer TTLs', async () => {
    await expect(locks.withLock('ok', 2 ** 33, jest.fn())).rejects.toThrow(/2147483647/);
    expect(await locks.withLock('ok', 2 ** 31 - 1, () => 'ran')).toBe('ran');
    // acquire() sets no timer: a TTL beyond a timer's range is Redis's business.
    const long = await locks.acquire('long', 2 ** 33);
    expect(long).not.toBeNull();
    expect(await client.pttl(lockKey('long'))).toBeGreaterThan(2 ** 32);
    expect(await long!.release()).toBe(true);
  });

  it.each([
    ['waitMs', { waitMs: -1 }],
    ['waitMs', { waitMs: 1.5 }],
    ['retryDelayMs', { retryDelayMs: 2 ** 31 }],
    ['retryDelayMs', { retryDelayMs: -1 }],
    ['retryDelayMs', { retryDelayMs: Number.NaN }],
  ])('withLock option %s %j → InvalidOptionsError, nothing written', async (name, options) => {
    const fn = jest.fn();
    const before = await prefixKeys();
    await expect(locks.withLock('ok', 1_000, fn, options)).rejects.toBeInstanceOf(
      InvalidOptionsError,
    );
    await expect(locks.withLock('ok', 1_000, fn, options)).rejects.toThrow(name);
    expect(fn).not.toHaveBeenCalled();
    expect(await prefixKeys()).toEqual(before);
  });
});
