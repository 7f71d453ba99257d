import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { RedisConnection } from '../redis/redis-client.provider';
import { assertTimerMs, timerDelay } from '../time/timer-delay';
import { Lock } from './lock';
import { LockKeeper } from './lock-keeper';

export interface WithLockOptions {
  /** How long to keep trying when the lock is held (integer ms ≥ 0). @default 0 (one try) */
  waitMs?: number;
  /** Pause between tries (integer ms, 0 to 2^31 − 1). @default 50 */
  retryDelayMs?: number;
}

// eslint-disable-next-line no-control-regex
const LOCK_KEY = /^[^{}\s\u0000-\u001f\u007f]{1,256}$/;

/**
 * Owner-token locks with fencing tokens. The lock key carries its own hash tag, so it works on a
 * Redis Cluster; its fencing counter never expires, so tokens only grow.
 */
@Injectable()
export class RedisLockService {
  private readonly logger = new Logger('RedisScheduler');

  constructor(private readonly connection: RedisConnection) {}

  /** Takes the lock for `ttlMs` if it is free; null if someone else holds it. */
  async acquire(key: string, ttlMs: number): Promise<Lock | null> {
    validate(key, ttlMs);
    const keys = this.connection.keys.lock(key);
    const token = randomUUID();
    const fence = await this.connection.scripts.acquireLock(keys.lock, keys.fence, token, ttlMs);
    return fence === null ? null : new Lock(key, token, fence, keys.lock, this.connection.scripts);
  }

  /**
   * Runs `fn` while holding the lock, renewing it every third of `ttlMs` (at most 2^31 − 1 ms).
   * If a renewal fails or the lock's deadline passes (monotonic clock), `signal` aborts. Once `fn`
   * settles, the lock is released, and withLock rejects with LockLostError unless the lock was
   * held throughout: Redis still held this owner's token at release and `fn` ended before the
   * deadline (a function that blocks the event loop past the ttl cannot be told in time, but is
   * caught here). If `fn` throws, withLock rejects with that error. Rejects with
   * LockNotAcquiredError if the lock stays held by another owner for `waitMs`.
   */
  async withLock<T>(
    key: string,
    ttlMs: number,
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options: WithLockOptions = {},
  ): Promise<T> {
    validate(key, ttlMs);
    assertTimerMs('withLock ttlMs', ttlMs, 1);
    const waitMs = options.waitMs ?? 0;
    const retryDelayMs = options.retryDelayMs ?? 50;
    if (typeof waitMs !== 'number' || !Number.isSafeInteger(waitMs) || waitMs < 0) {
      throw new InvalidOptionsError(
        'withLock option `waitMs`',
        `${JSON.stringify(waitMs)} must be an integer ≥ 0 (milliseconds)`,
      );
    }
    assertTimerMs('withLock option `retryDelayMs`', retryDelayMs, 0);
    const deadline = performance.now() + waitMs;
    let sentAt = performance.now();
    let lock = await this.acquire(key, ttlMs);
    while (!lock && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, timerDelay(retryDelayMs)));
      sentAt = performance.now();
      lock = await this.acquire(key, ttlMs);
    }
    if (!lock) throw new LockNotAcquiredError(key, waitMs);
    const keeper = new LockKeeper(lock, ttlMs, sentAt, this.logger);
    let result: { value: T } | { error: unknown };
    try {
      result = { value: await fn(keeper.signal, lock) };
    } catch (error) {
      result = { error };
    }
    const lost = await keeper.finish(performance.now());
    if ('error' in result) throw result.error;
    if (lost) throw lost;
    return result.value;
  }
}

function validate(key: string, ttlMs: number): void {
  if (typeof key !== 'string' || !LOCK_KEY.test(key)) {
    throw new InvalidOptionsError(
      'lock key',
      `${JSON.stringify(key)} must be 1 to 256 characters without "{", "}", whitespace or control characters`,
    );
  }
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidOptionsError(
      'lock ttlMs',
      `${JSON.stringify(ttlMs)} must be a positive integer (milliseconds)`,
    );
  }
}
