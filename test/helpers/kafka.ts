// Test helpers around the real local Kafka launcher (deploy/local-kafka/kafka.mjs) and kafkajs.
// Tests use these to set up topics and to check, straight from Kafka, what the gateway wrote.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type ConsumerConfig, type IHeaders, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { ListenerName, LocalKafka } from '../../deploy/local-kafka/kafka.mjs';
import { eventually } from './wait.js';

export {
  cleanupStale,
  classpath,
  ensureJars,
  startKafka,
  USERS,
  type KafkaNodeInfo,
  type KafkaSslFiles,
  type KafkaUser,
  type ListenerName,
  type LocalKafka,
  type OAuthOptions,
  type StartKafkaOptions,
} from '../../deploy/local-kafka/kafka.mjs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export type Brokers = string | readonly string[];

/** 'a:1,b:2' or ['a:1', 'b:2'] → ['a:1', 'b:2']. */
export function brokerList(brokers: Brokers): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return list.map((b) => b.trim()).filter(Boolean);
}

let seq = 0;
/** A topic (or group) name no other test or run uses: `<prefix>-<time>-<pid>-<n>-<random>`. */
export function uniqueTopic(prefix = 'test'): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 100);
  return `${safe}-${Date.now().toString(36)}-${process.pid}-${seq++}-${randomBytes(3).toString('hex')}`;
}

/** A kafkajs client with quiet logging and short retries (override anything with `extra`). */
export function kafkaClient(brokers: Brokers, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'test-helper',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    ...extra,
    brokers: brokerList(brokers),
  });
}

export type SaslMechanismName = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/**
 * kafkajs connection settings for one of a LocalKafka's listeners: bootstrap, TLS (CA; client cert on SSL = mTLS)
 * and SASL (default PLAIN for `plain`, the SCRAM user otherwise). `servername: 'localhost'` matches the broker
 * certificate without Node's "IP address as ServerName" warning.
 */
export function clientConfigFor(
  kafka: LocalKafka,
  listener: Exclude<ListenerName, 'OAUTHBEARER'>,
  opts: { mechanism?: SaslMechanismName; username?: string; password?: string } = {},
): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const bootstrap = kafka.bootstrap[listener];
  if (!bootstrap) throw new Error(`this broker has no ${listener} listener (has ${kafka.listeners.join(', ')})`);
  const config: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> = { brokers: brokerList(bootstrap) };
  if (listener === 'SSL' || listener === 'SASL_SSL') {
    if (!kafka.ssl) throw new Error('no TLS material');
    config.ssl = {
      ca: [readFileSync(kafka.ssl.caFile, 'utf8')],
      servername: 'localhost',
      ...(listener === 'SSL'
        ? { cert: readFileSync(kafka.ssl.certFile, 'utf8'), key: readFileSync(kafka.ssl.keyFile, 'utf8') }
        : {}),
    };
  }
  if (listener === 'SASL_PLAINTEXT' || listener === 'SASL_SSL') {
    const mechanism = opts.mechanism ?? 'plain';
    const user = mechanism === 'plain' ? kafka.users.plain : kafka.users.scram;
    config.sasl = {
      mechanism,
      username: opts.username ?? user.username,
      password: opts.password ?? user.password,
    } as SASLOptions;
  }
  return config;
}

export interface CreateTopicOptions {
  /** Default: the broker's default.replication.factor (1 single node, 3 on the 3-node cluster). */
  replicationFactor?: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
  /** Extra kafkajs settings (TLS/SASL) when not using PLAINTEXT. */
  client?: Partial<KafkaConfig>;
}

/** Creates a topic and waits for its partition leaders. Throws if it already exists. */
export async function createTopic(
  brokers: Brokers,
  name: string,
  partitions = 1,
  opts: CreateTopicOptions = {},
): Promise<void> {
  const admin = kafkaClient(brokers, opts.client).admin();
  await admin.connect();
  try {
    // kafkajs's own waitForLeaders fails with "does not host this topic-partition" when a loaded broker's metadata
    // lags the controller; wait for leaders ourselves, tolerating exactly those answers.
    const created = await admin.createTopics({
      waitForLeaders: false,
      timeout: 30_000,
      topics: [
        {
          topic: name,
          numPartitions: partitions,
          replicationFactor: opts.replicationFactor ?? -1,
          configEntries: Object.entries(opts.configs ?? {}).map(([n, value]) => ({ name: n, value })),
        },
      ],
    });
    if (!created) throw new Error(`topic ${name} already exists`);
    const led = async () => {
      try {
        const t = (await admin.fetchTopicMetadata({ topics: [name] })).topics[0];
        return t !== undefined && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
      } catch (e) {
        const type = kafkaErrorType(e);
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw e;
        return false;
      }
    };
    if (!(await eventually(led, Boolean, { timeoutMs: 30_000, intervalMs: 100 })))
      throw new Error(`topic ${name}: no leaders after 30 s`);
  } finally {
    await admin.disconnect();
  }
}

