/**
 * Cluster and topic metadata through the kafkajs admin client, cached for METADATA_CACHE_MS. Writes through
 * the gateway (create/delete) invalidate the cache. A topic Kafka calls unknown is looked up again, twice, within
 * about 0.4 s before it is reported missing: brokers learn of a new topic one by one (kafkajs asks a random one), so
 * a topic just made through another replica or client may not be known yet to the broker asked. Misses are never
 * cached.
 */
import type { Admin, ConfigResourceTypes } from 'kafkajs';
import type {
  ClusterInfo,
  CreateTopicRequest,
  Metadata,
  PartitionOffsets,
  TopicDescription,
  TopicInfo,
} from './types.js';
import { isConnectivityError, isRetriable, protocolType, toGatewayError } from './errors.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import { isInternalTopic, isLegalTopicName } from '../core/topic-names.js';

/**
 * Kafka's resource type of a topic in DescribeConfigs (kafkajs's ConfigResourceTypes.TOPIC), written out: this cache
 * serves both client libraries and must not load kafkajs (kafkajs-library.ts).
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** kafkajs client-bug retries for offset lookups (see offsets()). */
/** Waits between tries of an admin call that hit a client race or a transient Kafka answer (about 1.5 s in all). */
const RETRY_DELAYS_MS = [50, 100, 200, 400, 800];

/**
 * kafkajs 2.2.4's admin calls race with its own concurrent metadata refreshes, most often while a topic is being
 * created or deleted: fetchTopicOffsets throws "Cannot destructure property 'partitions' of 'low.pop(...)'" and
 * fetchTopicMetadata "Cannot read properties of null (reading 'topicMetadata')" (both seen under schemathesis). A
 * TypeError is a client bug, not an answer from Kafka: the call is tried again, and a retry usually gets Kafka's
 * real answer (often "unknown topic", a 404). With `transientToo`, Kafka's own retriable answers (a partition
 * whose leader is being elected right after the topic was created) are tried again the same way; connection
 * failures are not (the availability tracker answers those).
 */
async function retryClientRace<T>(call: () => Promise<T>, transientToo = false): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const again = e instanceof TypeError || (transientToo && isRetriable(e) && !isConnectivityError(e));
      if (!again || attempt >= RETRY_DELAYS_MS.length) throw e;
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
    }
  }
}

/** A client race that persisted through every retry: retriable, never a bare 500 with kafkajs's message. */
function clientRaceError(what: string, cause: unknown): GatewayError {
  return new GatewayError(500, ErrorCodes.KAFKA_RETRIABLE, `Could not read ${what}; retry.`, {
    cause,
    retriable: true,
  });
}

/** Pauses before the lookups that follow an "unknown topic" answer. */
const UNKNOWN_RECHECK_MS = [100, 300];

/** How long a request waits for the refresh of an expired topic entry before the last known one answers. */
const STALE_AFTER_MS = 500;

