import { InvalidOptionsError } from '../errors/invalid-options.error';
import { assertTimerMs } from '../time/timer-delay';
import type {
  ResolvedPolicy,
  RetryPolicy,
  SchedulePolicy,
} from '../interfaces/schedule-policy.interface';

export const DEFAULT_POLICY: ResolvedPolicy = {
  retry: { attempts: 1, backoff: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: true },
  timeoutMs: 0,
  misfire: 'runOnce',
  catchUpWindowMs: 0,
  maxCatchUp: 10,
  overlap: 'skip',
};

const MISFIRE = ['runOnce', 'skip', 'runAll'];
const OVERLAP = ['skip', 'allow', 'bufferOne'];
const BACKOFF = ['fixed', 'exponential'];

/** Throws InvalidOptionsError for any field that cannot be used; `where` names the source. */
export function validatePolicy(policy: SchedulePolicy | undefined, where: string): void {
  if (policy === undefined) return;
  if (!policy || typeof policy !== 'object')
    throw new InvalidOptionsError(where, 'it must be an object');
  const { retry } = policy;
  if (retry !== undefined) {
    if (!retry || typeof retry !== 'object')
      throw new InvalidOptionsError(`${where}.retry`, 'it must be an object');
    count(`${where}.retry.attempts`, retry.attempts, 1, 100);
    count(`${where}.retry.delayMs`, retry.delayMs, 0);
    count(`${where}.retry.maxDelayMs`, retry.maxDelayMs, 0);
    oneOf(`${where}.retry.backoff`, retry.backoff, BACKOFF);
    if (retry.jitter !== undefined && typeof retry.jitter !== 'boolean') {
      throw new InvalidOptionsError(`${where}.retry.jitter`, 'it must be true or false');
    }
  }
  // The run's timeout is a timer; retry delays and the catch-up window are only compared with times.
  if (policy.timeoutMs !== undefined) assertTimerMs(`${where}.timeoutMs`, policy.timeoutMs, 0);
  count(`${where}.catchUpWindowMs`, policy.catchUpWindowMs, 0);
  count(`${where}.maxCatchUp`, policy.maxCatchUp, 1, 10_000);
  oneOf(`${where}.misfire`, policy.misfire, MISFIRE);
  oneOf(`${where}.overlap`, policy.overlap, OVERLAP);
}

/** The schedule's own fields over the module defaults over the built-in defaults. */
export function resolvePolicy(
  own: SchedulePolicy | undefined,
  defaults: ResolvedPolicy,
): ResolvedPolicy {
  if (!own) return defaults;
  return {
    retry: { ...defaults.retry, ...definedOnly(own.retry) },
    timeoutMs: own.timeoutMs ?? defaults.timeoutMs,
    misfire: own.misfire ?? defaults.misfire,
    catchUpWindowMs: own.catchUpWindowMs ?? defaults.catchUpWindowMs,
    maxCatchUp: own.maxCatchUp ?? defaults.maxCatchUp,
    overlap: own.overlap ?? defaults.overlap,
  };
}

/** The policy fields a schedule sets, as stored in its hash ('' when it sets none). */
export function encodePolicy(policy: SchedulePolicy | undefined): string {
  if (!policy) return '';
  const own: SchedulePolicy = {};
  const retry = definedOnly(policy.retry);
  if (retry && Object.keys(retry).length > 0) own.retry = retry;
  for (const key of ['timeoutMs', 'misfire', 'catchUpWindowMs', 'maxCatchUp', 'overlap'] as const) {
    if (policy[key] !== undefined) (own as Record<string, unknown>)[key] = policy[key];
  }
  return Object.keys(own).length === 0 ? '' : JSON.stringify(own);
}

const decoded = new Map<string, SchedulePolicy>();

/** Parses a stored policy (memoised: schedules share a handful of distinct policies). */
export function decodePolicy(stored: string): SchedulePolicy | undefined {
  if (stored === '') return undefined;
  let policy = decoded.get(stored);
  if (!policy) {
    try {
      policy = JSON.parse(stored) as SchedulePolicy;
    } catch {
      policy = {};
    }
    if (decoded.size > 1_000) decoded.clear();
    decoded.set(stored, policy);
  }
  return policy;
}

/** Delay before retrying after failed attempt `attempt` (1-based). */
export function retryDelayMs(
  retry: Required<RetryPolicy>,
  attempt: number,
  random = Math.random,
): number {
  const base =
    retry.backoff === 'fixed'
      ? retry.delayMs
      : Math.min(retry.maxDelayMs, retry.delayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(retry.jitter ? base * (0.5 + random() / 2) : base);
}

function definedOnly(retry: RetryPolicy | undefined): RetryPolicy | undefined {
  if (!retry) return undefined;
  return Object.fromEntries(
    Object.entries(retry).filter(([, v]) => v !== undefined),
  ) as RetryPolicy;
}

function count(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(
      name,
      `${JSON.stringify(value)} must be an integer from ${min} to ${max}`,
    );
  }
}

function oneOf(name: string, value: unknown, allowed: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidOptionsError(
      name,
      `${JSON.stringify(value)} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    );
  }
}
