// Kafka's topic-name rules (Topic.validate in Kafka's clients): what the REST routes, the WebSocket frames and the
// metadata lookups all accept, and which names are Kafka's own.
import { describe, expect, it } from 'vitest';
import { isInternalTopic, isLegalTopicName } from '../../../src/core/topic-names.js';

describe('isLegalTopicName', () => {
  it.each(['orders', 'a', 'Orders.v2_eu-1', '__consumer_offsets', 'x'.repeat(249), '...'])('accepts %s', (name) => {
    expect(isLegalTopicName(name)).toBe(true);
  });

  it.each(['', '.', '..', 'x'.repeat(250), 'with space', 'slash/name', 'ümlaut', 'a:b', 'a\nb'])(
    'refuses %j',
    (name) => {
      expect(isLegalTopicName(name)).toBe(false);
    },
  );
});

describe('isInternalTopic', () => {
  it('is true for Kafka’s own double-underscore topics only', () => {
    expect(isInternalTopic('__consumer_offsets')).toBe(true);
    expect(isInternalTopic('__transaction_state')).toBe(true);
    expect(isInternalTopic('_single')).toBe(false);
    expect(isInternalTopic('orders__v2')).toBe(false);
  });
});
