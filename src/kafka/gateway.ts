/**
 * The gateway's Kafka side, assembled once per process: one kafkajs client, one shared batching producer,
 * one admin client for metadata, the consumers and the availability tracker. The batching producer sends through
 * kafkajs or, with KAFKA_CLIENT=platformatic, through @platformatic/kafka (platformatic-producer.ts). Only the chosen
 * library is loaded: kafkajs on first use through kafkajs-library.ts, @platformatic/kafka through loadPlatformatic.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createKafka } from './client.js';
import { KAFKAJS_PATCHES, PATCHED_KAFKAJS_VERSION } from './kafkajs-patches.js';
import { Availability } from './availability.js';
import { BatchingProducer, type BatchingProducerOptions, type ProducerHandle } from './producer.js';
import { platformaticRuntimeProblem } from './platformatic-client.js';
import { platformaticProducer } from './platformatic-producer.js';
import { platformaticAdmin } from './platformatic-admin.js';
import { AdminMetadata } from './metadata.js';
import { renewingAdmin } from './renewing-admin.js';
import { renewingProducer } from './renewing-producer.js';
import type { Metadata, Producer } from './types.js';
import type { Consumers } from './consumer-types.js';
import { createConsumers } from './consumers.js';
import { createInstanceOffsets, type InstanceOffsets } from './instance-offsets.js';

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
  /**
   * The first probe of the cluster: resolves once it concluded (reachable or not, at most 10 s); never throws (an
   * unreachable cluster is reported through availability, which keeps probing).
   */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaGatewayOptions {
  /** Fault-injection seam for tests (see BatchingProducerOptions.sendBatch). */
  sendBatch?: BatchingProducerOptions['sendBatch'];
  /** Told the record count of every batch sent (metrics). */
  onBatch?: BatchingProducerOptions['onBatch'];
}

export function createKafkaGateway(config: Config, logger: Logger, options: KafkaGatewayOptions = {}): KafkaGateway {
  const log = logger.child({ component: 'kafka' });
  const onPlatformatic = config.KAFKA_CLIENT === 'platformatic';
  // The chosen library's own precondition, refused here at start rather than inside the library later.
  const unfit = onPlatformatic ? platformaticRuntimeProblem() : undefined;
  if (unfit) throw new Error(unfit);
  // The kafkajs client is built (and kafkajs loaded) only when something asks for it: on @platformatic/kafka
  // nothing does, since every part below takes that library's side.
  let kafkajsClient: Kafka | undefined;
  const kafkajsSide = () => {
    if (!kafkajsClient) {
      kafkajsClient = createKafka(config, logger);
      logger.info({ kafkajs: PATCHED_KAFKAJS_VERSION, patches: KAFKAJS_PATCHES }, 'kafkajs patches applied');
    }
    return kafkajsClient;
  };
  if (!onPlatformatic) kafkajsSide();
  const idempotent = config.KAFKA_PRODUCER_IDEMPOTENT;
  const producerSettings = { idempotent, produceTimeoutMs: config.PRODUCE_TIMEOUT_MS };
  // KAFKA_CLIENT picks the producer's library; the batching producer above it is the same for both.
  const kProducer: ProducerHandle = onPlatformatic
    ? platformaticProducer({ ...config, ...producerSettings }, log)
    : renewingProducer(kafkajsSide(), producerSettings, log);
  // On @platformatic/kafka the admin answers the calls of kafkajs's Admin that src/kafka/ makes (AdminCalls), so
  // the metadata cache, start positions and offsets code is the same for both libraries.
  const admin: Admin = onPlatformatic
    ? (platformaticAdmin(config, log) as Admin)
    : renewingAdmin(
        () => kafkajsSide().admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } }),
        log,
      );
  const metadata = new AdminMetadata(admin, config.METADATA_CACHE_MS);
  const platformatic = onPlatformatic ? { settings: config, logger: log } : undefined;
  // A getter: the consumers read `client` only on kafkajs's side (their platformatic parts never do).
  const consumerContext = {
    get client() {
      return kafkajsSide();
    },
    admin,
    settings: config,
    logger: log,
  };
  const consumers = createConsumers(consumerContext, platformatic);
  // Which library serves which part (KAFKA_CLIENT): the parts not yet on @platformatic/kafka stay on kafkajs.
  const library = (on: boolean) => (on ? '@platformatic/kafka' : 'kafkajs');
  log.info(
    {
      producer: library(onPlatformatic),
      groupConsumers: library(onPlatformatic),
      assignAndBroadcastReaders: library(onPlatformatic),
      metadataAndAdmin: library(onPlatformatic),
    },
    'kafka client libraries',
  );
  const instanceOffsets = createInstanceOffsets(consumerContext, platformatic);
  let adminConnected = false;
  let closed = false;

  async function connectAll(): Promise<void> {
    if (!adminConnected) {
      await admin.connect();
      adminConnected = true;
    }
    await kProducer.connect();
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
  const producer = new BatchingProducer(kProducer.current, {
    lingerMs: config.KAFKA_PRODUCER_LINGER_MS,
    timeoutMs: config.PRODUCE_TIMEOUT_MS,
    acks,
    compression: config.KAFKA_PRODUCER_COMPRESSION,
    maxBatchBytes: (topic) => metadata.maxMessageBytes(topic),
    leaderOf: (topic, partition) => metadata.leaderOf(topic, partition),
    // A slow or failed send: its leaders may have moved, or the cluster may be gone (the check tells).
    onLeadersSuspect: (topics) => {
      for (const t of topics) metadata.refresh(t);
      availability.check();
    },
    ...(idempotent ? { renewProducer: (settled: Promise<void>) => kProducer.renew(settled) } : {}),
    onConnectivityError: (e) => availability.suspect(e),
    ...(options.sendBatch ? { sendBatch: options.sendBatch } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });

  return {
    producer,
    metadata,
    availability,
    consumers,
    instanceOffsets,
    ready: () => availability.isUp && kProducer.connected,
    start: () => availability.start(),
    async close() {
      if (closed) return;
      closed = true;
      availability.close();
      await Promise.all([producer.flush(), consumers.close()]);
      await Promise.allSettled([kProducer.close(), admin.disconnect()]);
    },
  };
}
