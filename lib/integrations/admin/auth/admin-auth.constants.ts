/** Injection tokens and metadata keys of the admin module's authentication. */

/** The validated auth and rate-limit options (ResolvedAdminAccess). */
export const ADMIN_ACCESS = Symbol('redis-scheduler:admin-access');

/** The rate limiter (AdminRateLimiter), or null with `rateLimit: false`. */
export const ADMIN_RATE_LIMITER = Symbol('redis-scheduler:admin-rate-limiter');

/** Route metadata: the route needs no principal (the dashboard page, the OpenAPI document). */
export const ADMIN_PUBLIC_ROUTE = 'redis-scheduler:admin-public-route';

/** The throttler bucket prefix: one bucket per key (or client IP) over all admin routes. */
export const RATE_LIMIT_KEY_PREFIX = 'redis-scheduler:admin:';
