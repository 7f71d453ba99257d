/** The longest delay setTimeout takes: a longer one fires at once (after 1 ms), over and over. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A setTimeout delay for `delayMs` (rounded up, at least 0), never above `maxMs`. */
export function timerDelay(delayMs: number, maxMs = MAX_TIMER_MS): number {
  return Math.min(maxMs, MAX_TIMER_MS, Math.max(0, Math.ceil(delayMs)));
}
