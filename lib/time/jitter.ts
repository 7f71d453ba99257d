import { InvalidOptionsError } from '../errors/invalid-options.error';

/**
 * Deterministic jitter: every pod computes the same offset for the same (schedule, fire time),
 * so the due score never depends on who re-armed the schedule.
 */
export function jitterOffsetMs(
  scheduleKey: string,
  fireTimeMs: number,
  jitterMs: number,
  nextFireMs: number,
): number {
  if (jitterMs <= 0) return 0;
  // Never reach the next fire time: the offset stays strictly inside [fire, nextFire).
  const bound = Math.min(jitterMs, nextFireMs - fireTimeMs - 1);
  if (bound <= 0) return 0;
  return fnv1a(`${scheduleKey}\u0000${fireTimeMs}`) % (bound + 1);
}

/** 32-bit FNV-1a of a string's UTF-16 code units: fast, stable across processes and versions. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Throws InvalidOptionsError unless `jitterMs` is a whole number of milliseconds, ≥ 0. */
export function validateJitter(jitterMs: unknown): asserts jitterMs is number {
  if (typeof jitterMs !== 'number' || !Number.isSafeInteger(jitterMs) || jitterMs < 0) {
    throw new InvalidOptionsError(
      'jitterMs',
      `${JSON.stringify(jitterMs)} must be an integer ≥ 0 (milliseconds)`,
    );
  }
}
