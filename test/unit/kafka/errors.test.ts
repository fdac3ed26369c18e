// kafkajs errors → our HTTP answers and per-record codes (src/kafka/errors.ts), built from kafkajs's own error
// classes and wrapped the way kafkajs's retrier and admin client wrap them.
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { GatewayError, errors as gatewayErrors } from '../../../src/errors.js';
import {
  describeKafkaError,
  isConnectivityError,
  isRetriable,
  protocolType,
  toGatewayError,
  classifyKafkaError,
} from '../../../src/kafka/errors.js';

const {
  KafkaJSProtocolError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSRequestTimeoutError,
  KafkaJSBrokerNotFound,
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSError,
} = kafkajs as unknown as Record<
  | 'KafkaJSProtocolError'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSConnectionError'
  | 'KafkaJSConnectionClosedError'
  | 'KafkaJSRequestTimeoutError'
  | 'KafkaJSBrokerNotFound'
  | 'KafkaJSAggregateError'
  | 'KafkaJSCreateTopicError'
  | 'KafkaJSError',
  new (
    ...args: any[]
  ) => Error
>;

// kafkajs's table of Kafka protocol errors (name, code, retriable, message), as its decoders use it.
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => { type: string; code: number; retriable: boolean; message: string };
};
const CODES: Record<string, number> = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  NOT_LEADER_FOR_PARTITION: 6,
  RECORD_LIST_TOO_LARGE: 18,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  INVALID_TOPIC_EXCEPTION: 17,
  NOT_ENOUGH_REPLICAS: 19,
  INVALID_RECORD: 87,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  FENCED_INSTANCE_ID: 82,
};

const protocol = (type: string) => {
  const info = createErrorFromCode(CODES[type]!);
  expect(info.type).toBe(type); // our code table agrees with kafkajs's
  return new KafkaJSProtocolError(info);
};
/** As kafkajs's retrier rejects after bail() or a non-retriable error. */
const bailed = (e: Error) => new KafkaJSNonRetriableError(e, { cause: e });
/** As admin.createTopics fails: an aggregate of per-topic errors, bailed. */
const createTopicsFailure = (type: string) =>
  bailed(
    new KafkaJSAggregateError('Topic creation errors', [
      new KafkaJSCreateTopicError(createErrorFromCode(CODES[type]!), 't'),
    ]),
  );
const connRefused = () =>
  new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', {
    broker: '127.0.0.1:1',
    code: 'ECONNREFUSED',
  });

