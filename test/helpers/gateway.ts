// An in-process gateway against the integration broker, and small HTTP helpers for the REST tests.
import { once } from 'node:events';
// Before kafkajs: its patches must apply as in production (also done by test/setup/kafkajs-patches.ts).
import '../../src/kafka/kafkajs-patches.js';
import kafkajs from 'kafkajs';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway, type StartOptions } from '../../src/server.js';
import { testKafkaClientEnv } from './kafka-client-choice.js';
import { kafkaClient, kafkaErrorType } from './kafka.js';
import { eventually as pollUntil } from './wait.js';

export const V2 = 'application/vnd.kafka.v2+json';
export const JSON_V2 = 'application/vnd.kafka.json.v2+json';
export const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';

export { testKafkaClientEnv } from './kafka-client-choice.js';

/** Starts a gateway on a free loopback port (AUTH_MODE=none, silent logs); `env` overrides any setting. */
export async function startTestGateway(
  env: Record<string, string> = {},
  { waitReady = true, options = {} }: { waitReady?: boolean; options?: StartOptions } = {},
): Promise<Gateway> {
  const config = loadConfig(
    {
      KAFKA_BROKERS: inject('kafkaBrokers'),
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_MODE: 'none',
      LOG_LEVEL: 'silent',
      ...testKafkaClientEnv(),
      ...env,
    },
    'prod',
  );
  const gw = await startGateway(config, options);
  if (waitReady) await ready(gw);
  return gw;
}

/** Resolves once the gateway reached Kafka (its availability tracker says up). */
export async function ready(gw: Gateway, timeoutMs = 30_000): Promise<void> {
  if (gw.kafka.ready()) return;
  await once(gw.kafka.availability, 'up', { signal: AbortSignal.timeout(timeoutMs) });
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when it is not JSON). */
  body: T;
}

export async function call<T = any>(gw: Gateway | string, path: string, init: RequestInit = {}): Promise<Reply<T>> {
  const base = typeof gw === 'string' ? gw : gw.url;
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** POST a body with a Content-Type (objects are JSON-encoded). */
export function post<T = any>(
  gw: Gateway | string,
  path: string,
  contentType: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return call<T>(gw, path, {
    method: 'POST',
    headers: { 'Content-Type': contentType, ...headers },
    body: payload as string | Uint8Array,
  });
}

export interface OffsetEntry {
  partition: number | null;
  offset: number | null;
  error_code: number | null;
  error: string | null;
}
export interface ProduceReply {
  key_schema_id: null;
  value_schema_id: null;
  offsets: OffsetEntry[];
}

/** Each partition's end offset (the next offset to be written), straight from Kafka. */
export async function endOffsets(brokers: string, topic: string): Promise<Record<number, number>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    // A partition created a moment ago may answer NOT_LEADER for a little while on a loaded broker; so may a broker
    // whose metadata still lags the topic's creation (kafkajs wraps that in a retries-exceeded error).
    let lastError: unknown;
    const attempt = async (): Promise<Record<number, number> | undefined> => {
      try {
        const res = await admin.fetchTopicOffsets(topic);
        return Object.fromEntries(res.map((p) => [p.partition, Number(p.high)]));
      } catch (e) {
        const lagging = kafkaErrorType(e) === 'UNKNOWN_TOPIC_OR_PARTITION';
        if (!(e as { retriable?: boolean }).retriable && !lagging) throw e;
        lastError = e;
        return undefined;
      }
    };
    const offsets = await pollUntil(attempt, (v) => v !== undefined, { timeoutMs: 15_000, intervalMs: 100 });
    if (offsets === undefined) throw lastError;
    return offsets;
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs's own Java-compatible default partitioner: an independent oracle for where a key goes. */
export function javaPartition(key: Buffer, numPartitions: number): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: numPartitions }, (_, i) => ({
    partitionId: i,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

/**
 * Polls `fn` until `ok` holds or `timeoutMs` passed, and returns the last value: for state Kafka makes visible
 * asynchronously (a deleted topic disappears from metadata a moment after DeleteTopics answered). See ./wait.ts.
 */
export function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  return pollUntil(fn, ok, { timeoutMs });
}

/**
 * Creates a topic straight in Kafka and waits until every partition has a leader. Unlike kafkajs's own
 * waitForLeaders (which retries only LEADER_NOT_AVAILABLE), it also waits out a broker whose metadata still
 * answers UNKNOWN_TOPIC_OR_PARTITION for the new topic, as a loaded broker does. Throws if it already exists.
 */
export async function createTopicReady(
  brokers: string,
  name: string,
  partitions = 1,
  configs: Record<string, string> = {},
): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      waitForLeaders: false,
      timeout: 30_000,
      topics: [
        {
          topic: name,
          numPartitions: partitions,
          configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
        },
      ],
    });
    if (!created) throw new Error(`topic ${name} already exists`);
    const ready = await eventually(
      async () => {
        try {
          const t = (await admin.fetchTopicMetadata({ topics: [name] })).topics[0];
          return t !== undefined && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
        } catch (e) {
          const err = e as { type?: string; cause?: { type?: string } };
          const type = err.type ?? err.cause?.type;
          if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE') return false;
          throw e;
        }
      },
      (ok) => ok,
      30_000,
    );
    if (!ready) throw new Error(`topic ${name}: no leaders after 30 s`);
  } finally {
    await admin.disconnect();
  }
}
