import { randomBytes } from 'node:crypto';
import { HttpTargetNotAllowedError, InvalidHttpTargetError } from '../../../lib/integrations/http';
import {
  openHeaders,
  parseHttpPayload,
  prepareHttpPayload,
} from '../../../lib/integrations/http/http-target.payload';
import {
  HttpTargetsOptions,
  resolveHttpTargetsOptions,
} from '../../../lib/integrations/http/http-targets.options';
import { InvalidOptionsError } from '../../../lib';

const SECRET = 'Bearer s3cret-value-42';
const target = { tenantId: 'acme', id: 'hook', handler: 'http' };
const key1 = randomBytes(32);
const key2 = randomBytes(32);
const options = (over: Partial<HttpTargetsOptions> = {}) =>
  resolveHttpTargetsOptions({ allow: ['https://hooks.example.com/'], ...over });

describe('parseHttpPayload', () => {
  const parse = (payload: unknown) => parseHttpPayload(payload, options());

  it('accepts a full payload; POST by default; a non-string body as JSON', () => {
    const call = parse({
      url: 'https://hooks.example.com/a',
      headers: { 'X-Key': 'v' },
      body: { a: 1 },
    });
    expect(call.method).toBe('POST');
    expect(call.body).toBe('{"a":1}');
    expect(call.headers).toEqual({ 'X-Key': 'v' });
    expect(call.contentType).toBe('application/json');
    const typed = parse({
      url: 'https://hooks.example.com/a',
      headers: { 'Content-Type': 'application/vnd.x+json' },
      body: [1],
    });
    expect(typed.contentType).toBeUndefined();
    expect(parse({ url: 'https://hooks.example.com/a', body: 'raw', timeoutMs: 5 })).toMatchObject({
      body: 'raw',
      timeoutMs: 5,
      headers: {},
      contentType: undefined,
    });
  });

  it.each([
    [undefined, 'payload', /pass an object/],
    [{ url: 'https://hooks.example.com/', verb: 'GET' }, 'verb', /not a field/],
    [{ url: 'https://hooks.example.com/', method: 'FETCH' }, 'method', /one of GET, HEAD/],
    [{ url: 'https://hooks.example.com/', method: 'post' }, 'method', /one of/],
    [{ url: 'not a url' }, 'url', /valid absolute URL/],
    [{ url: 42 }, 'url', /URL string/],
    [{ url: 'ftp://hooks.example.com/' }, 'url', /scheme "ftp" is not http/],
    [{ url: 'file:///etc/passwd' }, 'url', /scheme "file"/],
    [{ url: 'https://u:pw@hooks.example.com/' }, 'url', /user name or password/],
    [{ url: 'https://hooks.example.com/', headers: [] }, 'headers', /object/],
    [
      { url: 'https://hooks.example.com/', headers: { 'bad name': 'v' } },
      'headers',
      /not a header name/,
    ],
    [
      { url: 'https://hooks.example.com/', headers: { 'Idempotency-Key': 'v' } },
      'headers.Idempotency-Key',
      /sets this header itself/,
    ],
    [{ url: 'https://hooks.example.com/', headers: { Host: 'v' } }, 'headers.Host', /itself/],
    [{ url: 'https://hooks.example.com/', headers: { a: 'x', A: 'y' } }, 'headers.A', /twice/],
    [{ url: 'https://hooks.example.com/', headers: { a: 1 } }, 'headers.a', /must be a string/],
    [
      { url: 'https://hooks.example.com/', method: 'GET', body: 'x' },
      'body',
      /GET request has no body/,
    ],
    [{ url: 'https://hooks.example.com/', timeoutMs: 0 }, 'timeoutMs', /integer from 1/],
    [{ url: 'https://hooks.example.com/', timeoutMs: 2 ** 31 }, 'timeoutMs', /integer from 1/],
  ])('refuses %j (field %s)', (payload, field, reason) => {
    let error: unknown;
    try {
      parse(payload);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidHttpTargetError);
    expect(error).toMatchObject({
      field,
      code: 'INVALID_HTTP_TARGET',
      message: expect.stringMatching(reason),
    });
  });

  it('never shows a header value in an error', () => {
    const bad = {
      url: 'https://hooks.example.com/',
      headers: { Authorization: `${SECRET}\r\nX: y` },
    };
    expect(() => parse(bad)).toThrow(/headers.Authorization: its value holds a line break/);
    try {
      parse(bad);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('s3cret');
    }
  });

  it('refuses a target off the allow-list with HttpTargetNotAllowedError', () => {
    expect(() => parse({ url: 'https://elsewhere.example.com/' })).toThrow(
      HttpTargetNotAllowedError,
    );
    expect(() => parse({ url: 'https://hooks.example.com.evil.net/' })).toThrow(
      /not on the allow-list/,
    );
  });
});