describe('toGatewayError: the mapping table', () => {
  // The codes are the REST contract's numbers (Confluent's error table), written out, not read from ErrorCodes.
  it.each([
    ['TOPIC_ALREADY_EXISTS', 400, 40002],
    ['INVALID_PARTITIONS', 400, 40002],
    ['INVALID_REPLICATION_FACTOR', 400, 40002],
    ['INVALID_REPLICA_ASSIGNMENT', 400, 40002],
    ['INVALID_CONFIG', 400, 40002],
    ['POLICY_VIOLATION', 400, 40002],
    ['INVALID_REQUEST', 400, 40002],
    ['INVALID_TOPIC_EXCEPTION', 422, 42206],
    ['UNKNOWN_TOPIC_OR_PARTITION', 404, 40401],
    ['TOPIC_AUTHORIZATION_FAILED', 403, 40301],
    ['GROUP_AUTHORIZATION_FAILED', 403, 40301],
    ['CLUSTER_AUTHORIZATION_FAILED', 403, 40301],
    ['MESSAGE_TOO_LARGE', 413, 413],
    ['RECORD_LIST_TOO_LARGE', 413, 413],
  ])('%s → HTTP %i, error_code %i', (type, status, code) => {
    for (const e of [protocol(type), bailed(protocol(type))]) {
      const g = toGatewayError(e);
      expect(g).toBeInstanceOf(GatewayError);
      expect([g.status, g.errorCode]).toEqual([status, code]);
      expect(g.message).toBe(`Kafka error ${type}`);
      expect(g.cause).toBe(e);
    }
  });

  // A commit Kafka refused for the group's membership (seen in a soak with members coming and going: a commit met
  // ILLEGAL_GENERATION and reached the client as 500 50002). Said like a commit whose partitions moved: 409 40903.
  it.each(['ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'])(
    '%s (group membership) → HTTP 409, error_code 40903, saying that nothing was committed',
    (type) => {
      for (const e of [protocol(type), bailed(protocol(type))]) {
        const g = toGatewayError(e);
        expect([g.status, g.errorCode]).toEqual([409, 40903]);
        expect(g.message).toMatch(new RegExp(`^Kafka error ${type}: .+; nothing was committed\\.$`));
        expect(g.cause).toBe(e);
      }
    },
  );

  it("maps kafkajs's own refusal of setOffsets in a group with members as Kafka's UNKNOWN_MEMBER_ID", () => {
    const g = toGatewayError(
      new KafkaJSNonRetriableError('The consumer group must have no running instances, current state: Stable'),
    );
    expect([g.status, g.errorCode]).toEqual([409, 40903]);
    expect(g.message).toMatch(/^Kafka error UNKNOWN_MEMBER_ID: .+; nothing was committed\.$/);
  });

  it.each(['INVALID_CONFIG', 'INVALID_REPLICATION_FACTOR', 'INVALID_PARTITIONS', 'POLICY_VIOLATION'])(
    'maps a createTopics failure with %s (an aggregate kafkajs error) to 400 40002',
    (type) => {
      const g = toGatewayError(createTopicsFailure(type));
      expect([g.status, g.errorCode]).toEqual([400, 40002]);
      expect(g.message).toContain(type);
    },
  );

  it('maps a createTopics failure with an illegal name to 422 42206', () => {
    const g = toGatewayError(createTopicsFailure('INVALID_TOPIC_EXCEPTION'));
    expect([g.status, g.errorCode]).toEqual([422, 42206]);
  });

  it.each([
    ['a connection error', () => connRefused()],
    ['a closed connection', () => new KafkaJSConnectionClosedError('Closed connection', { host: 'h', port: 1 })],
    ['a request timeout', () => new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')],
    ['no broker found', () => new KafkaJSBrokerNotFound('No brokers available')],
    [
      'retries exhausted on connection errors',
      () => new KafkaJSNumberOfRetriesExceeded(connRefused(), { retryCount: 5, retryTime: 100, cause: connRefused() }),
    ],
    ['a bailed connection error', () => bailed(connRefused())],
    [
      'a plain ECONNREFUSED from the socket',
      () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    ],
  ])('maps %s to 503 50302 with Retry-After', (_name, make) => {
    const g = toGatewayError(make());
    expect([g.status, g.errorCode]).toEqual([503, 50302]);
    expect(g.headers['Retry-After']).toBe('1');
    expect(g.retriable).toBe(true);
  });

  it('maps another retriable Kafka error to 500 50003', () => {
    const g = toGatewayError(protocol('NOT_ENOUGH_REPLICAS'));
    expect([g.status, g.errorCode]).toEqual([500, 50003]);
    expect(g.retriable).toBe(true);
  });

  it('maps another non-retriable Kafka error to 500 50002', () => {
    const g = toGatewayError(protocol('INVALID_RECORD'));
    expect([g.status, g.errorCode]).toEqual([500, 50002]);
    expect(g.retriable).toBe(false);
  });

  it('maps an unknown non-Kafka error to 500 50002 without leaking a stack', () => {
    const g = toGatewayError(new TypeError('x is not a function'));
    expect([g.status, g.errorCode]).toEqual([500, 50002]);
    expect(g.message).not.toMatch(/\n\s+at /);
  });

  it('passes a GatewayError through unchanged', () => {
    const e = gatewayErrors.topicNotFound('t');
    expect(toGatewayError(e)).toBe(e);
  });

  it('maps the plain object metadata.ts throws for an existing topic to 400 40002', () => {
    const g = toGatewayError({ type: 'TOPIC_ALREADY_EXISTS', message: "Topic 't' already exists." });
    expect([g.status, g.errorCode]).toEqual([400, 40002]);
  });
});

describe('classification', () => {
  it('finds the protocol type through kafkajs wrappers (cause and originalError)', () => {
    expect(protocolType(bailed(bailed(protocol('INVALID_CONFIG'))))).toBe('INVALID_CONFIG');
    expect(protocolType({ message: 'outer', originalError: protocol('MESSAGE_TOO_LARGE') })).toBe('MESSAGE_TOO_LARGE');
    expect(protocolType(new Error('plain'))).toBeUndefined();
    expect(protocolType(undefined)).toBeUndefined();
  });

  it('does not loop forever on a cause cycle', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    const b = { message: 'b', cause: a };
    a.cause = b;
    expect(protocolType(a)).toBeUndefined();
    expect(isConnectivityError(a)).toBe(false);
  });

  it('counts a non-retriable wrapper as connectivity only when it wraps a connection problem', () => {
    expect(isConnectivityError(bailed(connRefused()))).toBe(true);
    expect(isConnectivityError(bailed(protocol('TOPIC_AUTHORIZATION_FAILED')))).toBe(false);
    expect(isConnectivityError(new KafkaJSNonRetriableError('Invalid topics array'))).toBe(false);
  });

  it('does not count a Kafka refusal as a connectivity problem', () => {
    for (const t of ['MESSAGE_TOO_LARGE', 'TOPIC_ALREADY_EXISTS', 'NOT_LEADER_FOR_PARTITION'])
      expect(isConnectivityError(protocol(t))).toBe(false);
  });

  it('tells retriable from non-retriable as kafkajs marks them', () => {
    expect(isRetriable(protocol('NOT_LEADER_FOR_PARTITION'))).toBe(true);
    expect(isRetriable(protocol('NOT_ENOUGH_REPLICAS'))).toBe(true);
    expect(isRetriable(protocol('MESSAGE_TOO_LARGE'))).toBe(false);
    expect(isRetriable(protocol('INVALID_RECORD'))).toBe(false);
    // A retriable error whose retries ran out is still "retriable" for the client (50003).
    expect(
      isRetriable(
        new KafkaJSNumberOfRetriesExceeded(protocol('NOT_LEADER_FOR_PARTITION'), {
          retryCount: 5,
          retryTime: 1,
          cause: protocol('NOT_LEADER_FOR_PARTITION'),
        }),
      ),
    ).toBe(true);
    expect(isRetriable(connRefused())).toBe(true);
    expect(isRetriable(new KafkaJSError('generic', { retriable: false }))).toBe(false);
  });

  it('describes an error by its Kafka error name, else by a bounded message', () => {
    expect(describeKafkaError(bailed(protocol('INVALID_CONFIG')))).toBe('Kafka error INVALID_CONFIG');
    expect(describeKafkaError(new Error('x'.repeat(1000))).length).toBe(300);
    expect(describeKafkaError({})).toBe('Kafka error');
  });
});

