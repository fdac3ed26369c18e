#!/usr/bin/env node
/**
 * `npm run dev`: the gateway with a local Kafka, ready for the README's first curl.
 * - KAFKA_BROKERS unset → fetch the Kafka jars (first run), start a broker on the dev ports (PLAINTEXT 127.0.0.1:9092,
 *   plus SASL_PLAINTEXT 9094, SSL 9095, SASL_SSL 9096), create `test-topic1` (3 partitions).
 * - then start the gateway on :8080 with readable logs (GATEWAY_PROFILE=dev: AUTH_MODE=none, pretty logs, 127.0.0.1).
 * Ctrl-C stops both. Any variable set in the environment wins.
 * A second one beside the first (or a test of this script): DEV_KAFKA_PORTS=free puts the broker on free ports,
 * DEV_KAFKA_DIR gives it another folder, PORT moves the gateway (docs/local-kafka.md).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startKafka } from '../deploy/local-kafka/kafka.mjs';
import { runOnSupportedNode } from './node-runtime.mjs';

// On an end-of-life `node` (Node 20 on these machines) this re-runs itself on Node 24 from npm: docs/runtime.md.
await runOnSupportedNode(import.meta.url, 'dev');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[dev] ${msg}\n`);
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

let kafka;
let gateway;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  if (gateway && gateway.exitCode === null) {
    log('stopping the gateway...');
    gateway.kill('SIGTERM');
    await new Promise((r) => {
      gateway.once('exit', r);
      setTimeout(r, 15_000).unref();
    });
  }
  if (kafka) {
    log('stopping Kafka...');
    await kafka.stop().catch((e) => log(`stopping Kafka failed: ${e.message}`));
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function ensureTopic(brokers, topic, partitions) {
  const admin = new kafkajs.Kafka({ brokers, clientId: 'dev-setup', logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    log(created ? `created topic ${topic} (${partitions} partitions)` : `topic ${topic} already exists`);
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  const env = { ...process.env, GATEWAY_PROFILE: 'dev' };
  if (!env.KAFKA_BROKERS) {
    const listeners = (env.DEV_KAFKA_LISTENERS ?? 'PLAINTEXT,SASL_PLAINTEXT,SSL,SASL_SSL').split(',');
    const ports = env.DEV_KAFKA_PORTS ?? 'fixed';
    if (ports !== 'fixed' && ports !== 'free') throw new Error(`DEV_KAFKA_PORTS must be fixed or free, not ${ports}`);
    const dir = path.resolve(ROOT, env.DEV_KAFKA_DIR ?? '.kafka-dev');
    // The broker's folder is removed at exit: never one that holds something else.
    if (env.DEV_KAFKA_DIR && fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
      throw new Error(`DEV_KAFKA_DIR ${dir} is not empty (it is removed at exit): name a new or empty folder`);
    log(`KAFKA_BROKERS is unset: starting a local Kafka broker (${listeners.join(', ')})`);
    const t0 = Date.now();
    kafka = await startKafka({
      dir,
      ports,
      listeners,
      keepDir: false,
      log: (m) => log(`kafka: ${m}`),
    });
    log(
      `Kafka is up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${Object.entries(kafka.bootstrap)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    if (kafka.ssl) log(`TLS material for the SSL listeners: ${path.dirname(kafka.ssl.caFile)}`);
    env.KAFKA_BROKERS = kafka.bootstrap.PLAINTEXT;
    await ensureTopic([env.KAFKA_BROKERS], 'test-topic1', 3);
  }
  log('starting the gateway...');
  gateway = spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
    env,
    stdio: 'inherit',
    cwd: ROOT,
  });
  gateway.on('exit', (code, signal) => {
    if (!stopping) {
      log(`gateway exited (${signal ?? code}); stopping`);
      void stop(code ?? 1);
    }
  });
  const port = env.PORT ?? '8080';
  log(
    `try: curl -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' --data '{"records":[{"value":{"hello":"kafka"}}]}' localhost:${port}/topics/test-topic1`,
  );
}

main().catch((e) => {
  log(`failed: ${e instanceof Error ? e.message : String(e)}`);
  void stop(1);
});
