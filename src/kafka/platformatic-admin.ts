/**
 * The admin client on @platformatic/kafka (KAFKA_CLIENT=platformatic), in the shape of the part of kafkajs's `Admin`
 * the gateway calls (`AdminCalls` below: the metadata cache in metadata.ts, start positions in positions.ts,
 * watermarks, the HTTP consumers' committed offsets and outside commits, the availability probe). Those modules keep
 * their rules (caching, waiting for leaders, clamping, error wording) in one place for both libraries; this file only
 * translates calls, answers and errors (kafkaJsShaped: errors.ts classifies them as it does kafkajs's).
 */
import type { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import type { Admin } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { KafkaSettings } from './client.js';
import { protocolType } from './errors.js';
import {
  kafkaJsShaped,
  loadPlatformatic,
  type PlatformaticLibrary,
  platformaticConnection,
} from './platformatic-client.js';

/** The calls of kafkajs's Admin that src/kafka/ makes; nothing else of it is used. */
export type AdminCalls = Pick<
  Admin,
  | 'connect'
  | 'disconnect'
  | 'describeCluster'
  | 'listTopics'
  | 'fetchTopicMetadata'
  | 'fetchTopicOffsets'
  | 'fetchTopicOffsetsByTimestamp'
  | 'fetchOffsets'
  | 'setOffsets'
  | 'createTopics'
  | 'deleteTopics'
  | 'describeConfigs'
>;

/** kafkajs's ConfigResourceTypes.TOPIC (the only resource type the gateway describes) is Kafka's 2, as here. */
const TOPIC_RESOURCE = 2;
/** Kafka's error code UNKNOWN_TOPIC_OR_PARTITION. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * The admin client's pause before a retry: 100 ms, but none for a metadata request that named an unknown topic. The
 * library retries that answer as it retries a lost connection; the gateway looks an unknown topic up again itself
 * (metadata.ts, UNKNOWN_RECHECK_MS), so with 100 ms per retry an unknown topic's 404 took ~1 s (kafkajs: ~0.4 s).
 */
export function adminRetryDelay(findErrorBy: PlatformaticLibrary['findErrorBy']) {
  return (_client: unknown, operation: string, _attempt: number, _retries: number, error: Error): number =>
    operation === 'metadata' && findErrorBy(error, 'apiCode', UNKNOWN_TOPIC_OR_PARTITION) ? 0 : 100;
}

export function platformaticAdmin(settings: KafkaSettings, log: Logger): AdminCalls {
  const options = platformaticConnection(settings);
  const mechanism = options.sasl?.mechanism;
  let lib: PlatformaticLibrary | undefined;
  let client: PlatformaticAdmin | undefined;
  let opening: Promise<PlatformaticAdmin> | undefined;

  async function admin(): Promise<PlatformaticAdmin> {
    if (client) return client;
    opening ??= (async () => {
      lib = await loadPlatformatic();
      const a = new lib.Admin({ ...options, retries: 2, retryDelay: adminRetryDelay(lib.findErrorBy) });
      a.on(
        'client:broker:connect',
        ({ connection }: { connection: { on(e: 'error', f: (e: unknown) => void): void } }) =>
          connection.on('error', (error) => {
            socketError = { error, at: Date.now() };
          }),
      );
      client = a;
      log.debug({ client: '@platformatic/kafka' }, 'admin client created');
      return a;
    })().finally(() => (opening = undefined));
    return opening;
  }

  /**
   * The last error of a broker connection's socket, briefly. The library answers a request on a connection that
   * failed with a bare "Connection closed" and keeps the socket's error to itself (a TLS alert such as "certificate
   * required" arrives after the handshake): the probe's explanation (errors.ts) needs it.
   */
  let socketError: { error: unknown; at: number } | undefined;
  const SOCKET_ERROR_RELEVANT_MS = 10_000;

  /** Runs a call, its errors in kafkajs's shape. */
  async function call<T>(fn: (a: PlatformaticAdmin, l: PlatformaticLibrary) => Promise<T>): Promise<T> {
    const a = await admin();
    try {
      return await fn(a, lib!);
    } catch (e) {
      const shaped = kafkaJsShaped(e, mechanism);
      const recent = socketError && Date.now() - socketError.at < SOCKET_ERROR_RELEVANT_MS ? socketError : undefined;
      if (recent && typeof shaped === 'object' && shaped !== null && !('cause' in shaped))
        throw { ...shaped, cause: kafkaJsShaped(recent.error, mechanism) };
      throw shaped;
    }
  }

  /** Fresh metadata of these topics (the caller caches: metadata.ts). */
  const metadata = (topics: string[]) => call((a) => a.metadata({ topics, forceUpdate: true }));

  async function partitionsOf(topics: string[]): Promise<Map<string, number[]>> {
    const md = await metadata(topics);
    return new Map(topics.map((t) => [t, [...(md.topics.get(t)?.partitions.keys() ?? [])]]));
  }

  async function listOffsets(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const partitions = (await partitionsOf([topic])).get(topic) ?? [];
    const res = await call((a) =>
      a.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      }),
    );
    return new Map(res.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.offset] as const)));
  }

  const calls: AdminCalls = {
    async connect() {
      // Connected means the cluster answered (kafkajs's connect does the same round-trip).
      await metadata([]);
    },

    async disconnect() {
      const a = client ?? (await opening?.catch(() => undefined));
      client = undefined;
      await a?.close();
    },

    async describeCluster() {
      const md = await metadata([]);
      return {
        clusterId: md.id,
        controller: md.controllerId,
        brokers: [...md.brokers].map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port })),
      };
    },

    async listTopics() {
      return call((a) => a.listTopics({ includeInternals: true }));
    },

    async fetchTopicMetadata(req?: { topics: string[] }) {
      const topics = req?.topics ?? (await calls.listTopics());
      const md = await metadata(topics);
      // The library's metadata leaves Kafka's internal topics out (an admin may still describe them, as on kafkajs).
      const skipped = topics.filter((name) => !md.topics.get(name));
      const internal =
        skipped.length === 0
          ? new Map<string, { partitions: PartitionMetadata[] }>()
          : await call((a, l) => internalTopicsMetadata(a, l, skipped));
      return {
        topics: topics.flatMap((name) => {
          const t = md.topics.get(name) ?? internal.get(name);
          if (!t) return [];
          return [
            {
              name,
              partitions: t.partitions.map((p, partitionId) => ({
                partitionErrorCode: 0,
                partitionId,
                leader: p.leader,
                replicas: p.replicas,
                isr: p.isr,
                offlineReplicas: p.offlineReplicas,
              })),
            },
          ];
        }),
      };
    },

    async fetchTopicOffsets(topic: string) {
      await admin();
      const { EARLIEST, LATEST } = lib!.ListOffsetTimestamps;
      const [low, high] = await Promise.all([listOffsets(topic, EARLIEST), listOffsets(topic, LATEST)]);
      return [...high].map(([partition, h]) => ({
        partition,
        offset: String(h),
        high: String(h),
        low: String(low.get(partition) ?? h),
      }));
    },

    async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number) {
      await admin();
      const [at, high] = await Promise.all([
        listOffsets(topic, BigInt(timestamp ?? -1)),
        listOffsets(topic, lib!.ListOffsetTimestamps.LATEST),
      ]);
      // No record at or after the time: Kafka answers -1, kafkajs (and positions.ts) the high watermark.
      return [...high].map(([partition, h]) => {
        const o = at.get(partition);
        return { partition, offset: String(o === undefined || o < 0n ? h : o) };
      });
    },

    // kafkajs's overloads (with or without `resolveOffsets`) answer the same shape for the calls made here.
    fetchOffsets: (async (req: { groupId: string; topics?: string[] }) => {
      const topics = req.topics ?? [];
      const partitions = await partitionsOf(topics);
      const res = await call((a) =>
        a.listConsumerGroupOffsets({
          groups: [
            { groupId: req.groupId, topics: topics.map((name) => ({ name, partitionIndexes: partitions.get(name)! })) },
          ],
        }),
      );
      const committed = res.find((g) => g.groupId === req.groupId)?.topics ?? [];
      return topics.map((topic) => ({
        topic,
        partitions: (partitions.get(topic) ?? []).map((partition) => {
          const p = committed.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
          return { partition, offset: String(p?.committedOffset ?? -1n), metadata: p?.metadata ?? null };
        }),
      }));
    }) as Admin['fetchOffsets'],

    async setOffsets({ groupId, topic, partitions }) {
      await call((a) =>
        a.alterConsumerGroupOffsets({
          groupId,
          topics: [
            {
              name: topic,
              partitionOffsets: partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })),
            },
          ],
        }),
      );
    },

    async createTopics({ topics, validateOnly }) {
      const requests = topics.map((t) => ({
        name: t.topic,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: (t.configEntries ?? []).map((c) => ({ name: c.name, value: c.value })),
      }));
      try {
        await call((a, l) =>
          validateOnly
            ? validateTopics(a, l, requests, settings.KAFKA_REQUEST_TIMEOUT_MS)
            : a
                .createTopics({
                  topics: requests.map((r) => ({
                    topic: r.name,
                    partitions: r.numPartitions,
                    replicas: r.replicationFactor,
                  })),
                  configs: requests[0]?.configs ?? [],
                })
                .then(() => {}),
        );
      } catch (e) {
        // kafkajs answers false for a topic that exists (metadata.ts words the 409).
        if (protocolType(e) === 'TOPIC_ALREADY_EXISTS') return false;
        throw e;
      }
      return true;
    },

    async deleteTopics({ topics }) {
      await call((a) => a.deleteTopics({ topics }));
    },

    async describeConfigs({ resources }) {
      const res = await call((a) =>
        a.describeConfigs({
          resources: resources.map((r) => ({
            resourceType: TOPIC_RESOURCE,
            resourceName: r.name,
            configurationKeys: r.configNames ?? null,
          })),
          includeSynonyms: false,
        }),
      );
      return {
        throttleTime: 0,
        resources: res.map((r) => ({
          errorCode: 0,
          errorMessage: null as unknown as string,
          resourceType: r.resourceType as never,
          resourceName: r.resourceName,
          configEntries: r.configs.map((c) => ({
            configName: c.name,
            configValue: c.value as string,
            readOnly: c.readOnly,
            isDefault: false,
            // The same numbers as Kafka's ConfigSource; kafkajs's enum type lists fewer.
            configSource: c.configSource as never,
            isSensitive: c.isSensitive,
            configSynonyms: [],
          })),
        })),
      };
    },
  };
  return calls;
}

