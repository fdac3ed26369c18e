/**
 * The one place where errors become HTTP responses: `{"error_code": ..., "message": ...}` (Confluent's shape),
 * never a stack trace. Routes throw; this formats.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError, ErrorCodes } from '../errors.js';
import type { Logger } from '../observability/logger.js';

export const V2_JSON = 'application/vnd.kafka.v2+json';

export function errorBody(errorCode: number, message: string) {
  return { error_code: errorCode, message };
}

export function errorResponse(c: Context, err: GatewayError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(errorBody(err.errorCode, err.message), err.status as ContentfulStatusCode);
}

export function createErrorHandler(logger: Logger): ErrorHandler {
  return function onError(err, c) {
    if (err instanceof GatewayError) {
      if (err.status >= 500)
        logger.warn(
          { err: { code: err.errorCode, message: err.message }, reqId: c.get('requestId') },
          'request failed',
        );
      return errorResponse(c, err);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      return c.json(errorBody(status, err.message || 'Request failed.'), status as ContentfulStatusCode);
    }
    logger.error({ err, reqId: c.get('requestId') }, 'unhandled error');
    return c.json(errorBody(ErrorCodes.INTERNAL, 'Internal server error.'), 500);
  };
}

export const notFound: NotFoundHandler = (c) => c.json(errorBody(ErrorCodes.NOT_FOUND, 'HTTP 404 Not Found'), 404);

export function methodNotAllowed(c: Context, allowed: string[]): Response {
  c.header('Allow', allowed.join(', '));
  return c.json(errorBody(ErrorCodes.METHOD_NOT_ALLOWED, 'HTTP 405 Method Not Allowed'), 405);
}
