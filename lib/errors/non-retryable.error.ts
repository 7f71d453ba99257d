import type { RunResultCarrier } from '../interfaces/run-record.interface';
import { SchedulerError } from './scheduler.error';

/**
 * Thrown by a handler to say that trying again cannot help (a request the target refuses, a
 * payload that can never work): the run fails for good at once, whatever attempts its retry
 * policy has left, and is kept as a dead letter. Any other error is retried per the policy.
 * Subclasses may give their own `code`. `result` is kept as the failed run's result (see
 * RunResultCarrier).
 */
export class NonRetryableError extends SchedulerError implements RunResultCarrier {
  readonly result?: unknown;

  constructor(message: string, options?: { cause?: unknown; code?: string; result?: unknown }) {
    super(options?.code ?? 'NON_RETRYABLE', message);
    if (options && 'cause' in options) this.cause = options.cause;
    if (options?.result !== undefined) this.result = options.result;
  }
}
