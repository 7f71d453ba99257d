import { inspect } from 'node:util';

export interface WaitForOptions {
  /** Give up after this long. @default 20_000 */
  timeoutMs?: number;
  /** Pause between two attempts. @default 50 */
  intervalMs?: number;
  /** Says what was awaited, in the timeout error. @default 'condition' */
  message?: string;
}

/**
 * Polls `fn` until it returns (or resolves to) a truthy value and returns that value.
 * An attempt that throws or rejects counts as "not yet". On timeout it throws an Error naming
 * `message` and the last value or error (also set as `cause`). An attempt that never settles
 * is cut off at the deadline too.
 *
 * Uses the real clock (`Date.now`, `setTimeout`): do not call it under jest fake timers.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 20_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await withDeadline(fn, deadline);
      if (value) return value as NonNullable<T>;
      last = { value };
    } catch (error) {
      last = { error: error === TIMED_OUT ? new Error('the last attempt did not settle') : error };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const detail =
        'error' in last ? `last error: ${show(last.error)}` : `last value: ${show(last.value)}`;
      throw new Error(
        `waitFor timed out after ${timeoutMs} ms (${attempt} attempts): ${message}; ${detail}`,
        { cause: 'error' in last ? last.error : undefined },
      );
    }
    await sleep(Math.min(intervalMs, remaining));
  }
}

/** Lets time pass. Only to prove that something does NOT happen; to wait for something, use waitFor. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const TIMED_OUT = Symbol('timed out');

async function withDeadline<T>(fn: () => T | Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), Math.max(0, deadline - Date.now()));
  });
  try {
    // Promise.race subscribes to the attempt, so a late rejection is not unhandled.
    return await Promise.race([Promise.resolve().then(fn), expiry]);
  } finally {
    clearTimeout(timer);
  }
}

function show(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  return inspect(value, { depth: 3, breakLength: Infinity });
}
