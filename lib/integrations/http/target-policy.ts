import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { AddressKind, classifyAddress } from './address-classifier';
import { HttpTargetNotAllowedError } from './http-target.errors';

/** One entry of the allow-list, parsed. */
export type AllowRule =
  | { kind: 'any' }
  | { kind: 'host'; host: string }
  | { kind: 'subdomains'; suffix: string }
  | { kind: 'prefix'; origin: string; path: string };

/** Host names of cloud metadata services, refused whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/**
 * An allow-list entry: `*` (any host), a host name or IP (`api.example.com`, any port and
 * scheme), `*.example.com` (its subdomains), or a URL prefix (`https://example.com/hooks/`: same
 * scheme, host and port, and a path that starts with the prefix's path at a `/` boundary).
 * Returns a reason when the entry cannot be used.
 */
export function parseAllowRule(entry: unknown): AllowRule | string {
  if (typeof entry !== 'string' || entry.trim() === '')
    return 'each entry must be a non-empty string';
  const text = entry.trim().toLowerCase();
  if (text === '*') return { kind: 'any' };
  if (text.includes('://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return `"${entry}" is not a valid URL`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `"${entry}" must be an http or https URL`;
    }
    if (url.search || url.hash || url.username || url.password) {
      return `"${entry}" must be an origin and a path, without query, fragment or credentials`;
    }
    return { kind: 'prefix', origin: url.origin, path: url.pathname };
  }
  if (text.startsWith('*.')) {
    const host = hostOf(text.slice(2));
    return host ? { kind: 'subdomains', suffix: `.${host}` } : `"${entry}" is not a host pattern`;
  }
  const host = hostOf(text);
  return host ? { kind: 'host', host: bareHost(host) } : `"${entry}" is not a host name`;
}

/** The normalised host name of `text`, or undefined when it is not a bare host (no port, no path). */
function hostOf(text: string): string | undefined {
  if (!/^(\[[0-9a-f:.]+\]|[^:/?#@[\]\s]+)$/.test(text)) return undefined;
  try {
    return new URL(`http://${text}/`).hostname;
  } catch {
    return undefined;
  }
}

const bareHost = (host: string): string => host.replace(/^\[(.*)\]$/, '$1');

/** Whether `url` (http or https) is on the allow-list. */
export function isAllowed(url: URL, rules: readonly AllowRule[]): boolean {
  const host = bareHost(url.hostname);
  return rules.some((rule) => {
    switch (rule.kind) {
      case 'any':
        return true;
      case 'host':
        return host === rule.host;
      case 'subdomains':
        return host.endsWith(rule.suffix) && host.length > rule.suffix.length;
      case 'prefix': {
        if (url.origin !== rule.origin) return false;
        const { pathname } = url;
        return (
          pathname === rule.path ||
          pathname.startsWith(rule.path.endsWith('/') ? rule.path : `${rule.path}/`)
        );
      }
    }
  });
}

/** A URL as messages may show it: method, origin and path, never the query. */
export function describeTarget(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

/** Why an address of kind `kind` is refused, or undefined when `allowed` lets it through. */
export function addressRefusal(
  kind: AddressKind,
  allowed: ReadonlySet<AddressKind>,
): string | undefined {
  if (kind === 'public' || allowed.has(kind)) return undefined;
  switch (kind) {
    case 'metadata':
      return 'it is a cloud metadata address, which is always refused';
    case 'reserved':
      return 'it is an unspecified, multicast or reserved address, which is always refused';
    case 'loopback':
      return 'it is a loopback address (allow with allowLoopback: true)';
    case 'link-local':
      return 'it is a link-local address (allow with allowLinkLocal: true)';
    default:
      return 'it is a private network address (allow with allowPrivateNetworks: true)';
  }
}

/**
 * The checks that need no DNS: the allow-list, metadata host names and an IP-literal host's
 * network. Throws HttpTargetNotAllowedError naming the target (method, origin, path).
 */
export function checkTarget(
  method: string,
  url: URL,
  rules: readonly AllowRule[],
  allowed: ReadonlySet<AddressKind>,
): void {
  const target = describeTarget(method, url);
  if (!isAllowed(url, rules))
    throw new HttpTargetNotAllowedError(target, 'it is not on the allow-list');
  const host = bareHost(url.hostname).replace(/\.$/, '');
  if (METADATA_HOSTS.has(host)) {
    throw new HttpTargetNotAllowedError(
      target,
      'it is a cloud metadata host, which is always refused',
    );
  }
  const kind = classifyAddress(host);
  const refusal = kind === undefined ? undefined : addressRefusal(kind, allowed);
  if (refusal) throw new HttpTargetNotAllowedError(target, `${host}: ${refusal}`);
}

/** dns.lookup with `all: true`: every address of a name. */
export type Resolver = (
  hostname: string,
  options: { family: 0 | 4 | 6; hints?: number; all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** An address refused at connect time, carried to the handler through the fetch error's cause. */
export class RefusedAddressError extends Error {
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${hostname} resolved to ${address}: ${reason}`);
  }
}

/**
 * A `lookup` for net.connect / tls.connect that resolves the name, refuses the connection if any
 * address it resolves to is refused, and hands on only the checked addresses, so the socket
 * connects to what was checked (no DNS rebinding between check and connect).
 */
export function guardedLookup(allowed: ReadonlySet<AddressKind>, resolve: Resolver = dnsLookup) {
  return (
    hostname: string,
    options: { family?: number | string; all?: boolean; hints?: number },
    callback: LookupCallback,
  ): void => {
    resolve(
      hostname,
      { family: toFamily(options.family), hints: options.hints, all: true },
      (error, addresses) => {
        if (error) return callback(error, []);
        for (const { address } of addresses) {
          const kind = classifyAddress(address) ?? 'reserved';
          const reason = addressRefusal(kind, allowed);
          if (reason) return callback(new RefusedAddressError(hostname, address, reason), []);
        }
        if (addresses.length === 0) {
          return callback(
            Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
            [],
          );
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      },
    );
  };
}

function toFamily(family: number | string | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}
