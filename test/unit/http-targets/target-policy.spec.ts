import { HttpTargetNotAllowedError } from '../../../lib/integrations/http';
import type { AddressKind } from '../../../lib/integrations/http/address-classifier';
import {
  AllowRule,
  checkTarget,
  guardedLookup,
  isAllowed,
  parseAllowRule,
  RefusedAddressError,
  Resolver,
} from '../../../lib/integrations/http/target-policy';

const rules = (...entries: string[]): AllowRule[] =>
  entries.map((e) => {
    const rule = parseAllowRule(e);
    if (typeof rule === 'string') throw new Error(rule);
    return rule;
  });

const allowed = (list: AllowRule[], url: string) => isAllowed(new URL(url), list);

describe('the allow-list', () => {
  it('parses hosts, subdomain patterns, URL prefixes and *', () => {
    expect(
      rules('*', 'API.example.com', '*.example.org', 'https://h.example.com:8443/hooks/'),
    ).toEqual([
      { kind: 'any' },
      { kind: 'host', host: 'api.example.com' },
      { kind: 'subdomains', suffix: '.example.org' },
      { kind: 'prefix', origin: 'https://h.example.com:8443', path: '/hooks/' },
    ]);
    expect(rules('127.0.0.1', '[::1]')).toEqual([
      { kind: 'host', host: '127.0.0.1' },
      { kind: 'host', host: '::1' },
    ]);
  });

  it('refuses entries it cannot use, saying why', () => {
    expect(parseAllowRule('')).toMatch(/non-empty/);
    expect(parseAllowRule('ftp://example.com/')).toMatch(/http or https/);
    expect(parseAllowRule('https://example.com/?a=1')).toMatch(/without query/);
    expect(parseAllowRule('https://u:p@example.com/')).toMatch(/credentials/);
    expect(parseAllowRule('example.com:8080')).toMatch(/not a host name/);
    expect(parseAllowRule('example.com/path')).toMatch(/not a host name/);
    expect(parseAllowRule('*.')).toMatch(/not a host pattern/);
    expect(parseAllowRule(42)).toMatch(/non-empty string/);
  });

  it('matches a host exactly (any scheme and port), subdomains without the apex', () => {
    const list = rules('api.example.com', '*.example.org');
    expect(allowed(list, 'https://api.example.com/x')).toBe(true);
    expect(allowed(list, 'http://API.example.com:8080/x')).toBe(true);
    expect(allowed(list, 'https://evil-api.example.com/')).toBe(false);
    expect(allowed(list, 'https://api.example.com.evil.net/')).toBe(false);
    expect(allowed(list, 'https://a.b.example.org/')).toBe(true);
    expect(allowed(list, 'https://example.org/')).toBe(false);
    expect(allowed(list, 'https://badexample.org/')).toBe(false);
  });

  it('matches a URL prefix on scheme, host, port and a path boundary', () => {
    const list = rules('https://h.example.com/hooks', 'https://h.example.com/v2/');
    expect(allowed(list, 'https://h.example.com/hooks')).toBe(true);
    expect(allowed(list, 'https://h.example.com/hooks/a?x=1')).toBe(true);
    expect(allowed(list, 'https://h.example.com/hooksevil')).toBe(false);
    expect(allowed(list, 'http://h.example.com/hooks/a')).toBe(false);
    expect(allowed(list, 'https://h.example.com:444/hooks/a')).toBe(false);
    expect(allowed(list, 'https://h.example.com/v2/x')).toBe(true);
    expect(allowed(list, 'https://h.example.com/v2')).toBe(false);
    expect(allowed(list, 'https://h.example.com/hooks/../admin')).toBe(false);
  });
});

