/**
 * The gateway's Kafka side, assembled once per process: one kafkajs client, one shared batching producer,
 * one admin client for metadata, and the availability tracker. Everything outside src/kafka/ uses this.
 */
// First: kafkajs must load with our O(n) grouping (see kafkajs-patches.ts).
import './kafkajs-patches.js';
import type { Kafka, Producer as KafkaJsProducer, Admin } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createKafka } from './client.js';
import { Availability } from './availability.js';
import { BatchingProducer, type BatchingProducerOptions } from './producer.js';
import { AdminMetadata } from './metadata.js';
import { renewingAdmin } from './renewing-admin.js';
import type { Metadata, Producer } from './types.js';
import type { Consumers } from './consumer-types.js';
import { createConsumers } from './consumers.js';
import { createInstanceOffsets, type InstanceOffsets } from './instance-offsets.js';

export type * from './types.js';
export type * from './consumer-types.js';
export type { InstanceOffsets } from './instance-offsets.js';
export { isLegalTopicName } from './metadata.js';
export { KeylessSpreader, partitionForKey, murmur2 } from './partitioner.js';

export interface KafkaGateway {
  readonly producer: Producer;
  readonly metadata: Metadata;
  readonly availability: Availability;
  /** WebSocket sessions' readers: group members, assign readers, shared broadcast readers. */
  readonly consumers: Consumers;
  /** HTTP consumer instances' offsets, commits and assign-mode readers. */
  readonly instanceOffsets: InstanceOffsets;
  /** True once the producer connected and the cluster answers. */
  ready(): boolean;
  /** Connect in the background; never throws (an unreachable cluster is reported through availability). */
  start(): Promise<void>;
  close(): Promise<void>;
  /** For src/kafka/ modules that need their own clients (consumers). */
  readonly client: Kafka;
}

export interface KafkaGatewayOptions {
  /** Fault-injection seam for tests (see BatchingProducerOptions.sendBatch). */
  sendBatch?: BatchingProducerOptions['sendBatch'];
  /** Told the record count of every batch sent (metrics). */
  onBatch?: BatchingProducerOptions['onBatch'];
}

/** A replaced producer is disconnected once its last calls ended, or after this long. */
const RETIRE_AFTER_MS = 60_000;

export function createKafkaGateway(config: Config, logger: Logger, options: KafkaGatewayOptions = {}): KafkaGateway {
  const log = logger.child({ component: 'kafka' });
  const client = createKafka(config, logger);
  const idempotent = config.KAFKA_PRODUCER_IDEMPOTENT;
  const producerConfig = {
    idempotent,
    // With idempotence kafkajs allows one in-flight request per broker; our batching makes up for it.
    maxInFlightRequests: idempotent ? 1 : 5,
    allowAutoTopicCreation: false,
    retry: { retries: idempotent ? 5 : 3, initialRetryTime: 100, maxRetryTime: 2000 },
  };
  let kProducer: KafkaJsProducer = watch(client.producer(producerConfig));
  /** Producers replaced after a failed send (idempotence), until kafkajs stopped retrying their last calls. */
  const retired = new Set<KafkaJsProducer>();
  const admin: Admin = renewingAdmin(
    () => client.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } }),
    log,
  );
  const metadata = new AdminMetadata(admin, config.METADATA_CACHE_MS);
  const consumers = createConsumers({ client, admin, settings: config, logger: log });
  const instanceOffsets = createInstanceOffsets({ client, admin, settings: config, logger: log });
  let producerConnected = false;
  let adminConnected = false;
  let closed = false;

  function watch(p: KafkaJsProducer): KafkaJsProducer {
    p.on(p.events.DISCONNECT, () => {
      if (p === kProducer) producerConnected = false;
    });
    return p;
  }

  /** See BatchingProducerOptions.renewProducer: a new producer id after a send failed or timed out. */
  async function renewProducer(previousSettled: Promise<void>): Promise<KafkaJsProducer> {
    if (closed) throw new Error('closed');
    const fresh = watch(client.producer(producerConfig));
    try {
      await fresh.connect(); // InitProducerId: a new producer id, sequence numbers from 0
    } catch (e) {
      await fresh.disconnect().catch(() => {});
      throw e;
    }
    const old = kProducer;
    kProducer = fresh;
    producerConnected = true;
    retired.add(old);
    log.info('new idempotent producer after a failed or timed-out send (its sequence numbers are no longer trusted)');
    // Disconnecting at once would not stop kafkajs's retries (they reconnect); wait for them, bounded.
    const bound = new Promise<void>((r) => setTimeout(r, RETIRE_AFTER_MS).unref());
    void Promise.race([previousSettled, bound])
      .then(() => old.disconnect())
      .catch(() => {})
      .finally(() => retired.delete(old));
    return fresh;
  }

  async function connectAll(): Promise<void> {
    if (!adminConnected) {
      await admin.connect();
      adminConnected = true;
    }
    if (!producerConnected) {
      await kProducer.connect();
      producerConnected = true;
    }
  }

  const availability = new Availability({
    logger: log,
    probe: async () => {
      await connectAll();
      await admin.describeCluster();
    },
    onRecover: async () => {
      metadata.invalidate();
    },
  });

  const acks =
    config.KAFKA_PRODUCER_ACKS === 'all' || config.KAFKA_PRODUCER_ACKS === '-1'
      ? -1
      : (Number(config.KAFKA_PRODUCER_ACKS) as 0 | 1);
  const producer = new BatchingProducer(kProducer, {
    lingerMs: config.KAFKA_PRODUCER_LINGER_MS,
    timeoutMs: config.PRODUCE_TIMEOUT_MS,
    acks,
    compression: config.KAFKA_PRODUCER_COMPRESSION,
    maxBatchBytes: (topic) => metadata.maxMessageBytes(topic),
    ...(idempotent ? { renewProducer } : {}),
    onConnectivityError: (e) => availability.markDown(e instanceof Error ? e.message : 'send failed'),
    ...(options.sendBatch ? { sendBatch: options.sendBatch } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });

  return {
    producer,
    metadata,
    availability,
    consumers,
    instanceOffsets,
    client,
    ready: () => availability.isUp && producerConnected,
    start: () => availability.start(),
    async close() {
      if (closed) return;
      closed = true;
      availability.close();
      await Promise.all([producer.flush(), consumers.close()]);
      await Promise.allSettled([
        kProducer.disconnect(),
        admin.disconnect(),
        ...[...retired].map((p) => p.disconnect()),
      ]);
    },
  };
}
