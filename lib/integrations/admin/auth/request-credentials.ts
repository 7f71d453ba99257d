import { digestApiKey } from './api-key';

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
 * A rate-limit tracker for a request an app's own guard let in: the hash of the credential it
 * carries (Authorization or X-API-Key), else the client address.
 */
export function credentialTracker(request: AdminHttpRequest): string {
  const credential = single(request.headers.authorization) ?? single(request.headers['x-api-key']);
  if (credential === undefined) return addressTracker(request);
  return `credential:${digestApiKey(credential).toString('hex')}`;
}

/** The rate-limit tracker of a request without a valid key: its client address. */
export function addressTracker(request: AdminHttpRequest): string {
  return `ip:${request.ip ?? request.socket?.remoteAddress ?? 'unknown'}`;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
