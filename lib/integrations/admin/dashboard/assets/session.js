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
 * Finds out what `key` is (GET whoami): an admin key gets the tenant picker, on `tenantId` (the
 * one this tab had) or the first tenant; a tenant key gets its own tenant.
 * Resolves to { key, kind, tenantId, tenants }; rejects with an ApiError.
 */
export async function signIn(key, tenantId) {
  const api = createApi(key);
  const principal = await api.get(paths.whoami);
  if (principal && principal.kind === 'tenant' && typeof principal.tenantId === 'string') {
    return { key, kind: 'tenant', tenantId: principal.tenantId, tenants: [] };
  }
  if (!principal || principal.kind !== 'admin') {
    throw new ApiError(0, 'UNEXPECTED_ANSWER', 'The service did not say who this key is.');
  }
  const tenants = await loadTenants(api);
  const chosen = tenantId || (tenants[0] ? tenants[0].tenantId : '');
  return { key, kind: 'admin', tenantId: chosen, tenants };
}