/** Kafka's own default for max.message.bytes, used when the topic config cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

interface CachedTopic {
  info: TopicInfo;
  maxMessageBytes: number;
  expires: number;
}

export class AdminMetadata implements Metadata {
  private readonly cache = new Map<string, CachedTopic>();
  private readonly loading = new Map<string, Promise<CachedTopic | undefined>>();
  private clusterCache: { value: ClusterInfo; expires: number } | undefined;
  /** Topics deleted through the gateway: Kafka may still list them for a moment, so lookups are not cached. */
  private readonly deletedAt = new Map<string, number>();

  constructor(
    private readonly admin: Admin,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
    private readonly recheckMs: readonly number[] = UNKNOWN_RECHECK_MS,
    private readonly staleAfterMs: number = STALE_AFTER_MS,
  ) {}

  invalidate(topic?: string): void {
    if (topic === undefined) this.cache.clear();
    else this.cache.delete(topic);
  }

  async topic(name: string) {
    const t = await this.cached(name);
    return t && { partitions: t.info.partitions.length, maxMessageBytes: t.maxMessageBytes };
  }

  /** A partition's leader as last looked up (for grouping sends per leader; no I/O). */
  leaderOf(topic: string, partition: number): number | undefined {
    const p = this.cache.get(topic)?.info.partitions[partition];
    return p && p.partition === partition && p.leader >= 0 ? p.leader : undefined;
  }

  /** Looks a topic up again in the background, keeping the cached entry meanwhile (its leaders may have moved). */
  refresh(name: string): void {
    if (!this.cache.has(name) || this.loading.has(name)) return;
    const p = this.load(name)
      .catch(() => undefined)
      .finally(() => this.loading.delete(name));
    this.loading.set(name, p);
  }

  /** The last known max.message.bytes of a topic (for batching; no I/O). */
  maxMessageBytes(name: string): number {
    return this.cache.get(name)?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  async topicInfo(name: string): Promise<TopicInfo | undefined> {
    return (await this.cached(name))?.info;
  }

  private async cached(name: string): Promise<CachedTopic | undefined> {
    if (!isLegalTopicName(name)) return undefined;
    const hit = this.cache.get(name);
    if (hit && hit.expires > this.now()) return hit;
    let p = this.loading.get(name);
    if (!p) {
      p = this.load(name).finally(() => this.loading.delete(name));
      this.loading.set(name, p);
    }
    if (!hit) return p;
    // An expired entry is looked up again, but a broker that does not answer (stopped, overloaded) must not hold
    // every request to the topic for kafkajs's request timeout: past STALE_AFTER_MS the last known entry answers.
    let timer: NodeJS.Timeout | undefined;
    const stale = new Promise<CachedTopic>((resolve) => {
      timer = setTimeout(() => resolve(hit), this.staleAfterMs);
    });
    return Promise.race([p.catch(() => hit), stale]).finally(() => clearTimeout(timer));
  }

  private async load(name: string): Promise<CachedTopic | undefined> {
    let info = await this.fetchInfo(name);
    for (let i = 0; !info && i < this.recheckMs.length; i++) {
      await new Promise((r) => setTimeout(r, this.recheckMs[i]));
      info = await this.fetchInfo(name);
    }
    if (!info) {
      this.cache.delete(name);
      return undefined;
    }
    let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
    try {
      const configs = await this.describeConfigs(name, ['max.message.bytes']);
      const v = Number(configs['max.message.bytes']);
      if (Number.isSafeInteger(v) && v > 0) maxMessageBytes = v;
    } catch {
      // Keep Kafka's default; the broker still enforces its own limit.
    }
    const entry = { info, maxMessageBytes, expires: this.now() + this.cacheMs };
    const deleted = this.deletedAt.get(name);
    if (deleted === undefined || this.now() - deleted > this.cacheMs) {
      this.deletedAt.delete(name);
      this.cache.set(name, entry);
    }
    return entry;
  }

  /** One metadata lookup: the topic, or undefined when Kafka says it does not know it. */
  private async fetchInfo(name: string): Promise<TopicInfo | undefined> {
    try {
      const md = await retryClientRace(() => this.admin.fetchTopicMetadata({ topics: [name] }));
      const t = md.topics.find((x) => x.name === name);
      return t && toTopicInfo(t);
    } catch (e) {
      if (protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
      throw e instanceof TypeError ? clientRaceError("the topic's metadata", e) : toGatewayError(e);
    }
  }

  private async describeConfigs(name: string, keys?: string[]): Promise<Record<string, string | null>> {
    const res = await this.admin.describeConfigs({
      resources: [{ type: TOPIC_RESOURCE, name, ...(keys ? { configNames: keys } : {}) }],
      includeSynonyms: false,
    });
    const out: Record<string, string | null> = {};
    for (const e of res.resources[0]?.configEntries ?? []) out[e.configName] = e.isSensitive ? null : e.configValue;
    return out;
  }

  async listTopics(): Promise<string[]> {
    try {
      const names = await this.admin.listTopics();
      return names.filter((n) => !isInternalTopic(n)).sort();
    } catch (e) {
      throw toGatewayError(e);
    }
  }

  async listTopicInfos(): Promise<TopicInfo[]> {
    try {
      const md = await this.admin.fetchTopicMetadata();
      return md.topics.map(toTopicInfo).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e) {
      throw toGatewayError(e);
    }
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const t = await this.cached(name);
    if (!t) return undefined;
    try {
      return { ...t.info, configs: await this.describeConfigs(name) };
    } catch (e) {
      if (protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
      throw toGatewayError(e);
    }
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    try {
      const res = await retryClientRace(() => this.admin.fetchTopicOffsets(topic), true);
      return res.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
    } catch (e) {
      throw e instanceof TypeError ? clientRaceError('the partition offsets', e) : toGatewayError(e);
    }
  }

  async cluster(): Promise<ClusterInfo> {
    if (this.clusterCache && this.clusterCache.expires > this.now()) return this.clusterCache.value;
    try {
      const c = await this.admin.describeCluster();
      const value: ClusterInfo = {
        clusterId: c.clusterId,
        controller: c.controller ?? null,
        brokers: c.brokers
          .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }))
          .sort((a, b) => a.nodeId - b.nodeId),
      };
      this.clusterCache = { value, expires: this.now() + this.cacheMs };
      return value;
    } catch (e) {
      throw toGatewayError(e);
    }
  }

  async createTopic(req: CreateTopicRequest): Promise<void> {
    let created: boolean;
    try {
      created = await this.admin.createTopics({
        validateOnly: req.validateOnly ?? false,
        // kafkajs's own wait retries only LEADER_NOT_AVAILABLE: a broker whose metadata lags answers
        // UNKNOWN_TOPIC_OR_PARTITION and the created topic would be reported missing. We wait ourselves below.
        waitForLeaders: false,
        topics: [
          {
            topic: req.name,
            numPartitions: req.partitions ?? -1,
            replicationFactor: req.replicationFactor ?? -1,
            configEntries: (req.configs ?? []).map((c) => ({ name: c.name, value: c.value as string })),
          },
        ],
      });
    } catch (e) {
      throw toGatewayError(e);
    } finally {
      this.invalidate(req.name);
      this.deletedAt.delete(req.name);
    }
    // kafkajs answers false for TOPIC_ALREADY_EXISTS, validate-only requests included.
    if (!created) {
      throw toGatewayError({ type: 'TOPIC_ALREADY_EXISTS', message: `Topic '${req.name}' already exists.` });
    }
    if (!req.validateOnly) await this.waitForLeaders(req.name);
  }

  /** Until every partition of a just-created topic has a leader (bounded: the topic exists either way). */
  private async waitForLeaders(name: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const t = (await this.admin.fetchTopicMetadata({ topics: [name] })).topics[0];
        if (t && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) return;
      } catch (e) {
        const type = protocolType(e);
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw toGatewayError(e);
      }
      if (Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async deleteTopic(name: string): Promise<void> {
    try {
      await this.admin.deleteTopics({ topics: [name] });
      if (this.deletedAt.size > 10_000) this.deletedAt.clear();
      this.deletedAt.set(name, this.now());
    } catch (e) {
      throw toGatewayError(e);
    } finally {
      this.invalidate(name);
    }
  }
}

function toTopicInfo(t: {
  name: string;
  partitions: { partitionId: number; leader: number; replicas: number[]; isr: number[] }[];
}): TopicInfo {
  return {
    name: t.name,
    partitions: t.partitions
      .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr }))
      .sort((a, b) => a.partition - b.partition),
  };
}