describe('header encryption at rest', () => {
  it('stores header values as envelopes with the key id; the handler opens them', () => {
    const o = options({ encryptionKeys: [{ id: 'k1', key: key1 }] });
    const stored = prepareHttpPayload(
      { url: 'https://hooks.example.com/a', headers: { Authorization: SECRET } },
      target,
      o,
    );
    expect(stored.method).toBe('POST');
    const envelope = stored.headers?.Authorization ?? '';
    expect(envelope).toMatch(/^rsenc:v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(stored)).not.toContain('s3cret');
    expect(
      openHeaders(stored.headers ?? {}, { tenantId: 'acme', scheduleId: 'hook' }, o.cipher),
    ).toEqual({
      Authorization: SECRET,
    });
  });

  it('binds a value to its tenant, schedule and header: moved elsewhere it does not open', () => {
    const o = options({ encryptionKeys: [{ id: 'k1', key: key1 }] });
    const stored = prepareHttpPayload(
      { url: 'https://hooks.example.com/', headers: { A: SECRET } },
      target,
      o,
    );
    const envelope = stored.headers?.A ?? '';
    const open = (tenantId: string, scheduleId: string, header: string) =>
      openHeaders({ [header]: envelope }, { tenantId, scheduleId }, o.cipher);
    expect(() => open('globex', 'hook', 'A')).toThrow(/does not authenticate with key "k1"/);
    expect(() => open('acme', 'other', 'A')).toThrow(InvalidHttpTargetError);
    expect(() => open('acme', 'hook', 'B')).toThrow(InvalidHttpTargetError);
    expect(open('acme', 'hook', 'a')).toEqual({ a: SECRET });
  });

  it('rotates: the first key encrypts, older keys still decrypt, a missing key is named', () => {
    const old = options({ encryptionKeys: [{ id: 'k1', key: key1 }] });
    const rotated = options({
      encryptionKeys: [
        { id: 'k2', key: key2.toString('base64') },
        { id: 'k1', key: key1 },
      ],
    });
    const owner = { tenantId: 'acme', scheduleId: 'hook' };
    const before = prepareHttpPayload(
      { url: 'https://hooks.example.com/', headers: { A: SECRET } },
      target,
      old,
    );
    expect(openHeaders(before.headers ?? {}, owner, rotated.cipher)).toEqual({ A: SECRET });
    const after = prepareHttpPayload(
      { url: 'https://hooks.example.com/', headers: { A: SECRET } },
      target,
      rotated,
    );
    expect(after.headers?.A).toMatch(/^rsenc:v1:k2:/);
    expect(() => openHeaders(after.headers ?? {}, owner, old.cipher)).toThrow(
      /key "k2", which is not configured/,
    );
  });

  it('keeps an envelope upserted again (a payload read back) when it opens for this schedule', () => {
    const o = options({ encryptionKeys: [{ id: 'k1', key: key1 }] });
    const stored = prepareHttpPayload(
      { url: 'https://hooks.example.com/', headers: { A: SECRET } },
      target,
      o,
    );
    const again = prepareHttpPayload(stored, target, o);
    expect(again.headers?.A).toBe(stored.headers?.A);
    expect(() => prepareHttpPayload(stored, { ...target, tenantId: 'globex' }, o)).toThrow(
      InvalidHttpTargetError,
    );
    expect(() => prepareHttpPayload(stored, target, options())).toThrow(
      /no encryptionKeys are configured/,
    );
  });

  it('refuses to send a value stored unencrypted while keys are configured', () => {
    const o = options({ encryptionKeys: [{ id: 'k1', key: key1 }] });
    const owner = { tenantId: 'acme', scheduleId: 'hook' };
    expect(() => openHeaders({ A: SECRET }, owner, o.cipher)).toThrow(
      /headers.A: it is stored unencrypted although encryptionKeys are configured/,
    );
    expect(openHeaders({ A: SECRET }, owner, undefined)).toEqual({ A: SECRET });
  });

  it('stores values as given without keys, and does not change the caller’s payload', () => {
    const payload = { url: 'https://hooks.example.com/', headers: { A: 'plain' }, body: { x: 1 } };
    expect(prepareHttpPayload(payload, target, options()).headers).toEqual({ A: 'plain' });
    expect(payload.headers).toEqual({ A: 'plain' });
  });

  it('refuses keys it cannot use at boot', () => {
    expect(() => options({ encryptionKeys: [{ id: 'k1', key: randomBytes(16) }] })).toThrow(
      /32 bytes/,
    );
    expect(() => options({ encryptionKeys: [{ id: 'a:b', key: key1 }] })).toThrow(/key id/);
    expect(() =>
      options({
        encryptionKeys: [
          { id: 'k', key: key1 },
          { id: 'k', key: key2 },
        ],
      }),
    ).toThrow(/twice/);
    expect(() => options({ encryptionKeys: [] })).toThrow(InvalidOptionsError);
  });
});

describe('module options', () => {
  it('refuses what cannot be used, naming the option', () => {
    expect(() => resolveHttpTargetsOptions({} as HttpTargetsOptions)).toThrow(
      /HttpTargetsModule allow/,
    );
    expect(() => options({ allow: ['ftp://x/'] })).toThrow(/http or https/);
    expect(() => options({ allowLoopback: 'yes' as unknown as boolean })).toThrow(
      /allowLoopback: it must be a boolean/,
    );
    expect(() => options({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => options({ breaker: { failureThreshold: 0 } })).toThrow(/failureThreshold/);
  });

  it('resolves defaults: nothing but public addresses, 10 s timeout, breaker 5 / 30 s', () => {
    const o = options();
    expect([...o.addresses]).toEqual([]);
    expect(o).toMatchObject({
      timeoutMs: 10_000,
      breaker: { failureThreshold: 5, coolDownMs: 30_000 },
    });
    expect(
      [...options({ allowLoopback: true, allowPrivateNetworks: true }).addresses].sort(),
    ).toEqual(['loopback', 'private']);
  });
});
