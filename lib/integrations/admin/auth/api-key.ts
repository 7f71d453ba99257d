import { createHash, randomBytes } from 'node:crypto';
import { InvalidApiKeyError } from './admin-auth.errors';

/** The shortest key hashApiKey() accepts: shorter keys can be guessed. */
export const API_KEY_MIN_LENGTH = 24;

/** How a stored key hash starts; the rest is the SHA-256 digest of the key, in lowercase hex. */
export const API_KEY_HASH_PREFIX = 'sha256:';

const HASH_FORMAT = /^sha256:[0-9a-f]{64}$/i;

/**
 * The value to put in the admin module's `auth.apiKeys` for `key`: `'sha256:' + hex digest`.
 * Options hold only these hashes, never the keys. Throws InvalidApiKeyError for a key shorter
 * than API_KEY_MIN_LENGTH characters (use generateApiKey()).
 */
export function hashApiKey(key: string): string {
  if (typeof key !== 'string' || key.length < API_KEY_MIN_LENGTH) {
    throw new InvalidApiKeyError(
      `an API key must be a string of at least ${API_KEY_MIN_LENGTH} characters; ` +
        'generateApiKey() makes one',
    );
  }
  return API_KEY_HASH_PREFIX + digestApiKey(key).toString('hex');
}

/** A new random API key: 32 bytes from the crypto RNG, base64url (43 characters). */
export function generateApiKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The SHA-256 digest of a presented key (any length: a short key simply matches nothing). */
export function digestApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Whether `value` has the shape hashApiKey() returns. */
export function isApiKeyHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_FORMAT.test(value);
}

/** The 32-byte digest a well-formed hash holds (see isApiKeyHash). */
export function hashDigest(hash: string): Buffer {
  return Buffer.from(hash.slice(API_KEY_HASH_PREFIX.length), 'hex');
}
