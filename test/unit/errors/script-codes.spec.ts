import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScriptCode, toSchedulerError } from '../../../lib/errors/script-codes';
import {
  LockLostError,
  PayloadTooLargeError,
  SchedulerError,
  TenantQuotaExceededError,
} from '../../../lib';

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
    const unknown = toSchedulerError(-99, {});
    expect(unknown).toBeInstanceOf(SchedulerError);
    expect(unknown.code).toBe('SCRIPT_ERROR');
  });
});
