import { SchedulerError } from './scheduler.error';

/**
 * Thrown by a handler to say that trying again cannot help (a request the target refuses, a
 * payload that can never work): the run fails for good at once, whatever attempts its retry
 * policy has left, and is kept as a dead letter. Any other error is retried per the policy.
 * Subclasses may give their own `code`.
 */
export class NonRetryableError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'NON_RETRYABLE', message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
