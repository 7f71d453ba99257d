import type { PayloadTarget } from '../../index';
import { HeaderCipher } from './header-cipher';
import { InvalidHttpTargetError } from './http-target.errors';
import {
  ATTEMPT_HEADER,
  FENCING_TOKEN_HEADER,
  FIRE_TIME_HEADER,
  IDEMPOTENCY_KEY_HEADER,
} from './http-targets.constants';
import { isMs, type ResolvedHttpTargetsOptions } from './http-targets.options';
import { checkTarget } from './target-policy';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** The payload of a schedule whose handler is `'http'`. */
export interface HttpTargetPayload {
  /** An http(s) URL on the allow-list, without user name or password. */
  url: string;
  /** @default 'POST' */
  method?: HttpMethod;
  /** Sent as given (values encrypted at rest when keys are set); never logged. */
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON (content-type application/json unless set). */
  body?: unknown;
  /** This call's timeout; the module's `timeoutMs` when unset. */
  timeoutMs?: number;
}

declare module '../../index' {
  interface ScheduleHandlers {
    http: HttpTargetPayload;
  }
}

const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const FIELDS = new Set(['url', 'method', 'headers', 'body', 'timeoutMs']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\r\n\u0000]/;
/** Set by the module or by fetch itself. */
const RESERVED = new Set([
  IDEMPOTENCY_KEY_HEADER,
  FENCING_TOKEN_HEADER,
  FIRE_TIME_HEADER,
  ATTEMPT_HEADER,
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
]);
const MAX_URL_LENGTH = 2_048;
const MAX_HEADERS = 50;

/** A checked payload: its URL parsed, its method resolved. */
export interface HttpCall {
  url: URL;
  method: HttpMethod;
  /** As stored (values may be envelopes). */
  headers: Record<string, string>;
  /** 'application/json' for a JSON body whose headers set no content-type. */
  contentType: string | undefined;
  body: string | undefined;
  timeoutMs: number | undefined;
}

/**
 * Checks a payload (fields, URL, method, headers, body, timeout, allow-list and IP-literal
 * networks) and returns it parsed. Errors name the field and never show a header value.
 */
export function parseHttpPayload(payload: unknown, options: ResolvedHttpTargetsOptions): HttpCall {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new InvalidHttpTargetError('payload', 'pass an object with at least `url`');
  }
  const p = payload as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    throw new InvalidHttpTargetError(
      unknown[0],
      `it is not a field (use ${[...FIELDS].join(', ')})`,
    );
  }
  const method = (p.method ?? 'POST') as HttpMethod;
  if (typeof method !== 'string' || !METHODS.has(method)) {
    throw new InvalidHttpTargetError('method', `it must be one of ${[...METHODS].join(', ')}`);
  }
  const url = parseUrl(p.url);
  const headers = parseHeaders(p.headers);
  const body = p.body === undefined || typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
  const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  const contentType =
    typeof p.body === 'string' || p.body === undefined || hasType ? undefined : 'application/json';
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new InvalidHttpTargetError('body', `a ${method} request has no body`);
  }
  if (p.timeoutMs !== undefined && !isMs(p.timeoutMs, 1)) {
    throw new InvalidHttpTargetError('timeoutMs', 'it must be an integer from 1 to 2147483647');
  }
  checkTarget(method, url, options.allow, options.addresses);
  return { url, method, headers, contentType, body, timeoutMs: p.timeoutMs as number | undefined };
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidHttpTargetError('url', 'it must be an http or https URL string');
  }
  if (value.length > MAX_URL_LENGTH) {
    throw new InvalidHttpTargetError('url', `it is longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidHttpTargetError('url', 'it is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidHttpTargetError(
      'url',
      `its scheme "${url.protocol.slice(0, -1)}" is not http or https`,
    );
  }
  if (url.username || url.password) {
    throw new InvalidHttpTargetError(
      'url',
      'it must not hold a user name or password (send them in a header)',
    );
  }
  return url;
}

function parseHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidHttpTargetError(
      'headers',
      'it must be an object of header names to string values',
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) {
    throw new InvalidHttpTargetError('headers', `it has more than ${MAX_HEADERS} headers`);
  }
  const seen = new Set<string>();
  for (const [name, headerValue] of entries) {
    if (!TOKEN.test(name))
      throw new InvalidHttpTargetError(
        'headers',
        `${JSON.stringify(name.slice(0, 64))} is not a header name`,
      );
    const lower = name.toLowerCase();
    if (RESERVED.has(lower))
      throw new InvalidHttpTargetError(
        `headers.${name}`,
        'the module or fetch sets this header itself',
      );
    if (seen.has(lower))
      throw new InvalidHttpTargetError(
        `headers.${name}`,
        'it is given twice (header names ignore case)',
      );
    seen.add(lower);
    if (typeof headerValue !== 'string')
      throw new InvalidHttpTargetError(`headers.${name}`, 'its value must be a string');
    if (BAD_VALUE.test(headerValue)) {
      throw new InvalidHttpTargetError(
        `headers.${name}`,
        'its value holds a line break or NUL character',
      );
    }
  }
  return { ...(value as Record<string, string>) };
}

/**
 * The payload to store for `target` (the @PreparePayload of 'http'): checked, the method
 * explicit, header values encrypted when the module has keys. A value that is already an
 * envelope (a payload read back with get() and upserted again) is kept if it decrypts for this
 * schedule, and refused otherwise.
 */
export function prepareHttpPayload(
  payload: unknown,
  target: PayloadTarget,
  options: ResolvedHttpTargetsOptions,
): HttpTargetPayload {
  parseHttpPayload(payload, options);
  const p = payload as HttpTargetPayload;
  const stored: HttpTargetPayload = { ...p, method: p.method ?? 'POST' };
  if (p.headers) {
    stored.headers = {};
    for (const [header, value] of Object.entries(p.headers)) {
      stored.headers[header] = sealHeader(value, header, target, options.cipher);
    }
  }
  return stored;
}

function sealHeader(
  value: string,
  header: string,
  target: PayloadTarget,
  cipher: HeaderCipher | undefined,
): string {
  const owner = { tenantId: target.tenantId, scheduleId: target.id, header };
  if (HeaderCipher.isEnvelope(value)) {
    if (!cipher)
      throw new InvalidHttpTargetError(
        `headers.${header}`,
        'it is an encrypted value, but no encryptionKeys are configured',
      );
    cipher.decrypt(value, owner);
    return value;
  }
  return cipher ? cipher.encrypt(value, owner) : value;
}

/**
 * The header values to send: decrypted. With keys configured every value must be an envelope (a
 * value stored in plaintext came from a process without HttpTargetsModule, or from before the
 * keys: it is refused rather than sent).
 */
export function openHeaders(
  headers: Record<string, string>,
  owner: { tenantId: string; scheduleId: string },
  cipher: HeaderCipher | undefined,
): Record<string, string> {
  const open: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    if (!HeaderCipher.isEnvelope(value)) {
      if (cipher) {
        throw new InvalidHttpTargetError(
          `headers.${header}`,
          'it is stored unencrypted although encryptionKeys are configured: upsert the schedule ' +
            'again from a process that imports HttpTargetsModule',
        );
      }
      open[header] = value;
      continue;
    }
    if (!cipher)
      throw new InvalidHttpTargetError(
        `headers.${header}`,
        'it is encrypted, but no encryptionKeys are configured',
      );
    open[header] = cipher.decrypt(value, { ...owner, header });
  }
  return open;
}
