// Every HTTP route that needs Kafka refuses the same way while no broker answers: 503 50302 with Retry-After and
// the availability tracker's reason (which names TLS or credentials when those are the cause).
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { requireKafka } from '../../../src/http/kafka-reachable.js';
import type { KafkaGateway } from '../../../src/kafka/index.js';

const kafka = (isUp: boolean, refusal: string) =>
  ({ availability: { isUp, refusal } }) as unknown as Pick<KafkaGateway, 'availability'>;

describe('requireKafka', () => {
  it('passes while Kafka answers', () => {
    expect(() => requireKafka(kafka(true, 'unused'))).not.toThrow();
  });

  it("refuses with 503 50302, Retry-After and the tracker's reason while it does not", () => {
    const reason = 'The gateway cannot set up TLS with Kafka; nothing was sent.';
    let thrown: unknown;
    try {
      requireKafka(kafka(false, reason));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    const e = thrown as GatewayError;
    expect([e.status, e.errorCode, e.message]).toEqual([503, 50302, reason]);
    expect(e.headers).toMatchObject({ 'Retry-After': '1' });
  });
});
