// The admin API, called relative to the page: the page is served at '/{path}/' (its <base>), so
// 'tenants/...' resolves to '/{path}/tenants/...' whatever global prefix the app has.

/** An answer of the API that is not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const segment = (value) => encodeURIComponent(value);

export const paths = {
  tenants: (cursor) => 'tenants?limit=1000' + (cursor ? '&cursor=' + segment(cursor) : ''),
  schedules: (tenantId, limit) => `tenants/${segment(tenantId)}/schedules?limit=${limit}`,
  schedule: (tenantId, id) => `tenants/${segment(tenantId)}/schedules/${segment(id)}`,
  circuits: (tenantId) => `tenants/${segment(tenantId)}/circuits`,
  tenant: (tenantId) => `tenants/${segment(tenantId)}`,
};

/** A client that sends `key` as a bearer token (no header when the key is empty). */
export function createApi(key) {
  return {
    get: (path) => request('GET', path, key),
    post: (path) => request('POST', path, key),
  };
}

async function request(method, path, key) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  let response;
  try {
    response = await fetch(new URL(path, document.baseURI), {
      method,
      headers,
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'error',
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The service did not answer (${error.message}).`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const code = body && typeof body.code === 'string' ? body.code : `HTTP_${response.status}`;
    const message =
      body && typeof body.message === 'string'
        ? body.message
        : `${method} ${path} answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, code, message, body ? body.field : undefined);
  }
  return body;
}

/** The items of a list answer: `{ items }` or a bare array. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  return body && Array.isArray(body.items) ? body.items : [];
}
