import { InvalidOptionsError } from '../errors/invalid-options.error';

/** The longest delay setTimeout takes: a longer one fires at once (after 1 ms), over and over. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A setTimeout/setInterval delay for `delayMs` (rounded up, at least 0), never above `maxMs`.
 * Use it for the delay of every setTimeout/setInterval in lib/.
 */
export function timerDelay(delayMs: number, maxMs = MAX_TIMER_MS): number {
  return Math.min(maxMs, MAX_TIMER_MS, Math.max(0, Math.ceil(delayMs)));
}

/**
 * Throws InvalidOptionsError, naming `option` and the bound, unless `value` is an integer from
 * `min` to MAX_TIMER_MS: for durations that end up in a timer.
 */
export function assertTimerMs(option: string, value: unknown, min: number): void {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < min ||
    value > MAX_TIMER_MS
  ) {
    throw new InvalidOptionsError(
      option,
      `${JSON.stringify(value)} must be an integer from ${min} to ${MAX_TIMER_MS} ms ` +
        '(2^31 − 1, about 24.8 days: a Node.js timer cannot wait longer)',
    );
  }
}
