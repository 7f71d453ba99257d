import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reasonOf, ScriptCode, toSchedulerError } from '../../../lib/errors/script-codes';
import {
  ConcurrentChangeError,
  LockLostError,
  PayloadTooLargeError,
  SchedulerError,
  TenantQuotaExceededError,
  UnexpectedScriptReplyError,
} from '../../../lib';

/** Every member of the enum (a numeric enum also maps its values back to its names). */
const codes = Object.values(ScriptCode).filter((v): v is ScriptCode => typeof v === 'number');

const dir = join(__dirname, '../../../lib/redis/scripts');
const scripts = readdirSync(dir).filter((f) => f.endsWith('.lua'));

describe('script codes', () => {
  it.each(scripts)('%s: every code its header names is a ScriptCode member', (file) => {
    const header = /^--\[\[([\s\S]*?)\]\]/.exec(readFileSync(join(dir, file), 'utf8'));
    expect(header).not.toBeNull();
    const named = [...header![1].matchAll(/(-?\d+) ([A-Z][A-Z_]+)/g)];
    for (const [, code, name] of named) {
      expect(ScriptCode[name as keyof typeof ScriptCode]).toBe(Number(code));
    }
  });

  it.each(scripts)(
    '%s: the header names KEYS, ARGV or Returns, and a Time line with TIME',
    (file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text.startsWith('--[[')).toBe(true);
      expect(text).toMatch(/KEYS\[1\]/);
      expect(text).toMatch(/Returns/);
      expect(text).toMatch(/Time: redis\.call\('TIME'\)/);
      expect(text).toMatch(/\]\]\nlocal rcall = redis\.call\n/);
    },
  );

  it('maps codes to typed errors in one place', () => {
    expect(
      toSchedulerError(ScriptCode.TENANT_QUOTA_EXCEEDED, { tenantId: 'acme', limit: 3 }),
    ).toBeInstanceOf(TenantQuotaExceededError);
    expect(toSchedulerError(ScriptCode.PAYLOAD_TOO_LARGE, { detail: 9, limit: 5 })).toBeInstanceOf(
      PayloadTooLargeError,
    );
    expect(toSchedulerError(ScriptCode.LEASE_LOST, { key: 'k' })).toBeInstanceOf(LockLostError);
    expect(toSchedulerError(ScriptCode.LEASE_EXPIRED, { key: 'k' })).toBeInstanceOf(LockLostError);
    const changed = toSchedulerError(ScriptCode.CHANGED, { tenantId: 'acme', scheduleId: 'r1' });
    expect(changed).toBeInstanceOf(ConcurrentChangeError);
    expect(changed.message).toMatch(/"r1" of tenant "acme".*Resume it again/);
    const unknown = toSchedulerError(-99, {});
    expect(unknown).toBeInstanceOf(UnexpectedScriptReplyError);
    expect(unknown).toBeInstanceOf(SchedulerError);
    expect(unknown.code).toBe('SCRIPT_ERROR');
  });

  it('gives every code a decoding: its own reason in the typed results', () => {
    expect(codes.length).toBeGreaterThan(0);
    const reasons = codes.map((code) => reasonOf(code));
    for (const [i, reason] of reasons.entries()) {
      expect({ code: ScriptCode[codes[i]], reason }).toEqual({
        code: ScriptCode[codes[i]],
        reason: expect.stringMatching(/^[a-z-]+$/),
      });
    }
    expect(new Set(reasons).size).toBe(codes.length);
    expect(reasonOf(1)).toBeUndefined();
    expect(reasonOf(-99)).toBeUndefined();
  });
});
