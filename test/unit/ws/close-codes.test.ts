import { describe, expect, it } from 'vitest';
import { errors, GatewayError, ErrorCodes } from '../../../src/errors.js';
import { CLOSE_REASONS, CloseCodes, isInternal, toErrorFrame, WsError } from '../../../src/ws/close-codes.js';

describe('close codes and error frames', () => {
  it('every close code has a reason that fits a close frame (≤ 123 bytes)', () => {
    for (const code of Object.values(CloseCodes))
      expect(Buffer.byteLength(CLOSE_REASONS[code])).toBeLessThanOrEqual(123);
    expect(CloseCodes).toMatchObject({
      GOING_AWAY: 1001,
      PROTOCOL_VIOLATION: 4400,
      UNAUTHENTICATED: 4401,
      FORBIDDEN: 4403,
      TOO_SLOW: 4408,
    });
  });

  it('maps gateway errors to the stable WebSocket codes', () => {
    expect(toErrorFrame(errors.topicNotFound('t'), 's')).toEqual({
      type: 'error',
      id: 's',
      code: 'UNKNOWN_TOPIC',
      message: "Topic 't' not found.",
    });
    expect(toErrorFrame(errors.partitionNotFound('t', 3)).code).toBe('UNKNOWN_PARTITION');
    expect(toErrorFrame(errors.forbidden('no')).code).toBe('FORBIDDEN');
    expect(toErrorFrame(errors.kafkaUnavailable()).code).toBe('KAFKA_UNAVAILABLE');
    expect(toErrorFrame(new GatewayError(500, ErrorCodes.KAFKA_ERROR, 'x')).code).toBe('KAFKA_UNAVAILABLE');
    expect(toErrorFrame(new WsError('DUPLICATE_ID', 'dup'), 'a')).toEqual({
      type: 'error',
      id: 'a',
      code: 'DUPLICATE_ID',
      message: 'dup',
    });
  });

  it('never leaks an unexpected error', () => {
    expect(toErrorFrame(new Error('secret stack detail'))).toEqual({
      type: 'error',
      code: 'INTERNAL',
      message: 'Internal error.',
    });
  });

  it('logs as internal only errors of the gateway itself, not answers or an unreachable Kafka', () => {
    expect(isInternal(new Error('bug'))).toBe(true);
    expect(isInternal(new GatewayError(500, ErrorCodes.KAFKA_ERROR, 'x'))).toBe(true);
    expect(isInternal(errors.kafkaUnavailable())).toBe(false);
    expect(isInternal(errors.forbidden('no'))).toBe(false);
    expect(isInternal(new WsError('BAD_MESSAGE', 'x'))).toBe(false);
  });
});
