import type { SchedulerPrincipal } from './scheduler-principal';

/** The parts of an Express or Fastify request the guard reads. */
export interface AdminHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string };
  schedulerPrincipal?: unknown;
}

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The API key a request presents: `Authorization: Bearer <key>`, else `X-API-Key: <key>`;
 * undefined when it presents none. The value is only ever hashed, never logged or echoed.
 */
export function presentedKey(request: AdminHttpRequest): string | undefined {
  const authorization = single(request.headers.authorization);
  const bearer = authorization === undefined ? null : BEARER.exec(authorization);
  if (bearer) return bearer[1];
  const apiKey = single(request.headers['x-api-key'])?.trim();
  return apiKey ? apiKey : undefined;
}

/**
 * The rate-limit tracker of a principal an app's own guard set: one bucket per tenant, one for
 * admin. Never a credential the request carries: the app's guard may not read it, so a caller
 * could send a fresh one with every request to get a fresh bucket.
 */
export function principalTracker(principal: SchedulerPrincipal): string {
  return principal.kind === 'admin' ? 'principal:admin' : `principal:tenant:${principal.tenantId}`;
}

/** The rate-limit tracker of a request without a valid key: its client address. */
export function addressTracker(request: AdminHttpRequest): string {
  return `ip:${request.ip ?? request.socket?.remoteAddress ?? 'unknown'}`;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
