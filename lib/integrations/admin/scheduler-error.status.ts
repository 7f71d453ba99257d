import {
  BulkUpsertError,
  ConcurrentChangeError,
  DuplicateScheduleError,
  IntervalTooShortError,
  InvalidCronError,
  InvalidIdentifierError,
  InvalidOptionsError,
  InvalidTimingError,
  LockLostError,
  LockNotAcquiredError,
  NonRetryableError,
  PayloadTooLargeError,
  RedisUnavailableError,
  RunTimeoutError,
  ScheduleNotAppliedError,
  ScheduleStoreUnavailableError,
  SchedulerError,
  StaticScheduleConflictError,
  TenantQuotaExceededError,
  UnexpectedScriptReplyError,
  UnknownHandlerError,
  UnknownTimeZoneError,
} from '../../index';
import {
  AdminRedisUnavailableError,
  AdminValidationError,
  ScheduleExistsError,
  ScheduleNotFoundError,
} from './admin.errors';
import { InvalidAdminAuthOptionsError, InvalidApiKeyError } from './auth';

type ErrorClass = abstract new (...args: never[]) => SchedulerError;

/**
 * The HTTP status of each SchedulerError the admin API may meet: the one table. A class not
 * listed takes its nearest listed ancestor's status (SchedulerError itself: 500).
 */
export const SCHEDULER_ERROR_STATUS: ReadonlyMap<ErrorClass, number> = new Map<ErrorClass, number>([
  [AdminValidationError, 400],
  [InvalidCronError, 400],
  [InvalidTimingError, 400],
  [UnknownTimeZoneError, 400],
  [UnknownHandlerError, 400],
  [IntervalTooShortError, 400],
  [InvalidIdentifierError, 400],
  [InvalidOptionsError, 400],
  [ScheduleNotFoundError, 404],
  [ScheduleExistsError, 409],
  [TenantQuotaExceededError, 409],
  [ConcurrentChangeError, 409],
  [BulkUpsertError, 409],
  [DuplicateScheduleError, 409],
  [StaticScheduleConflictError, 409],
  [LockNotAcquiredError, 409],
  [PayloadTooLargeError, 413],
  // Redis or the store is down: the write may be retried.
  [RedisUnavailableError, 503],
  [AdminRedisUnavailableError, 503],
  [ScheduleStoreUnavailableError, 503],
  // Saved in the store, applied to Redis by the reconciler: accepted, not failed.
  [ScheduleNotAppliedError, 202],
  // Errors of runs and locks, not of requests: they reach the API only through a defect.
  // Boot-time option errors (the admin module's own): never a request's fault.
  [InvalidAdminAuthOptionsError, 500],
  [InvalidApiKeyError, 500],
  [LockLostError, 500],
  [RunTimeoutError, 500],
  [NonRetryableError, 500],
  [UnexpectedScriptReplyError, 500],
  [SchedulerError, 500],
]);

/** The field a scheduler error is about, when it names one. */
export function fieldOf(error: SchedulerError): string | undefined {
  if (error instanceof AdminValidationError || error instanceof InvalidIdentifierError) {
    return error.field;
  }
  if (error instanceof InvalidTimingError)
    return error.field === 'cron/every/at' ? 'cron' : error.field;
  if (error instanceof InvalidCronError) return 'cron';
  if (error instanceof UnknownTimeZoneError) return 'timeZone';
  if (error instanceof UnknownHandlerError) return 'handler';
  if (error instanceof PayloadTooLargeError) return 'payload';
  // A paging option (cursor, limit) the scheduler refused; never a module option here.
  if (error instanceof InvalidOptionsError && /^[\w.]+$/.test(error.option)) return error.option;
  if (error instanceof IntervalTooShortError) {
    return error.expression.startsWith('every ') ? 'every' : 'cron';
  }
  return undefined;
}

/**
 * Errors of other integrations, by code (the admin module never imports them): what a payload
 * preparer throws at upsert is the request's fault. 'http': an unusable or refused target.
 */
const INTEGRATION_ERROR_STATUS: ReadonlyMap<string, number> = new Map([
  ['INVALID_HTTP_TARGET', 400],
  ['HTTP_TARGET_NOT_ALLOWED', 400],
]);

/** The status of `error` by the table: its class's, else its nearest listed ancestor's. */
export function statusOf(error: SchedulerError): number {
  const byCode = INTEGRATION_ERROR_STATUS.get(error.code);
  if (byCode !== undefined) return byCode;
  for (let proto: object | null = Object.getPrototypeOf(error); proto;) {
    const status = SCHEDULER_ERROR_STATUS.get(proto.constructor as ErrorClass);
    if (status !== undefined) return status;
    proto = Object.getPrototypeOf(proto);
  }
  return 500;
}
