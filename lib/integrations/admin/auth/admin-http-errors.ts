import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The admin API's refusals, as `{ statusCode, code, message }` bodies. None names a key, a hash
 * or anything the caller sent.
 */

/** No key, or a key that matches none configured (the caller sets WWW-Authenticate: Bearer). */
export function unauthenticated(): HttpException {
  return refusal(
    HttpStatus.UNAUTHORIZED,
    'UNAUTHENTICATED',
    'A valid API key is required: send Authorization: Bearer <key> or X-API-Key: <key>.',
  );
}

/** A tenant's key on another tenant's route, or on an admin-only route. */
export function tenantForbidden(): HttpException {
  return refusal(
    HttpStatus.FORBIDDEN,
    'TENANT_FORBIDDEN',
    "This key may only use its own tenant's routes.",
  );
}

/** The app's own guard refused the request (returned false) or set an unusable principal. */
export function forbidden(): HttpException {
  return refusal(HttpStatus.FORBIDDEN, 'FORBIDDEN', 'Access to the scheduler admin API refused.');
}

/** Too many requests with this key (or from this address) in the window (Retry-After is set). */
export function rateLimited(): HttpException {
  return refusal(
    HttpStatus.TOO_MANY_REQUESTS,
    'RATE_LIMITED',
    'Too many requests: retry after the number of seconds in the Retry-After header.',
  );
}

function refusal(statusCode: number, code: string, message: string): HttpException {
  return new HttpException({ statusCode, code, message }, statusCode);
}

/** Sets a response header on Express (res.setHeader) and Fastify (reply.header) alike. */
export function setResponseHeader(response: unknown, name: string, value: string): void {
  const res = response as {
    header?: (n: string, v: string) => unknown;
    setHeader?: (n: string, v: string) => unknown;
  };
  if (typeof res.header === 'function') res.header(name, value);
  else if (typeof res.setHeader === 'function') res.setHeader(name, value);
}
