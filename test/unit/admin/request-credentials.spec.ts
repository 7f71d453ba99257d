import {
  addressTracker,
  credentialTracker,
  presentedKey,
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
  it('never hold the credential itself', () => {
    const tracker = credentialTracker(request({ authorization: `Bearer ${KEY}` }, '10.0.0.1'));
    expect(tracker).toMatch(/^credential:[0-9a-f]{64}$/);
    expect(tracker).not.toContain(KEY);
  });

  it('fall back to the client address', () => {
    expect(credentialTracker(request({}, '10.0.0.1'))).toBe('ip:10.0.0.1');
    expect(addressTracker(request({ authorization: `Bearer ${KEY}` }, '::1'))).toBe('ip:::1');
    expect(addressTracker({ headers: {}, socket: { remoteAddress: '10.0.0.2' } })).toBe(
      'ip:10.0.0.2',
    );
  });
});
