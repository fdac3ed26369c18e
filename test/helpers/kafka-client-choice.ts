// Which Kafka client library the test run puts its gateways on. Its own module, free of imports: replicas.ts needs
// it and is loaded by the benchmarks too (load/scenarios/http-consumers.ts), where gateway.ts's kafkajs and vitest
// imports must not come along.

/**
 * KGW_TEST_KAFKA_CLIENT=kafkajs|platformatic runs every gateway a test starts (in-process, or a spawned replica) on
 * that library (KAFKA_CLIENT), so the same files check both without copies of themselves. Unset: the default.
 */
export function testKafkaClientEnv(): Record<string, string> {
  const client = process.env.KGW_TEST_KAFKA_CLIENT;
  return client ? { KAFKA_CLIENT: client } : {};
}
