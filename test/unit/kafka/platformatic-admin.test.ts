// The admin client's retry pause on @platformatic/kafka (src/kafka/platformatic-admin.ts): a metadata request that
// named an unknown topic is retried at once (the gateway's own rechecks pace those), everything else after 100 ms.
import { findErrorBy, MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { adminRetryDelay } from '../../../src/kafka/platformatic-admin.js';

const delay = adminRetryDelay(findErrorBy);

describe('adminRetryDelay', () => {
  it('retries a metadata request at once when Kafka said the topic is unknown, also inside an aggregate', () => {
    const unknown = new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION');
    expect(delay({}, 'metadata', 1, 2, unknown)).toBe(0);
    expect(delay({}, 'metadata', 2, 2, new MultipleErrors('metadata failed', [unknown]))).toBe(0);
  });

  it('waits 100 ms before retrying anything else', () => {
    expect(delay({}, 'metadata', 1, 2, new ProtocolError('LEADER_NOT_AVAILABLE'))).toBe(100);
    expect(delay({}, 'metadata', 1, 2, new NetworkError('Connection closed'))).toBe(100);
    expect(delay({}, 'listOffsets', 1, 2, new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'))).toBe(100);
  });
});