describe('classifyKafkaError: did a failed produce write anything?', () => {
  const exhausted = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1, cause: e });

  it.each(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'TOPIC_AUTHORIZATION_FAILED'])(
    '%s: Kafka refused the records (nothing written, 50002)',
    (type) => {
      for (const e of [protocol(type), bailed(protocol(type))]) {
        const k = classifyKafkaError(e);
        expect(k.refusedWrite).toBe(true);
        expect(k.category).toBe('refused');
      }
    },
  );

  it('a send whose retries ran out, a lost connection or a timeout: unknown outcome, never "refused"', () => {
    for (const e of [
      exhausted(protocol('NOT_LEADER_FOR_PARTITION')),
      exhausted(protocol('NOT_ENOUGH_REPLICAS')),
      exhausted(connRefused()),
      connRefused(),
      new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'),
      new KafkaJSConnectionClosedError('Closed connection'),
    ]) {
      const k = classifyKafkaError(e);
      expect(k.refusedWrite).toBe(false);
      expect(k.retriable).toBe(true);
    }
  });

  it('names authentication to Kafka when SASL fails', () => {
    const e = Object.assign(
      new Error('SASL SCRAM SHA256 authentication failed: Authentication failed during authentication'),
      { name: 'KafkaJSSASLAuthenticationError' },
    );
    const k = classifyKafkaError(e);
    expect(k.category).toBe('authentication');
    expect(k.message).toMatch(/^Kafka: SASL authentication failed \(SCRAM-SHA-256\)/);
  });
});
