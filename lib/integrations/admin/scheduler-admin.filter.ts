import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SchedulerError } from '../../index';
import { fieldOf, statusOf } from './scheduler-error.status';

/** The body of every error the admin API answers. */
export interface AdminErrorBody {
  statusCode: number;
  code: string;
  message: string;
  field?: string;
}

/** Codes of HTTP errors that carry none of their own (Nest's, the throttler's, the guards'). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** What to answer for `exception`; undefined for one that is not ours nor an HttpException. */
export function toErrorBody(exception: unknown): AdminErrorBody | undefined {
  if (exception instanceof SchedulerError) {
    const field = fieldOf(exception);
    const body = {
      statusCode: statusOf(exception),
      code: exception.code,
      message: exception.message,
    };
    return field === undefined ? body : { ...body, field };
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const given = exception.getResponse();
    const own =
      typeof given === 'object' && given !== null ? (given as Partial<AdminErrorBody>) : {};
    const body: AdminErrorBody = {
      statusCode,
      code:
        typeof own.code === 'string'
          ? own.code
          : (CODE_OF_STATUS[statusCode] ?? `HTTP_${statusCode}`),
      message: typeof own.message === 'string' ? own.message : exception.message,
    };
    return typeof own.field === 'string' ? { ...body, field: own.field } : body;
  }
  return undefined;
}

/**
 * The admin routes' one exception filter: scheduler errors get their status from the table in
 * scheduler-error.status.ts and their own `code`; HTTP errors (guards, throttling) keep theirs;
 * anything else is a 500 with a generic message, logged once here.
 */
@Catch()
export class SchedulerAdminExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('SchedulerAdmin');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    let body = toErrorBody(exception);
    if (body === undefined || body.statusCode >= 500) {
      const error = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.error(`Admin request failed: ${error.name}: ${error.message}`, error.stack);
      body = {
        statusCode: body?.statusCode ?? 500,
        code: body?.code ?? 'INTERNAL_ERROR',
        message:
          body?.statusCode === 503
            ? 'The scheduler cannot reach Redis or its store right now; retry later.'
            : 'The scheduler admin API failed on this request; the error is in the server log.',
      };
    }
    const response = host.switchToHttp().getResponse<unknown>();
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }
}
