import {
  addressTracker,
  presentedKey,
  principalTracker,
} from '../../../lib/integrations/admin/auth/request-credentials';

const KEY = 'Zm9vYmFyYmF6cXV4LWtleS12YWx1ZS0xMjM0NTY3ODkw';
const request = (headers: Record<string, string | string[]>, ip?: string) => ({ headers, ip });

describe('presentedKey', () => {
  it('reads Authorization: Bearer <key> (scheme in any case), else X-API-Key', () => {
    expect(presentedKey(request({ authorization: `Bearer ${KEY}` }))).toBe(KEY);
    expect(presentedKey(request({ authorization: `bEaReR   ${KEY}` }))).toBe(KEY);
    expect(presentedKey(request({ 'x-api-key': ` ${KEY} ` }))).toBe(KEY);
    expect(presentedKey(request({ authorization: 'Basic abc', 'x-api-key': KEY }))).toBe(KEY);
    expect(presentedKey(request({ authorization: `Bearer ${KEY}`, 'x-api-key': 'other' }))).toBe(
      KEY,
    );
  });

  it('finds no key in an empty, malformed or other-scheme header', () => {
    expect(presentedKey(request({}))).toBeUndefined();
    expect(presentedKey(request({ authorization: 'Bearer' }))).toBeUndefined();
    expect(presentedKey(request({ authorization: 'Bearer ' }))).toBeUndefined();
    expect(presentedKey(request({ authorization: `Bearer ${KEY} more` }))).toBeUndefined();
    expect(presentedKey(request({ authorization: `Token ${KEY}` }))).toBeUndefined();
    expect(presentedKey(request({ 'x-api-key': '   ' }))).toBeUndefined();
  });
});

describe('rate-limit trackers', () => {
  it("count an app guard's principal, per tenant or as admin, never a credential", () => {
    expect(principalTracker({ kind: 'tenant', tenantId: 'acme' })).toBe('principal:tenant:acme');
    expect(principalTracker({ kind: 'tenant', tenantId: 'admin' })).toBe('principal:tenant:admin');
    expect(principalTracker({ kind: 'admin' })).toBe('principal:admin');
  });

  it('fall back to the client address, whatever key the request carries', () => {
    expect(addressTracker(request({ authorization: `Bearer ${KEY}` }, '::1'))).toBe('ip:::1');
    expect(addressTracker({ headers: {}, socket: { remoteAddress: '10.0.0.2' } })).toBe(
      'ip:10.0.0.2',
    );
  });
});