/** What a fresh client hears from Kafka about a topic right now (for failure messages). */
export async function describeTopicState(brokers: Brokers, name: string): Promise<string> {
  const admin = kafkaClient(brokers).admin();
  try {
    await admin.connect();
    const t = (await admin.fetchTopicMetadata({ topics: [name] })).topics.find((x) => x.name === name);
    return t
      ? `Kafka has ${name}: leaders ${JSON.stringify(t.partitions.map((p) => p.leader))}`
      : `Kafka does not list ${name}`;
  } catch (e) {
    return `Kafka metadata for ${name}: ${kafkaErrorType(e) ?? (e as Error).message}`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The Kafka error name behind a kafkajs error, looking through its wrappers (`originalError`, `cause`). */
export function kafkaErrorType(e: unknown): string | undefined {
  let cur = e as { type?: string; originalError?: unknown; cause?: unknown } | undefined;
  for (let i = 0; i < 5 && cur; i++) {
    if (typeof cur.type === 'string') return cur.type;
    cur = (cur.originalError ?? cur.cause) as typeof cur;
  }
  return undefined;
}

/** Deletes topics (missing ones are ignored). */
export async function deleteTopics(brokers: Brokers, names: string[], client?: Partial<KafkaConfig>): Promise<void> {
  const admin = kafkaClient(brokers, client).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = names.filter((n) => existing.has(n));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** As kafkajs decodes them: a repeated header key becomes an array. */
  headers: IHeaders;
}

export interface ReadAllOptions {
  /** After reaching expectedCount, keep reading this long to catch extra (duplicate) records. Default 0. */
  settleMs?: number;
  /** Extra kafkajs settings (TLS/SASL). */
  client?: Partial<KafkaConfig>;
  /** Consumer group (default: a fresh unique one, reading from the beginning). */
  groupId?: string;
  consumer?: Partial<ConsumerConfig>;
}

/**
 * Reads a topic from the beginning with a fresh kafkajs consumer group until `expectedCount` records arrived (then
 * `settleMs` more) or `timeoutMs` passed, and returns what it read, sorted by partition and offset. It does not
 * throw on a short read: assert the length (expectedCount 0 waits the whole timeout, to check nothing was written).
 */
export async function readAll(
  brokers: Brokers,
  topic: string,
  expectedCount: number,
  timeoutMs = 30_000,
  opts: ReadAllOptions = {},
): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  const consumer = kafkaClient(brokers, opts.client).consumer({
    groupId: opts.groupId ?? uniqueTopic('readall'),
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    retry: { retries: 3 },
    ...opts.consumer,
  });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let settleTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => done(), timeoutMs);
  let crash: Error | undefined;
  consumer.on(consumer.events.CRASH, (event) => {
    // kafkajs restarts the consumer itself after retriable errors (e.g. the coordinator still loading).
    if (event.payload.restart) return;
    crash = event.payload.error;
    done();
  });
  try {
    await consumer.connect();
    // A loaded broker can answer UNKNOWN_TOPIC_OR_PARTITION for a topic that exists (seen seconds after the topic
    // was created and written to): ask again for a while before giving up, and then say what Kafka says now.
    for (const deadline = Date.now() + 15_000; ; ) {
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        break;
      } catch (e) {
        if (kafkaErrorType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
        if (Date.now() > deadline)
          throw new Error(`readAll(${topic}): ${await describeTopicState(brokers, topic)}`, { cause: e });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          key: message.key ?? null,
          value: message.value ?? null,
          headers: message.headers ?? {},
        });
        if (records.length >= expectedCount && expectedCount > 0 && !settleTimer) {
          settleTimer = setTimeout(() => done(), opts.settleMs ?? 0);
        }
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    clearTimeout(settleTimer);
    await consumer.disconnect().catch(() => {});
  }
  if (crash && records.length < expectedCount) {
    throw new Error(
      `readAll(${topic}): consumer crashed after ${records.length}/${expectedCount} records: ${crash.message}`,
    );
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Produces messages with a kafkajs producer (acks=all, no auto-create); returns per-partition results. */
export async function produce(
  brokers: Brokers,
  topic: string,
  messages: Array<{
    key?: string | Buffer | null;
    value: string | Buffer | null;
    headers?: IHeaders;
    partition?: number;
  }>,
  client?: Partial<KafkaConfig>,
) {
  const producer = kafkaClient(brokers, client).producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    return await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Kafka creates its `__consumer_offsets` topic at the first group-coordinator lookup, so a fresh broker has none
 * until some test used a consumer group: tests about internal topics call this first, to run in any order.
 */
export async function ensureConsumerOffsetsTopic(brokers: Brokers): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const there = await eventually(
      async () => {
        // Needs the group's coordinator: the lookup makes the broker create the topic.
        await admin.fetchOffsets({ groupId: 'kgw-test-offsets-bootstrap', topics: [] }).catch(() => undefined);
        return (await admin.listTopics()).includes('__consumer_offsets');
      },
      Boolean,
      { intervalMs: 200 },
    );
    if (!there) throw new Error('__consumer_offsets did not appear within 30 s');
  } finally {
    await admin.disconnect();
  }
}
