/** The gateway's Kafka interface: everything outside src/kafka/ imports from here, and nothing of kafkajs. */
export type * from './types.js';
export type * from './consumer-types.js';
export { createKafkaGateway, type KafkaGateway, type KafkaGatewayOptions } from './gateway.js';
export type { InstanceOffsets } from './instance-offsets.js';
