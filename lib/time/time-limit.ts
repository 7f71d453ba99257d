import { timerDelay } from './timer-delay';

/**
 * Waits for `work` for `limitMs` at most (an unref'd timer, cleared when it settles): 'done',
 * 'timeout', or the error it rejected with. For waits that must not hold up a shutdown while
 * Redis does not answer.
 */
export async function withTimeLimit(
  work: Promise<unknown>,
  limitMs: number,
): Promise<'done' | 'timeout' | Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timerDelay(limitMs));
    timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
