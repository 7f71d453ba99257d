import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { Page, PageOptions } from '../interfaces/page.interface';
import { validateIdentifier } from '../redis/identifier';

/** Items on a page when `limit` is not given, and the most a page may hold. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1_000;

/** A page to read: after `after` (an id; '' for the first page), at most `limit` items. */
export interface PageRequest {
  after: string;
  limit: number;
}

/**
 * Checks paging options, throwing InvalidOptionsError (nothing is read) for a limit out of bounds
 * or a cursor that no page returned. A cursor is the last id of its page, base64url-encoded, so it
 * holds no character a key could not (it is checked as an identifier once decoded).
 */
export function toPageRequest(options: PageOptions | undefined): PageRequest {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('page options', 'pass { cursor?, limit? }');
  }
  const { cursor, limit = DEFAULT_PAGE_LIMIT } = options;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new InvalidOptionsError(
      'limit',
      `${JSON.stringify(limit)} must be an integer from 1 to ${MAX_PAGE_LIMIT}`,
    );
  }
  if (cursor === undefined) return { after: '', limit };
  return { after: decodeCursor(cursor), limit };
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string {
  const fix = 'pass the cursor a previous page returned, or omit it for the first page';
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidOptionsError('cursor', `${JSON.stringify(cursor)} is not a cursor; ${fix}`);
  }
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  try {
    validateIdentifier('cursor', id);
  } catch {
    throw new InvalidOptionsError('cursor', `${JSON.stringify(cursor)} is not a cursor; ${fix}`);
  }
  return id;
}

/** The ids after `request.after` in byte order (as Redis orders them), one page of them. */
export function pageOf(ids: readonly string[], request: PageRequest): Page<string> {
  const after = Buffer.from(request.after, 'utf8');
  const sorted = ids
    .filter((id) => request.after === '' || Buffer.compare(Buffer.from(id, 'utf8'), after) > 0)
    .sort(byBytes);
  const items = sorted.slice(0, request.limit);
  const more = sorted.length > request.limit;
  return { items, cursor: more ? encodeCursor(items[items.length - 1]) : null };
}

/** Orders strings by their UTF-8 bytes, as Redis orders members by lex. */
export function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
