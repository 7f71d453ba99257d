import { SchedulerError } from './scheduler.error';

/**
 * Thrown by a handler to say that trying again cannot help (a request the target refuses, a
 * payload that can never work): the run fails for good at once, whatever attempts its retry
 * policy has left, and is kept as a dead letter. Any other error is retried per the policy.
 */
export class NonRetryableError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
