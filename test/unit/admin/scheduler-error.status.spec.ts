import { HttpException, HttpStatus } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import * as core from '../../../lib';
import * as admin from '../../../lib/integrations/admin';
import { SchedulerError } from '../../../lib';
import {
  fieldOf,
  SCHEDULER_ERROR_STATUS,
  statusOf,
} from '../../../lib/integrations/admin/scheduler-error.status';
import { toErrorBody } from '../../../lib/integrations/admin/scheduler-admin.filter';

/** Every class the core and the admin module export that derives from SchedulerError. */
const exported = [...Object.values(core), ...Object.values(admin)].filter(
  (value): value is typeof SchedulerError =>
    typeof value === 'function' &&
    value.prototype instanceof Error &&
    (value === SchedulerError || value.prototype instanceof SchedulerError),
);

/** The status each exported error answers with: what the contract (issue 13) fixes. */
const EXPECTED: Record<string, number> = {
  SchedulerError: 500,
  InvalidCronError: 400,
  InvalidTimingError: 400,
  UnknownTimeZoneError: 400,
  UnknownHandlerError: 400,
  IntervalTooShortError: 400,
  InvalidIdentifierError: 400,
  InvalidOptionsError: 400,
  AdminValidationError: 400,
  ScheduleNotFoundError: 404,
  ScheduleExistsError: 409,
  TenantQuotaExceededError: 409,
  ConcurrentChangeError: 409,
  BulkUpsertError: 409,
  DuplicateScheduleError: 409,
  StaticScheduleConflictError: 409,
  LockNotAcquiredError: 409,
  PayloadTooLargeError: 413,
  RedisUnavailableError: 503,
  ScheduleStoreUnavailableError: 503,
  ScheduleNotAppliedError: 202,
  LockLostError: 500,
  RunTimeoutError: 500,
  NonRetryableError: 500,
  UnexpectedScriptReplyError: 500,
};

/** An instance without running the constructor (each has its own arguments); enough for the table. */
const instance = (cls: typeof SchedulerError): SchedulerError =>
  Object.create(cls.prototype) as SchedulerError;

describe('the status table of scheduler errors', () => {
  it('finds every exported SchedulerError subclass (the list below is complete)', () => {
    expect(exported.map((cls) => cls.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('lists %s itself, with status %i', (name, status) => {
    const cls = exported.find((c) => c.name === name);
    expect(cls).toBeDefined();
    expect(SCHEDULER_ERROR_STATUS.get(cls as typeof SchedulerError)).toBe(status);
    expect(statusOf(instance(cls as typeof SchedulerError))).toBe(status);
  });

  it("gives an unlisted subclass its nearest listed ancestor's status", () => {
    class OwnInvalidCron extends core.InvalidCronError {}
    class OwnError extends SchedulerError {}
    class OwnNonRetryable extends core.NonRetryableError {}
    expect(statusOf(new OwnInvalidCron('x', 'bad'))).toBe(400);
    expect(statusOf(new OwnError('OWN', 'own'))).toBe(500);
    expect(statusOf(new OwnNonRetryable('no', { code: 'TARGET_REJECTED' }))).toBe(500);
  });
});

describe('the error body', () => {
  it.each(
    (
      [
        [new core.InvalidCronError('61 * * * *', 'bad minute'), 400, 'INVALID_CRON', 'cron'],
        [new core.UnknownTimeZoneError('Mars/Base'), 400, 'UNKNOWN_TIME_ZONE', 'timeZone'],
        [new core.UnknownHandlerError('nope', []), 400, 'UNKNOWN_HANDLER', 'handler'],
        [new core.PayloadTooLargeError(10, 5), 413, 'PAYLOAD_TOO_LARGE', 'payload'],
        [
          new core.IntervalTooShortError('every 1s', 1_000, 60_000),
          400,
          'INTERVAL_TOO_SHORT',
          'every',
        ],
        [
          new core.IntervalTooShortError('* * * * * *', 1_000, 60_000),
          400,
          'INTERVAL_TOO_SHORT',
          'cron',
        ],
        [new core.InvalidTimingError('at', 'unreadable'), 400, 'INVALID_TIMING', 'at'],
        [new core.InvalidTimingError('cron/every/at', 'none set'), 400, 'INVALID_TIMING', 'cron'],
        [
          new core.InvalidIdentifierError('tenantId', 'a b', 'space'),
          400,
          'INVALID_IDENTIFIER',
          'tenantId',
        ],
        [
          new admin.AdminValidationError('retry.attempts', 'expected 1+'),
          400,
          'VALIDATION_FAILED',
          'retry.attempts',
        ],
        [new admin.ScheduleNotFoundError('acme', 'x'), 404, 'SCHEDULE_NOT_FOUND', undefined],
        [new core.TenantQuotaExceededError('acme', 3), 409, 'TENANT_QUOTA_EXCEEDED', undefined],
      ] as Array<[SchedulerError, number, string, string | undefined]>
    ).map(([error, ...rest]) => [error.name, ...rest, error] as const),
  )('%s → %i %s, field %s', (_name, statusCode, code, field, error) => {
    const body = toErrorBody(error);
    expect(body).toEqual({
      statusCode,
      code,
      message: error.message,
      ...(field === undefined ? {} : { field }),
    });
    expect(fieldOf(error)).toBe(field);
  });

  it('keeps the status and code of HTTP errors, and names one when they carry none', () => {
    const own = new HttpException({ code: 'TENANT_FORBIDDEN', message: 'no' }, 403);
    expect(toErrorBody(own)).toEqual({ statusCode: 403, code: 'TENANT_FORBIDDEN', message: 'no' });
    expect(toErrorBody(new ThrottlerException())).toMatchObject({
      statusCode: 429,
      code: 'RATE_LIMITED',
    });
    expect(toErrorBody(new HttpException('gone', HttpStatus.UNAUTHORIZED))).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: 'gone',
    });
    expect(toErrorBody(new HttpException('teapot', 418))).toMatchObject({ code: 'HTTP_418' });
  });

  it('leaves other errors to the 500 path', () => {
    expect(toErrorBody(new Error('boom'))).toBeUndefined();
    expect(toErrorBody('a string')).toBeUndefined();
  });
});
