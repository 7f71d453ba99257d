import { InvalidOptionsError } from '../../index';
import type { AdminAuthSettings } from './auth';
import { DEFAULT_ADMIN_PATH } from './scheduler-admin.constants';

/**
 * Options of SchedulerAdminModule.forRoot() (and what forRootAsync's factory returns): `auth`
 * (required), `allowUnauthenticated` and `rateLimit` are read by the authenticator in auth/.
 */
export interface SchedulerAdminOptions extends AdminAuthSettings {
  /** Serve the dashboard at `GET /{path}/`. @default true */
  dashboard?: boolean;
}

/** The module-definition extras: where the routes are mounted (known before any factory runs). */
export interface SchedulerAdminExtras {
  /** URL path the routes are mounted under, e.g. 'scheduler' or 'ops/scheduler'. @default 'scheduler' */
  path?: string;
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
