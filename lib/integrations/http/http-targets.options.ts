import { InvalidOptionsError } from '../../index';
import type { AddressKind } from './address-classifier';
import type { CircuitBreakerOptions } from './circuit-breaker';
import { HeaderCipher, type HttpTargetKey } from './header-cipher';
import {
  DEFAULT_COOL_DOWN_MS,
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_HTTP_TIMEOUT_MS,
} from './http-targets.constants';
import { AllowRule, parseAllowRule } from './target-policy';

/** Options of `HttpTargetsModule.forRoot()`. */
export interface HttpTargetsOptions {
  /**
   * Which targets schedules may call: `'*'` (any host), host names or IPs (`'api.example.com'`),
   * `'*.example.com'` (its subdomains), or URL prefixes (`'https://example.com/hooks/'`). The
   * network checks below apply to every entry, `'*'` included.
   */
  allow: string[];
  /** Allow 10/8, 172.16/12, 192.168/16, 100.64/10 and fc00::/7. @default false */
  allowPrivateNetworks?: boolean;
  /** Allow 127/8 and ::1 (a target on the same host, e.g. in tests). @default false */
  allowLoopback?: boolean;
  /** Allow 169.254/16 and fe80::/10 (cloud metadata addresses stay refused). @default false */
  allowLinkLocal?: boolean;
  /**
   * AES-256-GCM keys for header values at rest: the first encrypts, all decrypt. Without keys,
   * header values are stored as given (still never logged).
   */
  encryptionKeys?: HttpTargetKey[];
  /** Request timeout when a payload sets none; at most 2^31 − 1. @default 10000 */
  timeoutMs?: number;
  /** The per-host circuit breaker, or false for none. @default { failureThreshold: 5, coolDownMs: 30000 } */
  breaker?: Partial<CircuitBreakerOptions> | false;
}

export interface ResolvedHttpTargetsOptions {
  allow: AllowRule[];
  /** The address kinds allowed besides public ones. */
  addresses: ReadonlySet<AddressKind>;
  cipher: HeaderCipher | undefined;
  timeoutMs: number;
  breaker: CircuitBreakerOptions | false;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks the options at boot; every problem is an InvalidOptionsError naming the option. */
export function resolveHttpTargetsOptions(options: HttpTargetsOptions): ResolvedHttpTargetsOptions {
  if (!options || typeof options !== 'object' || !Array.isArray(options.allow)) {
    throw new InvalidOptionsError(
      'HttpTargetsModule allow',
      'pass an array of allowed targets (`["*"]` for any public host)',
    );
  }
  const allow = options.allow.map((entry) => {
    const rule = parseAllowRule(entry);
    if (typeof rule === 'string') throw new InvalidOptionsError('HttpTargetsModule allow', rule);
    return rule;
  });
  const addresses = new Set<AddressKind>();
  const flags: [keyof HttpTargetsOptions, AddressKind][] = [
    ['allowPrivateNetworks', 'private'],
    ['allowLoopback', 'loopback'],
    ['allowLinkLocal', 'link-local'],
  ];
  for (const [flag, kind] of flags) {
    const value = options[flag] ?? false;
    if (typeof value !== 'boolean')
      throw new InvalidOptionsError(`HttpTargetsModule ${flag}`, 'it must be a boolean');
    if (value) addresses.add(kind);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (!isMs(timeoutMs, 1)) {
    throw new InvalidOptionsError(
      'HttpTargetsModule timeoutMs',
      `it must be an integer from 1 to ${MAX_TIMER_MS}`,
    );
  }
  const cipher =
    options.encryptionKeys === undefined
      ? undefined
      : new HeaderCipher(
          Array.isArray(options.encryptionKeys) ? options.encryptionKeys : [],
          (reason) => new InvalidOptionsError('HttpTargetsModule encryptionKeys', reason),
        );
  return { allow, addresses, cipher, timeoutMs, breaker: resolveBreaker(options.breaker) };
}

function resolveBreaker(breaker: HttpTargetsOptions['breaker']): CircuitBreakerOptions | false {
  if (breaker === false) return false;
  const failureThreshold = breaker?.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
  const coolDownMs = breaker?.coolDownMs ?? DEFAULT_COOL_DOWN_MS;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new InvalidOptionsError(
      'HttpTargetsModule breaker.failureThreshold',
      'it must be an integer of at least 1',
    );
  }
  if (!isMs(coolDownMs, 0)) {
    throw new InvalidOptionsError(
      'HttpTargetsModule breaker.coolDownMs',
      `it must be an integer from 0 to ${MAX_TIMER_MS}`,
    );
  }
  return { failureThreshold, coolDownMs };
}

export function isMs(value: unknown, min: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= MAX_TIMER_MS;
}
