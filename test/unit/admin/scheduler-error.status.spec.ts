import { ArgumentsHost, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import * as core from '../../../lib';
import * as admin from '../../../lib/integrations/admin';
import { SchedulerError } from '../../../lib';
import {
  fieldOf,
  SCHEDULER_ERROR_STATUS,
  statusOf,
} from '../../../lib/integrations/admin/scheduler-error.status';
import {
  SchedulerAdminExceptionFilter,
  toErrorBody,
} from '../../../lib/integrations/admin/scheduler-admin.filter';

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
  InvalidAdminAuthOptionsError: 500,
  InvalidApiKeyError: 500,
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

describe('the exception filter', () => {
  /** The filter with a recording reply and logger; what it answered and logged. */
  function filterOnce(exception: unknown) {
    const replies: Array<{ body: unknown; status: number }> = [];
    const adapterHost = {
      httpAdapter: {
        reply: (_response: unknown, body: unknown, status: number) =>
          replies.push({ body, status }),
      },
    } as unknown as HttpAdapterHost;
    const filter = new SchedulerAdminExceptionFilter(adapterHost);
    const logged: string[] = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    const host = { switchToHttp: () => ({ getResponse: () => ({}) }) } as unknown as ArgumentsHost;
    filter.catch(exception, host);
    jest.restoreAllMocks();
    return { replies, logged };
  }

  it('answers an unknown error with a generic 500 and logs it once', () => {
    const { replies, logged } = filterOnce(new TypeError('pool exhausted at 10.0.0.7'));
    expect(replies).toEqual([
      {
        status: 500,
        body: {
          statusCode: 500,
          code: 'INTERNAL_ERROR',
          message:
            'The scheduler admin API failed on this request; the error is in the server log.',
        },
      },
    ]);
    expect(logged).toEqual(['Admin request failed: TypeError: pool exhausted at 10.0.0.7']);
  });

  it('keeps the code of a 5xx scheduler error but not its message (it may name hosts)', () => {
    const { replies, logged } = filterOnce(
      new core.RedisUnavailableError('10.0.0.7:6379', 10_000, undefined),
    );
    expect(replies[0]).toMatchObject({ status: 503, body: { code: 'REDIS_UNAVAILABLE' } });
    expect(JSON.stringify(replies[0].body)).not.toContain('10.0.0.7');
    expect(logged).toHaveLength(1);
  });

  it('answers a 4xx without logging', () => {
    const { replies, logged } = filterOnce(new admin.ScheduleNotFoundError('acme', 'x'));
    expect(replies[0]).toMatchObject({ status: 404, body: { code: 'SCHEDULE_NOT_FOUND' } });
    expect(logged).toEqual([]);
  });
});
