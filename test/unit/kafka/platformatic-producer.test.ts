// The @platformatic/kafka producer's errors reach the one classification (errors.ts) with the same meaning as
// kafkajs's: built with the library's own error classes, classified by the gateway's own classifier.
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { classifyKafkaError, explainKafkaError, protocolType } from '../../../src/kafka/errors.js';
import { kafkaJsShaped } from '../../../src/kafka/platformatic-client.js';

const classify = (e: unknown, mechanism?: string) => classifyKafkaError(kafkaJsShaped(e, mechanism));

describe('kafkaJsShaped: @platformatic/kafka errors in the classifier', () => {
  it('a refused write (MESSAGE_TOO_LARGE) is refused: nothing was written', () => {
    const k = classify(new ProtocolError('MESSAGE_TOO_LARGE'));
    expect(k).toMatchObject({ category: 'refused', refusedWrite: true, connectivity: false });
    expect(k.message).toBe('Kafka error MESSAGE_TOO_LARGE');
  });

  it('a leader change inside an aggregate keeps its Kafka name and stays an unknown outcome', () => {
    const agg = new MultipleErrors('Producing messages failed.', [
      new NetworkError('Connection closed'),
      new ProtocolError('NOT_LEADER_OR_FOLLOWER'),
    ]);
    expect(protocolType(kafkaJsShaped(agg))).toBe('NOT_LEADER_OR_FOLLOWER');
    const k = classify(agg);
    expect(k.refusedWrite).toBe(false);
    expect(k.retriable).toBe(true);
  });

  it("the metadata's unknown topic (a UserError naming it) reads as Kafka's UNKNOWN_TOPIC_OR_PARTITION", () => {
    expect(protocolType(kafkaJsShaped(new UserError('Unknown topic nope.')))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    // Any other UserError is not a Kafka answer.
    expect(protocolType(kafkaJsShaped(new UserError('/options/groupId must be string')))).toBeUndefined();
  });

  it('a plaintext client on a TLS listener (the library saw a TLS record) is explained as a closed handshake', () => {
    const e = kafkaJsShaped(new UserError('Broker requires TLS.'));
    expect(classifyKafkaError(e).connectivity).toBe(true);
    expect(explainKafkaError(e)).toMatchObject({ kind: 'closed' });
  });

  it('a refused connection is a connectivity problem with the network reason', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const e = new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: refused });
    const k = classify(e);
    expect(k).toMatchObject({ category: 'unreachable', connectivity: true, refusedWrite: false });
    expect(explainKafkaError(kafkaJsShaped(e)).kind).toBe('network');
  });

  it('a request timeout is a connectivity problem, never a refused write', () => {
    expect(classify(new TimeoutError('Request timed out', { canRetry: true }))).toMatchObject({
      connectivity: true,
      refusedWrite: false,
    });
  });

  it('a SASL failure is an authentication problem naming the mechanism', () => {
    const k = classify(new AuthenticationError('SASL authentication failed.'), 'SCRAM-SHA-512');
    expect(k.category).toBe('authentication');
    expect(k.message).toContain('SCRAM-SHA-512');
  });

  it('a SASL handshake cut off by a dropped connection or a timeout is explained as that, never as refused credentials', () => {
    for (const cause of [new NetworkError('Connection closed'), new TimeoutError('Request timed out')]) {
      const e = new AuthenticationError('Cannot find a suitable SASL mechanism.', { cause });
      const shaped = kafkaJsShaped(e, 'OAUTHBEARER');
      expect(classifyKafkaError(shaped).category).not.toBe('authentication');
      expect(classifyKafkaError(shaped).connectivity).toBe(true);
      expect(explainKafkaError(shaped).rank).toBeLessThan(2);
      expect(explainKafkaError(shaped).reason).not.toMatch(/OAuth|authentication/);
    }
  });

  it("the broker's UNSUPPORTED_SASL_MECHANISM answer to the handshake is explained as the mechanism, not the credentials", () => {
    const refused = new AuthenticationError('Cannot find a suitable SASL mechanism.', {
      cause: new MultipleErrors('Received response with error while executing API SaslHandshake(v1)', [
        new ProtocolError('UNSUPPORTED_SASL_MECHANISM'),
      ]),
    });
    expect(classify(refused, 'OAUTHBEARER').category).toBe('authentication');
    expect(explainKafkaError(kafkaJsShaped(refused, 'OAUTHBEARER'))).toMatchObject({
      kind: 'sasl',
      rank: 2,
      reason: expect.stringMatching(/does not offer this mechanism on this listener — check KAFKA_SASL_MECHANISM/),
    });
  });

  it('leaves errors that are not the library’s untouched', () => {
    const e = new Error('plain');
    expect(kafkaJsShaped(e)).toBe(e);
  });
});
