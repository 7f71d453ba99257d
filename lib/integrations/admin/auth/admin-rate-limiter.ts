import type { ExecutionContext, OnApplicationShutdown } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type * as Throttler from '@nestjs/throttler';
import { InvalidAdminAuthOptionsError } from './admin-auth.errors';
import type { AdminRateLimitOptions } from './admin-auth.options';
import { RATE_LIMIT_KEY_PREFIX } from './admin-auth.constants';
import { rateLimited } from './admin-http-errors';

/**
 * Requests per tracker (a key's hash, or a client address) over all admin routes, counted by
 * @nestjs/throttler's guard and in-memory storage, owned by the admin module: nothing is
 * registered app-wide (no APP_GUARD, no ThrottlerModule), so the app's own throttling, if any, is
 * untouched. Counts are per process: with N replicas a key gets up to N × limit per window.
 */
export class AdminRateLimiter implements OnApplicationShutdown {
  private readonly trackers = new WeakMap<object, string>();
  private readonly guard: Throttler.ThrottlerGuard;

  private constructor(
    private readonly throttler: typeof Throttler,
    private readonly storage: Throttler.ThrottlerStorageService,
    limits: Required<AdminRateLimitOptions>,
    reflector: Reflector,
  ) {
    this.guard = new throttler.ThrottlerGuard(
      {
        // 'default' keeps throttler's header names unsuffixed (Retry-After, X-RateLimit-Limit).
        throttlers: [{ name: 'default', limit: limits.limit, ttl: limits.ttl }],
        getTracker: (request: object) => this.trackers.get(request) ?? 'unknown',
        generateKey: (_context, tracker) => RATE_LIMIT_KEY_PREFIX + tracker,
      },
      storage,
      reflector,
    );
  }

  /**
   * Loads @nestjs/throttler (only now: with `rateLimit: false` it is never loaded) and builds the
   * limiter. Throws InvalidAdminAuthOptionsError when the package is not installed.
   */
  static async create(
    limits: Required<AdminRateLimitOptions>,
    reflector: Reflector,
  ): Promise<AdminRateLimiter> {
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
      reflector,
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

  onApplicationShutdown(): void {
    this.storage.onApplicationShutdown();
  }
}
