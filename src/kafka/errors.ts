/**
 * kafkajs errors → our codes, in one table. Routes never look at kafkajs errors; they get a GatewayError or a
 * per-record code (50003 retriable, 50002 other) from here.
 */
import { GatewayError, ErrorCodes } from '../errors.js';

interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  /** KafkaJSAggregateError (e.g. admin.createTopics): the per-topic errors. */
  errors?: unknown[];
}

/** kafkajs protocol error types (Kafka error names) that map to a specific HTTP answer. */
const PROTOCOL_ERRORS: Record<string, { status: number; code: (typeof ErrorCodes)[keyof typeof ErrorCodes] }> = {
  TOPIC_ALREADY_EXISTS: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_TOPIC_EXCEPTION: { status: 422, code: ErrorCodes.INVALID_TOPIC_NAME },
  INVALID_PARTITIONS: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REPLICATION_FACTOR: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REPLICA_ASSIGNMENT: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_CONFIG: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  POLICY_VIOLATION: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REQUEST: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  UNKNOWN_TOPIC_OR_PARTITION: { status: 404, code: ErrorCodes.TOPIC_NOT_FOUND },
  TOPIC_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN },
  GROUP_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN },
  CLUSTER_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN },
  MESSAGE_TOO_LARGE: { status: 413, code: ErrorCodes.TOO_LARGE },
  RECORD_LIST_TOO_LARGE: { status: 413, code: ErrorCodes.TOO_LARGE },
};

/** Error names meaning "we could not talk to the cluster at all". */
const CONNECTIVITY = new Set([
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNonRetriableError',
  'KafkaJSSASLAuthenticationError',
  'KafkaJSLockTimeout',
]);

function chain(e: unknown): KafkaJsErrorLike[] {
  const out: KafkaJsErrorLike[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur && typeof cur === 'object'; i++) {
    const err = cur as KafkaJsErrorLike;
    out.push(err);
    cur = err.originalError ?? err.cause ?? (Array.isArray(err.errors) ? err.errors[0] : undefined);
  }
  return out;
}

export function protocolType(e: unknown): string | undefined {
  return chain(e).find((x) => typeof x.type === 'string')?.type;
}

/** True when the error says the cluster could not be reached (not that it refused something). */
export function isConnectivityError(e: unknown): boolean {
  return chain(e).some((x) => {
    if (x.name && CONNECTIVITY.has(x.name)) {
      // KafkaJSNonRetriableError wraps both; only count it when what it wraps is a connection problem.
      return (
        x.name !== 'KafkaJSNonRetriableError' ||
        chain(x.originalError ?? x.cause).some((y) => y.name && CONNECTIVITY.has(y.name))
      );
    }
    return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection timeout|Closed connection/i.test(x.message ?? '');
  });
}

export function isRetriable(e: unknown): boolean {
  return chain(e).some((x) => x.retriable === true) || isConnectivityError(e);
}

/** A short, safe description (no broker internals beyond the Kafka error name). */
export function describeKafkaError(e: unknown): string {
  const type = protocolType(e);
  const first = chain(e)[0];
  return type ? `Kafka error ${type}` : (first?.message ?? 'Kafka error').slice(0, 300);
}

/** Map an admin/metadata failure to the HTTP answer. */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const type = protocolType(e);
  const known = type ? PROTOCOL_ERRORS[type] : undefined;
  if (known) return new GatewayError(known.status, known.code, describeKafkaError(e), { cause: e });
  if (isConnectivityError(e))
    return new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, 'No Kafka broker is reachable.', {
      cause: e,
      retriable: true,
      headers: { 'Retry-After': '1' },
    });
  return isRetriable(e)
    ? new GatewayError(500, ErrorCodes.KAFKA_RETRIABLE, describeKafkaError(e), { cause: e, retriable: true })
    : new GatewayError(500, ErrorCodes.KAFKA_ERROR, describeKafkaError(e), { cause: e });
}
