import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { LockLostError } from '../errors/lock-lost.error';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { RedisConnection } from '../redis/redis-client.provider';
import { Lock } from './lock';

export interface WithLockOptions {
  /** How long to keep trying when the lock is held. @default 0 (one try) */
  waitMs?: number;
  /** Pause between tries. @default 50 */
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
    return fence > 0 ? new Lock(key, token, fence, keys.lock, this.connection.scripts) : null;
  }

  /**
   * Runs `fn` while holding the lock, renewing it every third of `ttlMs`. If renewal fails,
   * `signal` aborts and, once `fn` settles, withLock rejects with LockLostError. Rejects with
   * LockNotAcquiredError if the lock stays held by another owner for `waitMs`.
   */
  async withLock<T>(
    key: string,
    ttlMs: number,
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options: WithLockOptions = {},
  ): Promise<T> {
    const waitMs = options.waitMs ?? 0;
    const retryDelayMs = options.retryDelayMs ?? 50;
    const deadline = Date.now() + waitMs;
    let lock = await this.acquire(key, ttlMs);
    while (!lock && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      lock = await this.acquire(key, ttlMs);
    }
    if (!lock) throw new LockNotAcquiredError(key, waitMs);
    const held = lock;
    const controller = new AbortController();
    const lose = (detail: string): void => {
      if (controller.signal.aborted) return;
      this.logger.warn(`Lost lock "${key}": ${detail}`);
      controller.abort(new LockLostError(key, detail));
    };
    let renewing = false;
    // The lock is ours until `heldUntil` at most (local clock, counted from before the request),
    // checked on every tick even while a renewal hangs on an unreachable Redis.
    let heldUntil = Date.now() + ttlMs;
    const timer = setInterval(
      () => {
        if (controller.signal.aborted) return;
        if (Date.now() >= heldUntil) return lose('it expired before a renewal got through');
        if (renewing) return;
        renewing = true;
        const sentAt = Date.now();
        held
          .extend(ttlMs)
          .then((ok) => {
            if (ok) heldUntil = sentAt + ttlMs;
            else lose('another owner holds it, or it expired');
          })
          .catch((error: Error) => lose(`renewal failed: ${error.message}`))
          .finally(() => (renewing = false));
      },
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    try {
      const result = await fn(controller.signal, held);
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      return result;
    } finally {
      clearInterval(timer);
      if (!controller.signal.aborted) await held.release().catch(() => false);
    }
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
