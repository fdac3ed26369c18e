/**
 * Our own consumer interface. WebSocket sessions see only these types, never kafkajs's: a session is started
 * with a sink, pushes records into it in order per partition, and is paused/resumed/committed/closed by its owner.
 */
import type { GatewayError } from '../errors.js';
import type { RecordHeader } from './types.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch ms. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

/** Where an assign-mode reader starts; offsets are clamped to what the partition holds. */
export type StartPosition = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

/** Where a group starts on a partition it has never committed. */
export type GroupStart = 'earliest' | 'latest';

export interface AssignmentChange {
  current: TopicPartition[];
  assigned: TopicPartition[];
  revoked: TopicPartition[];
}

export interface RecordSink {
  /**
   * One record, in order per partition. Return false when it cannot be taken now: the session pauses and
   * delivers this same record again after `resume()`.
   */
  onRecord(record: ConsumedRecord): boolean;
  /**
   * Optional: after `onRecord` refused a record, resolves once the sink may take records again (or its state
   * changed otherwise, e.g. its owner paused it: the session looks again). With it, a session waits inside the
   * fetched batch (at most ROOM_WAIT_MS) instead of pausing at once and fetching the rest of the batch again;
   * past that wait it pauses and resumes by itself when this resolves. Without it, a refusal pauses the session
   * until its owner calls `resume()`.
   */
  room?(): Promise<void>;
  /**
   * Optional, with `room`: after a refusal, whether room is expected soon (a window the client's next ack frees),
   * so that waiting inside the fetched batch pays. False (a socket that stopped reading): the session pauses at
   * once and lets go of the batch, which keeps the whole fetch response alive while it waits. Default: true.
   */
  roomSoon?(): boolean;
  /** The assignment changed (group: each rebalance). The first call comes before `start` resolves. */
  onAssignment?(change: AssignmentChange): void;
  /** The session stopped for good (a Kafka error kafkajs does not retry); it is closed already. */
  onFatal?(error: GatewayError): void;
}

export interface ConsumerSession {
  readonly assignment: readonly TopicPartition[];
  /** Stop fetching (records already fetched are dropped and fetched again later). Idempotent. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Leave the group at once and release the connections. Idempotent. */
  close(): Promise<void>;
}

export interface GroupSession extends ConsumerSession {
  /**
   * Commit `offset` (Kafka's convention: the next offset to read = last processed + 1). Coalesced: at most one
   * commit request in flight per session; never moves a partition backwards; partitions no longer assigned
   * are dropped (their new owner reads them again from the last commit: at-least-once).
   */
  commit(position: TopicPartitionOffset): void;
  /** Wait until every commit asked for so far was sent (or failed for good). */
  flushCommits(): Promise<void>;
  /**
   * Commit these offsets now and say how it went (HTTP consumers' explicit commits): resolves once Kafka confirmed
   * them; rejects (409 40903) when one of the partitions is not assigned to this member any more, or with Kafka's
   * error. Nothing is retried: the caller decides.
   */
  commitNow(positions: TopicPartitionOffset[]): Promise<void>;
  /** Read `partition` from `offset` next (it must be assigned to this member: else 409 40903). */
  seek(position: TopicPartitionOffset): void;
}

export interface AssignSession extends ConsumerSession {
  /** The resolved start offset of each partition. */
  readonly positions: readonly TopicPartitionOffset[];
}

export interface BroadcastSink {
  /** Never blocks the shared consumer: a slow receiver buffers or drops on its own side. */
  onRecord(record: ConsumedRecord): void;
  onFatal?(error: GatewayError): void;
}

export interface BroadcastWatch {
  /** Per partition, the first offset this watcher receives (records before it were produced before it joined). */
  readonly positions: readonly TopicPartitionOffset[];
  close(): void;
}

export interface ConsumersStats {
  groupSessions: number;
  assignSessions: number;
  /** One shared consumer per topic, however many watchers. */
  broadcastConsumers: { topic: string; watchers: number }[];
}

export interface Consumers {
  /** Join Kafka consumer group `group` as one member; resolves after the first assignment (possibly empty). */
  group(opts: { group: string; topics: string[]; from: GroupStart }, sink: RecordSink): Promise<GroupSession>;
  /**
   * Read exactly these partitions from `from`; no group balancing, no commits. `offsets` (optional) gives some
   * partitions an exact start offset instead (clamped to what each partition holds): a resumed SSE stream.
   */
  assign(
    opts: { partitions: TopicPartition[]; from: StartPosition; offsets?: readonly TopicPartitionOffset[] },
    sink: RecordSink,
  ): Promise<AssignSession>;
  /** Watch a topic's new records through the process's one shared consumer for that topic. */
  broadcast(topic: string, sink: BroadcastSink): Promise<BroadcastWatch>;
  stats(): ConsumersStats;
  /** Close every session and shared consumer (shutdown). */
  close(): Promise<void>;
}
