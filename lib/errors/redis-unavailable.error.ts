import { SchedulerError } from './scheduler.error';

/**
 * Redis did not become ready within `connectTimeoutMs` at boot. `target` names where the module
 * connects (host:port, a socket path, sentinels or cluster nodes), never a password.
 */
export class RedisUnavailableError extends SchedulerError {
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
    lastError: string | undefined,
  ) {
    const cause = lastError ? ` (last error: ${lastError})` : '';
    super(
      'REDIS_UNAVAILABLE',
      `Redis at ${target} was not reachable within ${timeoutMs} ms${cause}. Check that Redis runs ` +
        'and that this process can reach it (host, port, TLS, password), or raise the module option connectTimeoutMs.',
    );
  }
}
