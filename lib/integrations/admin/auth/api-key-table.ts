import { timingSafeEqual } from 'node:crypto';
import { InvalidAdminAuthOptionsError } from './admin-auth.errors';
import { API_KEY_HASH_PREFIX, digestApiKey, hashDigest, isApiKeyHash } from './api-key';
import type { SchedulerPrincipal } from './scheduler-principal';

/** A configured key: its digest, whom it stands for, and its hash (the rate-limit tracker). */
interface KeyEntry {
  digest: Buffer;
  principal: SchedulerPrincipal;
  hash: string;
}

/** Who a presented key belongs to, and the key's hash (never the key). */
export interface KeyMatch {
  principal: SchedulerPrincipal;
  hash: string;
}

/**
 * The configured API-key hashes, validated at boot. identify() digests a presented key and
 * compares it with every entry in constant time: all entries are compared (no early exit), each
 * with crypto.timingSafeEqual on two 32-byte digests, so the time taken says nothing about which
 * entry, if any, matched or how close a guess came.
 */
export class ApiKeyTable {
  private constructor(private readonly entries: readonly KeyEntry[]) {}

  /** Builds the table from `auth.apiKeys`; throws InvalidAdminAuthOptionsError naming the entry. */
  static fromOptions(apiKeys: unknown): ApiKeyTable {
    if (typeof apiKeys !== 'object' || apiKeys === null) {
      throw new InvalidAdminAuthOptionsError('auth.apiKeys', 'expected { admin: [], tenants: {} }');
    }
    const { admin = [], tenants = {} } = apiKeys as { admin?: unknown; tenants?: unknown };
    const entries: KeyEntry[] = [];
    const places = new Map<string, string>();
    const add = (place: string, hashes: unknown, principal: SchedulerPrincipal) => {
      if (!Array.isArray(hashes)) {
        throw new InvalidAdminAuthOptionsError(place, 'expected an array of hashApiKey() results');
      }
      hashes.forEach((hash: unknown, index) => {
        const entry = `${place}[${index}]`;
        checkHash(entry, hash);
        const normal = hash.toLowerCase();
        const earlier = places.get(normal);
        if (earlier !== undefined) {
          throw new InvalidAdminAuthOptionsError(
            entry,
            `it is the same key as ${earlier}; a key must belong to one principal only`,
          );
        }
        places.set(normal, entry);
        entries.push({ digest: hashDigest(normal), principal, hash: normal });
      });
    };
    add('auth.apiKeys.admin', admin, { kind: 'admin' });
    if (typeof tenants !== 'object' || tenants === null || Array.isArray(tenants)) {
      throw new InvalidAdminAuthOptionsError(
        'auth.apiKeys.tenants',
        'expected an object: tenant id -> array of hashApiKey() results',
      );
    }
    for (const [tenantId, hashes] of Object.entries(tenants)) {
      const place = `auth.apiKeys.tenants[${JSON.stringify(tenantId)}]`;
      if (tenantId.length === 0) throw new InvalidAdminAuthOptionsError(place, 'empty tenant id');
      add(place, hashes, Object.freeze({ kind: 'tenant', tenantId }));
    }
    if (entries.length === 0) {
      throw new InvalidAdminAuthOptionsError(
        'auth.apiKeys',
        'it holds no key, so every request would be refused; add hashApiKey(key) results',
      );
    }
    return new ApiKeyTable(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The entry `key` matches, or null. Takes the same time whichever entry matches. */
  identify(key: string): KeyMatch | null {
    const digest = digestApiKey(key);
    let found: KeyEntry | null = null;
    for (const entry of this.entries) {
      const equal = timingSafeEqual(digest, entry.digest);
      found = equal ? entry : found;
    }
    return found && { principal: found.principal, hash: found.hash };
  }
}

function checkHash(entry: string, hash: unknown): asserts hash is string {
  if (isApiKeyHash(hash)) return;
  if (typeof hash === 'string' && !hash.startsWith(API_KEY_HASH_PREFIX)) {
    throw new InvalidAdminAuthOptionsError(
      entry,
      'it is not a hash (a plain key?): options hold hashApiKey(key) results, never the keys',
    );
  }
  throw new InvalidAdminAuthOptionsError(
    entry,
    `it is not a well-formed hash: expected '${API_KEY_HASH_PREFIX}' and 64 hex digits, as ` +
      'hashApiKey() returns',
  );
}
