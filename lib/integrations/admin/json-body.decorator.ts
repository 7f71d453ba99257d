import {
  createParamDecorator,
  ExecutionContext,
  HttpStatus,
  UnsupportedMediaTypeException,
} from '@nestjs/common';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * The request body, refused with 415 UNSUPPORTED_MEDIA_TYPE unless it was sent as JSON (a form
 * body would otherwise reach the parser as an object of strings). No content type: no body.
 */
export const JsonBody = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<{
    headers: Record<string, string | string[] | undefined>;
    body?: unknown;
  }>();
  const type = request.headers['content-type'];
  if (type === undefined) return undefined;
  if (typeof type === 'string' && JSON_TYPE.test(type)) return request.body;
  throw new UnsupportedMediaTypeException({
    statusCode: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Send the body as JSON, with Content-Type: application/json.',
  });
});
