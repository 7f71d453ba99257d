import type { CanActivate, Type } from '@nestjs/common';
import { InvalidAdminAuthOptionsError } from './admin-auth.errors';
import { ApiKeyTable } from './api-key-table';

/** Hashes of the keys that open the admin API (from hashApiKey(); never the keys themselves). */
export interface AdminApiKeys {
  /** Keys that reach every route and every tenant. */
  admin: string[];
  /** Per tenant id, the keys that reach only that tenant's routes. */
  tenants: Record<string, string[]>;
}

/**
 * How admin requests are authenticated: the built-in API-key guard, the app's own guard (it may
 * set `request.schedulerPrincipal`; when it does not, the caller is admin), or nobody at all
 * (`'none'`, only with `allowUnauthenticated: true`).
 */
export type AdminAuthOptions =
  { apiKeys: AdminApiKeys } | { guard: Type<CanActivate> | CanActivate } | 'none';

/** Requests per key (per client IP without a valid key) through @nestjs/throttler. */
export interface AdminRateLimitOptions {
  /** Requests allowed per window. @default 600 */
  limit?: number;
  /** The window, in milliseconds. @default 60_000 */
  ttlMs?: number;
}

/** The admin module options this folder reads. */
export interface AdminAuthSettings {
  auth: AdminAuthOptions;
  /** Must be true for `auth: 'none'`: an admin API without authentication is a deliberate choice. */
  allowUnauthenticated?: boolean;
  /** `false` turns rate limiting off (and @nestjs/throttler is then never loaded). */
  rateLimit?: AdminRateLimitOptions | false;
}

export type ResolvedAdminAuth =
  | { mode: 'keys'; keys: ApiKeyTable }
  | { mode: 'guard'; guard: Type<CanActivate> | CanActivate }
  | { mode: 'none' };

export interface ResolvedAdminAccess {
  auth: ResolvedAdminAuth;
  rateLimit: Required<AdminRateLimitOptions> | null;
}

export const DEFAULT_RATE_LIMIT: Required<AdminRateLimitOptions> = { limit: 600, ttlMs: 60_000 };

/** Validates the auth and rate-limit options (at boot); throws InvalidAdminAuthOptionsError. */
export function resolveAdminAccess(settings: AdminAuthSettings): ResolvedAdminAccess {
  if (typeof settings !== 'object' || settings === null) {
    throw new InvalidAdminAuthOptionsError(
      'options',
      'SchedulerAdminModule needs an options object with `auth` (forRootAsync: from useFactory)',
    );
  }
  return { auth: resolveAuth(settings), rateLimit: resolveRateLimit(settings.rateLimit) };
}

function resolveAuth({ auth, allowUnauthenticated }: AdminAuthSettings): ResolvedAdminAuth {
  if (auth === 'none') {
    if (allowUnauthenticated === true) return { mode: 'none' };
    throw new InvalidAdminAuthOptionsError(
      'auth',
      "'none' leaves the admin API open to anyone who can reach it; set allowUnauthenticated: " +
        'true as well if that is intended',
    );
  }
  if (typeof auth === 'object' && auth !== null && 'apiKeys' in auth) {
    return { mode: 'keys', keys: ApiKeyTable.fromOptions(auth.apiKeys) };
  }
  if (typeof auth === 'object' && auth !== null && 'guard' in auth) {
    const { guard } = auth;
    const usable =
      typeof guard === 'function' ||
      (typeof guard === 'object' && guard !== null && typeof guard.canActivate === 'function');
    if (usable) return { mode: 'guard', guard };
    throw new InvalidAdminAuthOptionsError(
      'auth.guard',
      'expected a guard class or an object with a canActivate() method',
    );
  }
  throw new InvalidAdminAuthOptionsError(
    'auth',
    "it is required: { apiKeys: { admin, tenants } } with hashes from hashApiKey(), { guard }, or 'none' " +
      'with allowUnauthenticated: true',
  );
}

function resolveRateLimit(
  rateLimit: AdminRateLimitOptions | false | undefined,
): Required<AdminRateLimitOptions> | null {
  if (rateLimit === false) return null;
  if (rateLimit === undefined) return DEFAULT_RATE_LIMIT;
  if (typeof rateLimit !== 'object' || rateLimit === null) {
    throw new InvalidAdminAuthOptionsError('rateLimit', 'expected { limit, ttlMs } or false');
  }
  const resolved = { ...DEFAULT_RATE_LIMIT, ...rateLimit };
  for (const field of ['limit', 'ttlMs'] as const) {
    const value = resolved[field];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidAdminAuthOptionsError(
        `rateLimit.${field}`,
        `expected a positive integer${field === 'ttlMs' ? ' (milliseconds)' : ''}, got ${String(value)}`,
      );
    }
  }
  return resolved;
}
