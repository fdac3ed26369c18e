// Vitest globalSetup for the integration project: one real single-node Kafka (PLAINTEXT, free ports, own temp
// folder) shared by the test files, unless KAFKA_BROKERS points at a broker already. Tests read the address with
// `inject('kafkaBrokers')` (child processes get process.env.KAFKA_BROKERS).
// kafkajs as in production in this process too (the launcher's readiness check uses a kafkajs admin).
import './kafkajs-patches.js';
import os from 'node:os';
import type { TestProject } from 'vitest/node';
import { cleanupStale, ensureJars, startKafka } from '../../deploy/local-kafka/kafka.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated PLAINTEXT bootstrap list of the shared test broker. */
    kafkaBrokers: string;
  }
}

const log = (msg: string): void => {
  process.stderr.write(`[kafka.global] ${msg}\n`);
};

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.KAFKA_BROKERS?.trim();
  if (given) {
    log(`using KAFKA_BROKERS=${given}`);
    project.provide('kafkaBrokers', given);
    return undefined;
  }
  await ensureJars({ log });
  // Brokers of earlier runs that crashed before their teardown (only ours: recorded pids with a dead owner).
  await cleanupStale(os.tmpdir(), { log });
  const kafka = await startKafka({ log });
  process.env.KAFKA_BROKERS = kafka.bootstrap.PLAINTEXT;
  project.provide('kafkaBrokers', kafka.bootstrap.PLAINTEXT);
  return async () => {
    await kafka.stop();
    delete process.env.KAFKA_BROKERS;
  };
}
