/**
 * The one check of the HTTP routes that need Kafka: while no broker answers (kafka/availability.ts decides), refuse
 * with 503 50302 and `Retry-After`, saying why (TLS, credentials, or no broker reachable) and that nothing was sent.
 */
import { errors } from '../errors.js';
import type { KafkaGateway } from '../kafka/index.js';

export function requireKafka(kafka: Pick<KafkaGateway, 'availability'>): void {
  if (!kafka.availability.isUp) throw errors.kafkaUnavailable(kafka.availability.refusal);
}
