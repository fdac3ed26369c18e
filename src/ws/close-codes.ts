/**
 * The one place where WebSocket outcomes are decided: the close-code table (docs/websocket.md) as data, and the
 * mapping of errors to `error` frames. Subscriptions and the connection throw or report; this formats.
 */
import { ErrorCodes, GatewayError, isGatewayError } from '../errors.js';
import type { ErrorFrame, WsErrorCode } from './protocol.js';

export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  PROTOCOL_VIOLATION: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  TOO_SLOW: 4408,
  RATE_LIMITED: 4429,
} as const;

export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/** Close reasons sent with each code (≤ 123 bytes; clients should branch on the code, not the text). */
export const CLOSE_REASONS: Readonly<Record<CloseCode, string>> = {
  1000: 'normal close',
  1001: 'gateway shutting down',
  1009: 'frame too large',
  1011: 'internal error',
  4400: 'too many bad frames',
  4401: 'token expired or invalid',
  4403: 'forbidden',
  4408: 'too slow: send buffer over its bound',
  4429: 'rate limited',
};

/** Error codes that count as the client breaking the protocol (toward 4400); the others are answers. */
export const PROTOCOL_VIOLATIONS: ReadonlySet<WsErrorCode> = new Set(['BAD_MESSAGE']);

/** An error a subscription raises for the client to see, with a stable code. */
export class WsError extends Error {
  override readonly name = 'WsError';
  constructor(
    readonly code: WsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Our gateway error codes (Confluent's) → WebSocket error codes. */
const FROM_GATEWAY: ReadonlyMap<number, WsErrorCode> = new Map<number, WsErrorCode>([
  [ErrorCodes.BAD_REQUEST, 'BAD_MESSAGE'],
  [ErrorCodes.UNPROCESSABLE, 'BAD_MESSAGE'],
  [ErrorCodes.INVALID_TOPIC_NAME, 'BAD_MESSAGE'],
  [ErrorCodes.TOPIC_NOT_FOUND, 'UNKNOWN_TOPIC'],
  [ErrorCodes.PARTITION_NOT_FOUND, 'UNKNOWN_PARTITION'],
  [ErrorCodes.FORBIDDEN, 'FORBIDDEN'],
  [ErrorCodes.UNAUTHORIZED, 'FORBIDDEN'],
  [ErrorCodes.KAFKA_UNAVAILABLE, 'KAFKA_UNAVAILABLE'],
  [ErrorCodes.KAFKA_RETRIABLE, 'KAFKA_UNAVAILABLE'],
  [ErrorCodes.OVERLOADED, 'KAFKA_UNAVAILABLE'],
]);

/** Any error → the `error` frame the client sees (internal details stay in the log). */
export function toErrorFrame(e: unknown, id?: string): ErrorFrame {
  let code: WsErrorCode = 'INTERNAL';
  let message = 'Internal error.';
  if (e instanceof WsError) {
    code = e.code;
    message = e.message;
  } else if (isGatewayError(e)) {
    code = FROM_GATEWAY.get(e.errorCode) ?? (e.status >= 500 ? 'KAFKA_UNAVAILABLE' : 'INTERNAL');
    message = code === 'INTERNAL' ? 'Internal error.' : e.message;
  }
  return { type: 'error', ...(id === undefined ? {} : { id }), code, message };
}

/**
 * Errors worth an ERROR log line (ours), as opposed to answers to the client's own request. Kafka being
 * unreachable is not ours either: the availability tracker logs it once, not once per frame.
 */
export function isInternal(e: unknown): boolean {
  if (e instanceof WsError) return false;
  if (e instanceof GatewayError) return e.status >= 500 && e.errorCode !== ErrorCodes.KAFKA_UNAVAILABLE;
  return true;
}