describe('checkTarget (no DNS)', () => {
  const none = new Set<AddressKind>();
  const check = (url: string, kinds = none, list = rules('*')) =>
    checkTarget('POST', new URL(url), list, kinds);

  it('refuses what the allow-list lacks, naming the target without its query', () => {
    expect(() =>
      check('https://other.example.com/a?token=s3cret', none, rules('api.example.com')),
    ).toThrow(
      new HttpTargetNotAllowedError(
        'POST https://other.example.com/a',
        'it is not on the allow-list',
      ),
    );
  });

  it.each([
    ['http://127.0.0.1/', /loopback address \(allow with allowLoopback: true\)/],
    ['http://[::1]:8080/', /loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://10.0.0.5/', /private network address/],
    ['http://[fd00::5]/', /private network address/],
    ['http://169.254.1.1/', /link-local/],
    ['http://169.254.169.254/latest/meta-data', /cloud metadata address, which is always refused/],
    ['http://[fd00:ec2::254]/', /cloud metadata address/],
    ['http://metadata.google.internal/computeMetadata/v1/', /cloud metadata host/],
    ['http://0.0.0.0:3000/', /always refused/],
    ['http://[::ffff:127.0.0.1]/', /loopback/],
  ])('refuses %s', (url, reason) => {
    expect(() => check(url)).toThrow(reason);
    expect(() => check(url)).toThrow(HttpTargetNotAllowedError);
  });

  it('lets loopback, private and link-local through only when allowed; metadata never', () => {
    expect(() => check('http://127.0.0.1:9/', new Set(['loopback']))).not.toThrow();
    expect(() => check('http://10.1.1.1/', new Set(['private']))).not.toThrow();
    expect(() => check('http://169.254.1.1/', new Set(['link-local']))).not.toThrow();
    expect(() =>
      check('http://169.254.169.254/', new Set(['link-local', 'private', 'loopback'])),
    ).toThrow(/always refused/);
    expect(() => check('https://example.com/')).not.toThrow();
  });
});

describe('guardedLookup (the connect-time DNS check)', () => {
  /** A resolver answering `answers` for every name, the way dns.lookup with `all: true` does. */
  const resolver =
    (answers: string[]): Resolver =>
    (_host, _options, callback) =>
      callback(
        null,
        answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );

  const look = (answers: string[], all: boolean, kinds: AddressKind[] = []) =>
    new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) =>
      guardedLookup(new Set(kinds), resolver(answers))(
        'target.example',
        { all },
        (error, address, family) => resolve({ error, address, family }),
      ),
    );

  it('hands on the checked addresses, in both callback shapes net.connect uses', async () => {
    expect(await look(['93.184.216.34'], false)).toEqual({
      error: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect(await look(['93.184.216.34', '2606:2800:220:1::1'], true)).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
      family: undefined,
    });
  });

  it('refuses a name that resolves to a private address', async () => {
    const { error } = await look(['10.0.0.5'], true);
    expect(error).toBeInstanceOf(RefusedAddressError);
    expect(error?.message).toBe(
      'target.example resolved to 10.0.0.5: it is a private network address (allow with allowPrivateNetworks: true)',
    );
  });

  it('refuses the whole answer when any address in it is refused (no public-then-private rebinding)', async () => {
    expect((await look(['93.184.216.34', '169.254.169.254'], true)).error?.message).toMatch(
      /resolved to 169\.254\.169\.254: it is a cloud metadata address/,
    );
    expect((await look(['93.184.216.34', '::ffff:127.0.0.1'], false)).error).toBeInstanceOf(
      RefusedAddressError,
    );
  });

  it('lets an allowed kind through, and passes DNS errors on', async () => {
    expect(await look(['10.0.0.5'], false, ['private'])).toMatchObject({
      error: null,
      address: '10.0.0.5',
    });
    const failing: Resolver = (_h, _o, callback) =>
      callback(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), []);
    const error = await new Promise<Error | null>((resolve) =>
      guardedLookup(new Set(), failing)('x', {}, (e) => resolve(e)),
    );
    expect(error).toMatchObject({ code: 'ENOTFOUND' });
  });
});
