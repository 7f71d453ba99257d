import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InvalidOptionsError, SchedulerError } from '../../../lib';
import {
  API_KEY_MIN_LENGTH,
  generateApiKey,
  hashApiKey,
  InvalidAdminAuthOptionsError,
  InvalidApiKeyError,
} from '../../../lib/integrations/admin/auth';
import {
  AdminAuthSettings,
  resolveAdminAccess,
} from '../../../lib/integrations/admin/auth/admin-auth.options';
import { ApiKeyTable } from '../../../lib/integrations/admin/auth/api-key-table';

const ADMIN_KEY = generateApiKey();
const ACME_KEY = generateApiKey();
const GLOBEX_KEY = generateApiKey();

/** Runs `fn`, expects it to throw, and returns the error. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('hashApiKey / generateApiKey', () => {
  it("returns 'sha256:' and the key's SHA-256 digest in lowercase hex", () => {
    const key = 'k'.repeat(API_KEY_MIN_LENGTH);
    const expected = createHash('sha256').update(key).digest('hex');
    expect(hashApiKey(key)).toBe(`sha256:${expected}`);
    expect(hashApiKey(key)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses a key shorter than the minimum, with a typed error that does not echo it', () => {
    const short = 'short-secret-123';
    const error = thrown(() => hashApiKey(short));
    expect(error).toBeInstanceOf(InvalidApiKeyError);
    expect(error).toBeInstanceOf(SchedulerError);
    expect((error as InvalidApiKeyError).code).toBe('INVALID_API_KEY');
    expect(error.message).toContain(String(API_KEY_MIN_LENGTH));
    expect(error.message).not.toContain(short);
    expect(() => hashApiKey(undefined as unknown as string)).toThrow(InvalidApiKeyError);
  });

  it('generates 32 random bytes as base64url, different every time', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateApiKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
      expect(() => hashApiKey(key)).not.toThrow();
    }
  });
});

describe('ApiKeyTable', () => {
  const table = ApiKeyTable.fromOptions({
    admin: [hashApiKey(ADMIN_KEY)],
    tenants: { acme: [hashApiKey(ACME_KEY)], globex: [hashApiKey(GLOBEX_KEY)] },
  });

  it('identifies each key as its principal, with its hash as the tracker', () => {
    expect(table.identify(ADMIN_KEY)).toEqual({
      principal: { kind: 'admin' },
      hash: hashApiKey(ADMIN_KEY),
    });
    expect(table.identify(ACME_KEY)?.principal).toEqual({ kind: 'tenant', tenantId: 'acme' });
    expect(table.identify(GLOBEX_KEY)?.principal).toEqual({ kind: 'tenant', tenantId: 'globex' });
  });

  it('matches nothing for an unknown, short, empty or hash-as-key value', () => {
    expect(table.identify(generateApiKey())).toBeNull();
    expect(table.identify('x')).toBeNull();
    expect(table.identify('')).toBeNull();
    expect(table.identify(hashApiKey(ACME_KEY))).toBeNull();
    expect(table.identify(ACME_KEY.slice(0, -1))).toBeNull();
  });

  it('compares the digest with every entry, in constant time, whichever matches', () => {
    // The module object lib/ calls through (a named import compiles to a property access on it).
    const crypto = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      for (const key of [ADMIN_KEY, GLOBEX_KEY, generateApiKey(), 'x']) {
        compare.mockClear();
        table.identify(key);
        expect(compare).toHaveBeenCalledTimes(table.size);
        for (const [a, b] of compare.mock.calls) {
          expect((a as Buffer).length).toBe(32);
          expect((b as Buffer).length).toBe(32);
        }
      }
    } finally {
      compare.mockRestore();
    }
  });

  it('accepts a hash written in uppercase hex', () => {
    const upper = 'sha256:' + hashApiKey(ACME_KEY).slice(7).toUpperCase();
    const t = ApiKeyTable.fromOptions({ admin: [], tenants: { acme: [upper] } });
    expect(t.identify(ACME_KEY)?.principal).toEqual({ kind: 'tenant', tenantId: 'acme' });
  });
});

describe('resolveAdminAccess', () => {
  const keys = (apiKeys: unknown): AdminAuthSettings =>
    ({ auth: { apiKeys } }) as unknown as AdminAuthSettings;

  /** Expects a boot error naming `option` and never printing `secret`. */
  function refused(settings: AdminAuthSettings, option: string, secret?: string): Error {
    const error = thrown(() => resolveAdminAccess(settings));
    expect(error).toBeInstanceOf(InvalidAdminAuthOptionsError);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidAdminAuthOptionsError).option).toBe(option);
    expect(error.message).toContain(option);
    if (secret !== undefined) expect(error.message).not.toContain(secret);
    return error;
  }

  it('refuses a plain key in the options, naming the entry and never printing the key', () => {
    const error = refused(
      keys({ admin: [hashApiKey(ADMIN_KEY)], tenants: { acme: [hashApiKey(ACME_KEY), ACME_KEY] } }),
      'auth.apiKeys.tenants["acme"][1]',
      ACME_KEY,
    );
    expect(error.message).toMatch(/hashApiKey/);
    refused(keys({ admin: [ADMIN_KEY], tenants: {} }), 'auth.apiKeys.admin[0]', ADMIN_KEY);
  });

  it('refuses a malformed hash, naming the entry and never printing the value', () => {
    const truncated = hashApiKey(ADMIN_KEY).slice(0, -2);
    refused(keys({ admin: [truncated], tenants: {} }), 'auth.apiKeys.admin[0]', truncated);
    const notHex = `sha256:${'z'.repeat(64)}`;
    refused(keys({ admin: [], tenants: { a: [notHex] } }), 'auth.apiKeys.tenants["a"][0]');
    refused(keys({ admin: [42], tenants: {} }), 'auth.apiKeys.admin[0]');
  });

  it('refuses one key given to two principals, naming both entries', () => {
    const error = refused(
      keys({ admin: [hashApiKey(ADMIN_KEY)], tenants: { acme: [hashApiKey(ADMIN_KEY)] } }),
      'auth.apiKeys.tenants["acme"][0]',
    );
    expect(error.message).toContain('auth.apiKeys.admin[0]');
  });

  it('refuses key lists of the wrong shape and an empty key set', () => {
    refused(keys(null), 'auth.apiKeys');
    refused(keys({ admin: 'sha256:x', tenants: {} }), 'auth.apiKeys.admin');
    refused(keys({ admin: [], tenants: [] }), 'auth.apiKeys.tenants');
    refused(
      keys({ admin: [], tenants: { acme: hashApiKey(ACME_KEY) } }),
      'auth.apiKeys.tenants["acme"]',
    );
    refused(
      keys({ admin: [], tenants: { '': [hashApiKey(ACME_KEY)] } }),
      'auth.apiKeys.tenants[""]',
    );
    refused(keys({ admin: [], tenants: {} }), 'auth.apiKeys');
  });

  it("requires auth, and allowUnauthenticated: true with 'none'", () => {
    refused(undefined as unknown as AdminAuthSettings, 'options');
    refused({} as AdminAuthSettings, 'auth');
    refused({ auth: 'none' }, 'auth');
    refused({ auth: 'none', allowUnauthenticated: 'yes' as unknown as boolean }, 'auth');
    expect(resolveAdminAccess({ auth: 'none', allowUnauthenticated: true }).auth).toEqual({
      mode: 'none',
    });
  });

  it("accepts the app's guard as a class or an instance, and refuses anything else", () => {
    @Injectable()
    class AppGuard {
      canActivate() {
        return true;
      }
    }
    expect(resolveAdminAccess({ auth: { guard: AppGuard } }).auth.mode).toBe('guard');
    expect(resolveAdminAccess({ auth: { guard: new AppGuard() } }).auth.mode).toBe('guard');
    refused({ auth: { guard: {} } } as unknown as AdminAuthSettings, 'auth.guard');
  });

  it('defaults the rate limit to 600 per minute, takes limit/ttl, and turns off with false', () => {
    const auth = { apiKeys: { admin: [hashApiKey(ADMIN_KEY)], tenants: {} } };
    expect(resolveAdminAccess({ auth }).rateLimit).toEqual({ limit: 600, ttlMs: 60_000 });
    expect(resolveAdminAccess({ auth, rateLimit: { limit: 5 } }).rateLimit).toEqual({
      limit: 5,
      ttlMs: 60_000,
    });
    expect(resolveAdminAccess({ auth, rateLimit: false }).rateLimit).toBeNull();
    refused({ auth, rateLimit: { limit: 0 } }, 'rateLimit.limit');
    refused({ auth, rateLimit: { ttlMs: 1.5 } }, 'rateLimit.ttlMs');
    refused({ auth, rateLimit: true as unknown as false }, 'rateLimit');
  });
});
