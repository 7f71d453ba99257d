// Who is signed in. The key lives in sessionStorage only (gone when the tab closes), never in a
// cookie, localStorage or the URL.
import { ApiError, createApi, itemsOf, paths } from './api.js';

const STORAGE_KEY = 'nestjs-redis-scheduler.dashboard';
const MAX_TENANT_PAGES = 10;

/** { key, kind: 'admin' | 'tenant', tenantId } from this tab's storage, or null. */
export function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (saved && typeof saved.key === 'string' && typeof saved.tenantId === 'string') return saved;
  } catch {
    // A value that is not ours: start signed out.
  }
  return null;
}

export function saveSession(session) {
  const { key, kind, tenantId } = session;
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ key, kind, tenantId }));
}

export function clearSession() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Every tenant GET /tenants lists (an admin key only), following the cursor a few pages. */
export async function loadTenants(api) {
  const tenants = [];
  let cursor = null;
  for (let page = 0; page < MAX_TENANT_PAGES; page++) {
    const body = await api.get(paths.tenants(cursor));
    tenants.push(...itemsOf(body));
    cursor = body && body.cursor;
    if (!cursor) break;
  }
  return tenants;
}

/**
 * Finds out what `key` is: an admin key may list tenants (it gets the picker); a tenant key is
 * refused that (403) and must name its tenant, which it must be able to read.
 * Resolves to { key, kind, tenantId, tenants }; rejects with an ApiError.
 */
export async function signIn(key, tenantId) {
  const api = createApi(key);
  try {
    const tenants = await loadTenants(api);
    const chosen = tenantId || (tenants[0] ? tenants[0].tenantId : '');
    return { key, kind: 'admin', tenantId: chosen, tenants };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
  }
  if (!tenantId) {
    throw new ApiError(
      403,
      'TENANT_ID_REQUIRED',
      'This is a tenant key: enter the tenant id it belongs to.',
      'tenantId',
    );
  }
  await api.get(paths.schedules(tenantId, 1));
  return { key, kind: 'tenant', tenantId, tenants: [] };
}
