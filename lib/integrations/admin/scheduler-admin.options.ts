import type { CanActivate, Type } from '@nestjs/common';
import { InvalidOptionsError } from '../../index';
import { DEFAULT_ADMIN_PATH } from './scheduler-admin.constants';

/**
 * Who is calling, as the guard in `auth` attaches it to `request.schedulerPrincipal`. A tenant
 * principal reaches only routes whose `:tenantId` is its own; a request without one is admin.
 */
export type SchedulerPrincipal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

/** API keys, each given as `hashApiKey(key)` ('sha256:' + hex): never the plain key. */
export interface SchedulerAdminApiKeys {
  /** Keys that reach every route. */
  admin: string[];
  /** Keys per tenant id: each reaches that tenant's routes only. */
  tenants: Record<string, string[]>;
}

/**
 * How admin requests are authenticated (required: an open admin API must be chosen explicitly):
 * - `{ apiKeys }`: the built-in API-key guard (`Authorization: Bearer <key>` or `X-API-Key`);
 * - `{ guard }`: your own guard (a class, resolved in this module, or an instance); it may set
 *   `request.schedulerPrincipal`, else the request is treated as admin;
 * - `'none'`: no authentication, with `allowUnauthenticated: true` beside it.
 */
export type SchedulerAdminAuth =
  { apiKeys: SchedulerAdminApiKeys } | { guard: Type<CanActivate> | CanActivate } | 'none';

/** Options of SchedulerAdminModule.forRoot() (and what forRootAsync's factory returns). */
export interface SchedulerAdminOptions {
  auth: SchedulerAdminAuth;
  /** Required with `auth: 'none'`, to say that the admin API is meant to be open. */
  allowUnauthenticated?: boolean;
  /**
   * Requests per minute per API key (per IP when unauthenticated); false turns it off.
   * @default 600 (per minute)
   */
  rateLimit?: false | { limit?: number; ttlMs?: number };
  /** Serve the dashboard at `GET /{path}/`. @default true */
  dashboard?: boolean;
}

/** The module-definition extras: where the routes are mounted (known before any factory runs). */
export interface SchedulerAdminExtras {
  /** URL path the routes are mounted under, e.g. 'scheduler' or 'ops/scheduler'. @default 'scheduler' */
  path?: string;
}

export interface ResolvedSchedulerAdminOptions {
  auth: SchedulerAdminAuth;
  rateLimit: false | { limit: number; ttlMs: number };
  dashboard: boolean;
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** The mount path without its surrounding slashes; '' mounts the routes at the root. */
export function resolveAdminPath(path: string | undefined): string {
  const trimmed = (path ?? DEFAULT_ADMIN_PATH).replace(/^\/+|\/+$/g, '');
  if (trimmed !== '' && !trimmed.split('/').every((s) => SEGMENT.test(s) && s !== '..')) {
    throw new InvalidOptionsError(
      'SchedulerAdminModule option `path`',
      `"${path}" is not a URL path of letters, digits and "._~-" segments (e.g. 'scheduler')`,
    );
  }
  return trimmed;
}

function checkAuth(options: SchedulerAdminOptions): void {
  const { auth } = options;
  if (auth === 'none') {
    if (options.allowUnauthenticated === true) return;
    throw new InvalidOptionsError(
      'SchedulerAdminModule option `auth`',
      "'none' leaves every tenant's schedules open to anyone who reaches the app; add " +
        '`allowUnauthenticated: true` to mean it, or give `{ apiKeys }` or `{ guard }`',
    );
  }
  if (typeof auth !== 'object' || auth === null || !('apiKeys' in auth || 'guard' in auth)) {
    throw new InvalidOptionsError(
      'SchedulerAdminModule option `auth`',
      "give `{ apiKeys: { admin, tenants } }`, `{ guard }` or 'none' (with allowUnauthenticated)",
    );
  }
  if ('guard' in auth) {
    const { guard } = auth;
    const usable =
      typeof guard === 'function' ||
      (typeof guard === 'object' && guard !== null && typeof guard.canActivate === 'function');
    if (!usable) {
      throw new InvalidOptionsError(
        'SchedulerAdminModule option `auth.guard`',
        'give a guard class or an object with canActivate(context)',
      );
    }
  }
}

function checkRateLimit(rateLimit: SchedulerAdminOptions['rateLimit']) {
  if (rateLimit === false) return false;
  const { limit = 600, ttlMs = 60_000 } = rateLimit ?? {};
  for (const [name, value] of [
    ['limit', limit],
    ['ttlMs', ttlMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidOptionsError(
        `SchedulerAdminModule option \`rateLimit.${name}\``,
        'it must be a positive integer (or rateLimit: false to turn it off)',
      );
    }
  }
  return { limit, ttlMs };
}

/** Checks the options and fills in the defaults; throws InvalidOptionsError naming the option. */
export function resolveAdminOptions(options: SchedulerAdminOptions): ResolvedSchedulerAdminOptions {
  if (typeof options !== 'object' || options === null || options.auth === undefined) {
    throw new InvalidOptionsError(
      'SchedulerAdminModule option `auth`',
      "it is required: `{ apiKeys }`, `{ guard }` or 'none' with allowUnauthenticated: true",
    );
  }
  checkAuth(options);
  return {
    auth: options.auth,
    rateLimit: checkRateLimit(options.rateLimit),
    dashboard: options.dashboard ?? true,
  };
}
