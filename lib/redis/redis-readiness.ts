import type { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { RedisUnavailableError } from '../errors/redis-unavailable.error';
import { timerDelay } from '../time/timer-delay';
import type { RedisClient } from './redis-scripts';
import { redact } from './redis-target';

export interface ReadinessWait {
  /** Give up after this long (the module's connectTimeoutMs). */
  timeoutMs: number;
  /** Log a progress line this often while waiting. */
  progressMs: number;
  /** Where the client connects, without credentials (see describeRedisTarget). */
  target: string;
  /** Passwords to scrub from the last connection error before it is shown. */
  secrets: readonly string[];
  logger: Pick<Logger, 'warn'>;
}

/**
 * Resolves once `client` is ready (connecting a lazy one now), logging a progress line every
 * `progressMs`; rejects with RedisUnavailableError after `timeoutMs`, or at once if the client
 * ends (its retry strategy gave up). Leaves the client as it is either way.
 */
export function waitUntilReady(client: RedisClient, wait: ReadinessWait): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (client.status === 'end') {
    const closed = 'the client was closed before the module started';
    return Promise.reject(new RedisUnavailableError(wait.target, wait.timeoutMs, closed));
  }
  return new Promise<void>((resolve, reject) => {
    const started = performance.now();
    let lastError: string | undefined;
    const onError = (error: Error) => (lastError = redact(error.message, wait.secrets));
    const settle = (error?: Error) => {
      clearTimeout(deadline);
      clearInterval(progress);
      client.off('error', onError);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => settle();
    const onEnd = () =>
      settle(
        new RedisUnavailableError(
          wait.target,
          wait.timeoutMs,
          `${lastError ?? 'no error reported'}; the connection was closed for good`,
        ),
      );
    const deadline = setTimeout(
      () => settle(new RedisUnavailableError(wait.target, wait.timeoutMs, lastError)),
      timerDelay(wait.timeoutMs),
    );
    const progress = setInterval(() => {
      const seconds = Math.round((performance.now() - started) / 1_000);
      wait.logger.warn(`Waiting for Redis at ${wait.target} (${seconds} s)…`);
    }, timerDelay(wait.progressMs));
    client.on('error', onError);
    client.once('ready', onReady);
    client.once('end', onEnd);
    // A lazy client (the module makes its own lazy) connects on its first command; start it now.
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}
