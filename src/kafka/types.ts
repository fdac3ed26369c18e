/**
 * Our own small Kafka interface. Handlers and sessions see only these types, never kafkajs's, so the
 * client library can be swapped by touching src/kafka/ alone.
 */
export interface RecordHeader {
  name: string;
  value: Buffer | null;
}

export interface ProduceRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** Resolved by the caller (explicit, murmur2 of the key, or spread) before sending. */
  partition: number;
  headers?: RecordHeader[];
  timestamp?: number;
}

/** One entry per record, in request order. */
export type RecordResult =
  | { ok: true; partition: number; offset: number }
  | { ok: false; partition: number | null; errorCode: 50002 | 50003; message: string };

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

export interface TopicDescription extends TopicInfo {
  configs: Record<string, string | null>;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface ClusterInfo {
  clusterId: string;
  controller: number | null;
  brokers: BrokerInfo[];
}

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

export interface CreateTopicRequest {
  name: string;
  partitions?: number | undefined;
  replicationFactor?: number | undefined;
  configs?: { name: string; value: string | null }[] | undefined;
  validateOnly?: boolean | undefined;
}

export interface ProduceResult {
  results: RecordResult[];
}

export interface Producer {
  /** Resolves when Kafka acknowledged (or refused, or timed out) every record; never rejects for Kafka errors. */
  send(topic: string, records: ProduceRecord[]): Promise<RecordResult[]>;
  /** Bytes of records accepted but not yet answered (for MAX_INFLIGHT_PRODUCE_BYTES). */
  readonly inflightBytes: number;
  flush(): Promise<void>;
}

export interface Metadata {
  /** Partition count and max record size of a topic, cached; refreshes once before saying "unknown". */
  topic(name: string): Promise<{ partitions: number; maxMessageBytes: number } | undefined>;
  listTopics(): Promise<string[]>;
  describeTopic(name: string): Promise<TopicDescription | undefined>;
  topicInfo(name: string): Promise<TopicInfo | undefined>;
  listTopicInfos(): Promise<TopicInfo[]>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  cluster(): Promise<ClusterInfo>;
  createTopic(req: CreateTopicRequest): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  invalidate(topic?: string): void;
}