type CreateTopicsRequest = {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: never[];
  configs: { name: string; value: string | null }[];
};

/**
 * CreateTopics with validate_only (the v3 admin route's `validate_only`): the library's createTopics always sends
 * false, so this sends the request itself to the controller, through the library's connection and API table.
 */
function validateTopics(
  a: PlatformaticAdmin,
  l: PlatformaticLibrary,
  requests: CreateTopicsRequest[],
  timeoutMs: number,
): Promise<void> {
  type Cb<T> = (error: Error | null, value?: T) => void;
  const internal = a as unknown as Record<symbol, (...args: unknown[]) => void>;
  return new Promise<void>((resolve, reject) => {
    const fail = (e: Error | null) => {
      if (e) reject(e);
      return e !== null;
    };
    internal[l.kMetadata]!({ topics: [] }, ((e, md: { controllerId: number; brokers: Map<number, unknown> }) => {
      if (fail(e)) return;
      internal[l.kGetConnection]!(md.brokers.get(md.controllerId), ((e2, connection: unknown) => {
        if (fail(e2)) return;
        internal[l.kGetApi]!('CreateTopics', ((e3, api: (...args: unknown[]) => void) => {
          if (fail(e3)) return;
          api(connection, requests, timeoutMs, true, (e4: Error | null) => (e4 ? reject(e4) : resolve()));
        }) as Cb<(...args: unknown[]) => void>);
      }) as Cb<unknown>);
    }) as Cb<{ controllerId: number; brokers: Map<number, unknown> }>);
  });
}

