import { NonRetryableError, type RunResultCarrier, SchedulerError } from '../../index';

/**
 * The errors of HTTP targets. None of their messages holds a header value or a URL's query
 * string: a target is named by its method, origin and path.
 */

/** A payload of the 'http' handler that cannot be used as given (at upsert, before any write). */
export class InvalidHttpTargetError extends SchedulerError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super('INVALID_HTTP_TARGET', `Invalid HTTP target ${field}: ${reason}.`);
  }
}

/**
 * The target is not on the allow-list, or its address is one the options refuse (private,
 * loopback, link-local, cloud metadata). Thrown at upsert, and at run time (resolved address):
 * then the run fails at once, without retries.
 */
export class HttpTargetNotAllowedError extends NonRetryableError {
  constructor(
    readonly target: string,
    reason: string,
  ) {
    super(`HTTP target ${target} is not allowed: ${reason}.`, { code: 'HTTP_TARGET_NOT_ALLOWED' });
  }
}

/**
 * What a failed call leaves in the run history (the error's `result`, see RunResultCarrier):
 * `{ status, durationMs }` when the target answered, `{ durationMs, timeout: true }` when it
 * timed out, `{ durationMs }` after a network error.
 */
export type HttpCallFailure =
  | { status: number; durationMs: number }
  | { durationMs: number; timeout: true }
  | { durationMs: number };

/**
 * The target answered with a status other than 2xx and 5xx (3xx, 4xx): not retried. Its
 * `result` is `{ status, durationMs }`.
 */
export class HttpTargetRejectedError extends NonRetryableError {
  constructor(
    readonly target: string,
    readonly status: number,
    readonly durationMs: number,
  ) {
    super(`${target} answered HTTP ${status} after ${durationMs} ms; not retried.`, {
      code: 'HTTP_TARGET_REJECTED',
      result: { status, durationMs } satisfies HttpCallFailure,
    });
  }
}

/**
 * The call failed in a way a retry may fix: HTTP 5xx, a timeout or a network error. Retried per
 * the schedule's retry policy. `status` is 0 when no response came; `result` (kept in the run
 * history) is an HttpCallFailure.
 */
export class HttpTargetFailedError extends SchedulerError implements RunResultCarrier {
  readonly result: HttpCallFailure;

  constructor(
    readonly target: string,
    readonly status: number,
    readonly durationMs: number,
    reason: string,
    /** No response within the call's timeoutMs. */
    readonly timedOut = false,
  ) {
    super('HTTP_TARGET_FAILED', `${target} failed after ${durationMs} ms: ${reason}.`);
    if (status > 0) this.result = { status, durationMs };
    else this.result = timedOut ? { durationMs, timeout: true } : { durationMs };
  }
}

/** The tenant's circuit breaker of the host is open: the call was not made. Retried per the retry policy. */
export class HttpTargetCircuitOpenError extends SchedulerError {
  constructor(
    readonly host: string,
    readonly retryAt: Date,
  ) {
    super(
      'HTTP_TARGET_CIRCUIT_OPEN',
      `Circuit open for ${host} after repeated failures: not called; it is probed again from ` +
        `${retryAt.toISOString()}.`,
    );
  }
}
