/**
 * Errors are values with a stable code. Anything thrown as a GatewayError becomes
 * `{"error_code": ..., "message": ...}` over HTTP (src/http/errors.ts) or an error frame / close code over
 * WebSocket, in one place each. Codes follow Confluent REST Proxy (docs/rest-api.md's error table).
 */
export const ErrorCodes = {
  BAD_REQUEST: 400,
  /** Kafka refused an admin request (the topic exists, bad partitions/replication/config, a policy): 400. */
  KAFKA_ADMIN_REFUSED: 40002,
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
  NOT_FOUND: 404,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  CONSUMER_INSTANCE_NOT_FOUND: 40403,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  /** GET records with an Accept naming another embedded format than the consumer instance's. */
  CONSUMER_FORMAT_MISMATCH: 40601,
  REQUEST_TIMEOUT: 408,
  CONSUMER_EXISTS: 40902,
  CONSUMER_ILLEGAL_STATE: 40903,
  TOO_LARGE: 413,
  REQUEST_HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  SCHEMA_NOT_FOUND: 42201,
  INVALID_SCHEMA: 42202,
  INVALID_CONSUMER_CONFIG: 42204,
  INVALID_TOPIC_NAME: 42206,
  /** v3 `records:batch`: empty, too many entries, ids not distinct or not valid. */
  BATCH_INVALID: 42208,
  RATE_LIMITED: 429,
  KAFKA_THROTTLED: 42901,
  INTERNAL: 500,
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE: 50003,
  OVERLOADED: 50301,
  KAFKA_UNAVAILABLE: 50302,
  JWKS_UNAVAILABLE: 50303,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface GatewayErrorOptions {
  cause?: unknown;
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  retriable?: boolean;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly headers: Record<string, string>;
  readonly retriable: boolean;

  constructor(
    readonly status: number,
    readonly errorCode: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options.headers ?? {};
    this.retriable = options.retriable ?? false;
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;

/** Shorthands for the errors raised most often, so call sites read as the table does. */
export const errors = {
  badRequest: (message: string) => new GatewayError(400, ErrorCodes.BAD_REQUEST, message),
  unprocessable: (message: string, code: ErrorCode = ErrorCodes.UNPROCESSABLE) => new GatewayError(422, code, message),
  topicNotFound: (topic: string) =>
    new GatewayError(404, ErrorCodes.TOPIC_NOT_FOUND, `Topic '${truncate(topic)}' not found.`),
  partitionNotFound: (topic: string, partition: number | string) =>
    new GatewayError(
      404,
      ErrorCodes.PARTITION_NOT_FOUND,
      `Partition ${truncate(String(partition), 20)} of topic '${truncate(topic)}' not found.`,
    ),
  tooLarge: (message: string) => new GatewayError(413, ErrorCodes.TOO_LARGE, message),
  unsupportedMediaType: (message: string) => new GatewayError(415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, message),
  notAcceptable: (message: string) => new GatewayError(406, ErrorCodes.NOT_ACCEPTABLE, message),
  kafkaUnavailable: (message = 'No Kafka broker is reachable; nothing was sent.') =>
    new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, message, { retriable: true, headers: { 'Retry-After': '1' } }),
  overloaded: (message: string) =>
    new GatewayError(503, ErrorCodes.OVERLOADED, message, { retriable: true, headers: { 'Retry-After': '1' } }),
  forbidden: (message: string) => new GatewayError(403, ErrorCodes.FORBIDDEN, message),
  unauthorized: (message: string) =>
    new GatewayError(401, ErrorCodes.UNAUTHORIZED, message, {
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    }),
};

/** Keep user-supplied names in messages short (they may be 10 KB of junk). */
export function truncate(s: string, max = 255): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
