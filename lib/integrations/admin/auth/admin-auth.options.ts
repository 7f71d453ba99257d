import type { CanActivate, Type } from '@nestjs/common';
import type { ResolvedSchedulerAdminOptions } from '../scheduler-admin.options';
import { ApiKeyTable } from './api-key-table';

/** How requests are authenticated, once the key hashes are checked (see ApiKeyTable). */
export type ResolvedAdminAuth =
  | { mode: 'keys'; keys: ApiKeyTable }
  | { mode: 'guard'; guard: Type<CanActivate> | CanActivate }
  | { mode: 'none' };

/**
 * The `auth` option as the authenticator uses it. The module's resolveAdminOptions() has checked
 * its shape (and `allowUnauthenticated` for 'none'); this checks every key hash and throws
 * InvalidAdminAuthOptionsError naming the entry (never its value).
 */
export function resolveAdminAuth(auth: ResolvedSchedulerAdminOptions['auth']): ResolvedAdminAuth {
  if (auth === 'none') return { mode: 'none' };
  if ('apiKeys' in auth) return { mode: 'keys', keys: ApiKeyTable.fromOptions(auth.apiKeys) };
  return { mode: 'guard', guard: auth.guard };
}
