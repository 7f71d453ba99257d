import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type * as Throttler from '@nestjs/throttler';
import { InvalidAdminAuthOptionsError } from './admin-auth.errors';
import type { AdminRateLimitOptions } from './admin-auth.options';
import { rateLimited } from './admin-http-errors';

/** The throttler bucket prefix: one bucket per key (or client address) over all admin routes. */
const RATE_LIMIT_KEY_PREFIX = 'redis-scheduler:admin:';

/**
 * Requests per tracker (a key's hash, or a client address) over all admin routes, counted by
 * @nestjs/throttler's guard and in-memory storage, owned by the admin module: nothing is
 * registered app-wide (no APP_GUARD, no ThrottlerModule), so the app's own throttling, if any, is
 * untouched. Counts are per process: with N replicas a key gets up to N × limit per window.
 */
export class AdminRateLimiter {
  private readonly trackers = new WeakMap<object, string>();
  private readonly guard: Throttler.ThrottlerGuard;

  private constructor(
    private readonly throttler: typeof Throttler,
    private readonly storage: Throttler.ThrottlerStorageService,
    limits: Required<AdminRateLimitOptions>,
  ) {
    this.guard = new throttler.ThrottlerGuard(
      {
        // 'default' keeps throttler's header names unsuffixed (Retry-After, X-RateLimit-Limit).
        throttlers: [{ name: 'default', limit: limits.limit, ttl: limits.ttlMs }],
        getTracker: (request: object) => this.trackers.get(request) ?? 'unknown',
        generateKey: (_context, tracker) => RATE_LIMIT_KEY_PREFIX + tracker,
      },
      storage,
      // Reads @SkipThrottle() metadata only; stateless, so a new one is as good as the app's.
      new Reflector(),
    );
  }

  /**
   * Loads @nestjs/throttler (only now: with `rateLimit: false` it is never loaded) and builds the
   * limiter. Throws InvalidAdminAuthOptionsError when the package is not installed.
   */
  static async create(limits: Required<AdminRateLimitOptions>): Promise<AdminRateLimiter> {
    let throttler: typeof Throttler;
    try {
      throttler = await import('@nestjs/throttler');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
      throw new InvalidAdminAuthOptionsError(
        'rateLimit',
        'it needs @nestjs/throttler 6, which is not installed: npm install @nestjs/throttler, or ' +
          'set rateLimit: false',
      );
    }
    const limiter = new AdminRateLimiter(
      throttler,
      new throttler.ThrottlerStorageService(),
      limits,
    );
    await limiter.guard.onModuleInit();
    return limiter;
  }

  /**
   * Counts one request of `tracker`; over the limit, throws 429 RATE_LIMITED (throttler has set
   * Retry-After, in seconds, on the response).
   */
  async consume(context: ExecutionContext, tracker: string): Promise<void> {
    this.trackers.set(context.switchToHttp().getRequest<object>(), tracker);
    try {
      await this.guard.canActivate(context);
    } catch (error) {
      if (error instanceof this.throttler.ThrottlerException) throw rateLimited();
      throw error;
    }
  }

  /** Stops throttler's sweep timer and drops the counts. */
  close(): void {
    this.storage.onApplicationShutdown();
  }
}