interface PartitionMetadata {
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

interface MetadataResponse {
  topics: {
    name: string;
    errorCode: number;
    isInternal: boolean;
    partitions: {
      partitionIndex: number;
      leaderId: number;
      replicaNodes: number[];
      isrNodes: number[];
      offlineReplicas: number[];
    }[];
  }[];
}

/**
 * Metadata of internal topics (`__consumer_offsets`, `__transaction_state`), which the library's metadata drops from
 * its answers: the Metadata request sent through the library's bootstrap connection and API table, the answer in
 * the library's own per-partition shape (indexed by partition).
 */
function internalTopicsMetadata(
  a: PlatformaticAdmin,
  l: PlatformaticLibrary,
  topics: string[],
): Promise<Map<string, { partitions: PartitionMetadata[] }>> {
  type Cb<T> = (error: Error | null, value?: T) => void;
  const internal = a as unknown as Record<symbol, (...args: unknown[]) => void>;
  return new Promise((resolve, reject) => {
    internal[l.kGetBootstrapConnection]!(((e, connection: unknown) => {
      if (e) return reject(e);
      internal[l.kGetApi]!('Metadata', ((e2, api: (...args: unknown[]) => void) => {
        if (e2) return reject(e2);
        api(connection, topics, false, false, ((e3, res: MetadataResponse) => {
          if (e3) return reject(e3);
          const out = new Map<string, { partitions: PartitionMetadata[] }>();
          for (const t of res.topics) {
            if (t.errorCode !== 0 || !t.isInternal) continue;
            const partitions: PartitionMetadata[] = [];
            for (const p of t.partitions)
              partitions[p.partitionIndex] = {
                leader: p.leaderId,
                replicas: p.replicaNodes,
                isr: p.isrNodes,
                offlineReplicas: p.offlineReplicas,
              };
            out.set(t.name, { partitions });
          }
          resolve(out);
        }) as Cb<MetadataResponse>);
      }) as Cb<(...args: unknown[]) => void>);
    }) as Cb<unknown>);
  });
}
