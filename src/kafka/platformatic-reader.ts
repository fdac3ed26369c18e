/**
 * The fetch loop of every consumer session on @platformatic/kafka (KAFKA_CLIENT=platformatic): group sessions and
 * private readers. The library's own MessagesStream reads every assigned partition as one Node stream, with no
 * pause per partition and no seek; so the session keeps the next offset of each partition itself and fetches with
 * the library's `fetch` (its leader lookup, fetch sessions and retries) on connections of its own, so a long poll
 * never holds up the group's heartbeats and commits on the coordinator connection. The responses are decoded by
 * platformatic-fetch-decoder.ts (installed on each session's consumer): a batch's records are decoded only as the
 * loop takes them; where the library decoded a response (a Fetch version we do not decode) its records are taken
 * through the same loop.
 *
 * The rules are the ones of the kafkajs sessions (self-healing-consumer.ts, consumer-common.ts): records go into
 * the sink in order per partition; a refused record is offered again after the sink's `room()` (waiting at most
 * ROOM_WAIT_MS inside the fetched batch, then pausing until room), or after the owner's `resume()`; records fetched
 * while paused, or for a partition that was sought or revoked meanwhile, are dropped and fetched again.
 */
import type { ConnectionPool, Consumer } from '@platformatic/kafka';
import type { Logger } from '../observability/logger.js';
import type { ConsumerSettings } from './consumer-common.js';
import { ROOM_WAIT_MS, roomWithin, tpKey } from './consumer-common.js';
import type { ConsumedRecord, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { classifyKafkaError, describeKafkaError, toGatewayError } from './errors.js';
import { FetchedBatch } from './platformatic-fetch-decoder.js';
import { kafkaJsShaped } from './platformatic-client.js';
import type { RecordHeader } from './types.js';
import type { KafkaSettings } from './client.js';

export type PlatformaticConsumerSettings = ConsumerSettings & KafkaSettings;

export interface PlatformaticConsumerContext {
  settings: PlatformaticConsumerSettings;
  logger: Logger;
}

/**
 * The library's retries of one operation (a join, a commit, a fetch): exponential from 300 ms up to 5 s, five times
 * (about 10 s in all), as kafkajs's consumers retry (consumer-common.ts), so a broker restart is ridden out.
 */
export const CONSUMER_RETRIES = {
  retries: 5,
  retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(5000, 300 * 2 ** (attempt - 1)),
};

/** Record batch attributes (Kafka's RecordBatch format): a control batch, and the LogAppendTime timestamp type. */
const CONTROL_BATCH = 0x20;
const LOG_APPEND_TIME = 0x08;
/** After a failed fetch the loop waits this long, doubling up to the maximum, while Kafka is unreachable. */
const RETRY_MIN_MS = 300;
const RETRY_MAX_MS = 5000;

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type LibraryBatch = NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>[number];
/** A fetched record batch: ours (platformatic-fetch-decoder.ts), or the library's where it decoded the response. */
type Batch = FetchedBatch | LibraryBatch;

/** The headers of every record without any: one shared, frozen array instead of a new one per record. */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export function toConsumedRecord(
  topic: string,
  partition: number,
  batch: LibraryBatch,
  record: LibraryBatch['records'][number],
): ConsumedRecord {
  let headers = NO_HEADERS;
  if (record.headers.length > 0) {
    const named: RecordHeader[] = [];
    for (const [name, value] of record.headers) named.push({ name: name ? name.toString() : '', value });
    headers = named;
  }
  return {
    topic,
    partition,
    offset: Number(batch.firstOffset) + record.offsetDelta,
    // Added as numbers, not BigInts: one allocation less per record (timestamps are far below 2^53).
    timestamp:
      batch.attributes & LOG_APPEND_TIME
        ? Number(batch.maxTimestamp)
        : Number(batch.firstTimestamp) + Number(record.timestampDelta),
    key: record.key ?? null,
    value: record.value ?? null,
    headers,
  };
}

/** A cursor over the records of a batch the library decoded, like FetchedBatch's own (RecordCursor). */
class LibraryRecordCursor {
  private i = 0;
  private readonly baseOffset: number;
  constructor(
    private readonly topic: string,
    private readonly partition: number,
    private readonly batch: LibraryBatch,
  ) {
    this.baseOffset = Number(batch.firstOffset);
  }

  next(from: number): ConsumedRecord | undefined {
    const records = this.batch.records;
    while (this.i < records.length) {
      const record = records[this.i++]!;
      if (this.baseOffset + record.offsetDelta >= from)
        return toConsumedRecord(this.topic, this.partition, this.batch, record);
    }
    return undefined;
  }
}

/** The records of a batch, from a given offset on, as ConsumedRecords. */
function recordsOf(topic: string, partition: number, batch: Batch): { next(from: number): ConsumedRecord | undefined } {
  return batch instanceof FetchedBatch
    ? batch.cursor(topic, partition)
    : new LibraryRecordCursor(topic, partition, batch);
}

export abstract class PlatformaticReader {
  protected consumer!: Consumer;
  /** Fetch connections of this session alone (see the header). */
  protected pool!: ConnectionPool;
  /** The partitions being read, each with the next offset to hand to the sink. */
  protected readonly next = new Map<string, TopicPartitionOffset>();
  protected userPaused = false;
  /** Paused because the sink refused a record; lifted when the sink has room again (RecordSink.room). */
  protected flowPaused = false;
  protected closed = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;

  protected constructor(
    protected readonly ctx: PlatformaticConsumerContext,
    protected readonly sink: RecordSink,
    protected readonly log: Logger,
    /** The log message when the session stops for good. */
    private readonly stoppedMessage: string,
  ) {}

  /** The subclass holds fetching (e.g. while a group session positions newly assigned partitions). */
  protected held(): boolean {
    return false;
  }

  /** Where a partition whose offset Kafka no longer has (or never had) goes on. */
  protected abstract outOfRange(): 'earliest' | 'latest';
  abstract close(): Promise<void>;

  get paused(): boolean {
    return this.userPaused;
  }

  pause(): void {
    this.userPaused = true;
  }

  resume(): void {
    this.userPaused = false;
    this.wake();
  }

  /** Looks again at the state (resume, room, a new assignment, a seek, close). */
  protected wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Waits for `wake` (or `ms`, when given). */
  private idle(ms?: number): Promise<void> {
    // Only the loop waits here, so one waiter at a time.
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private blocked(): boolean {
    return this.closed || this.userPaused || this.flowPaused || this.held();
  }

  protected startLoop(): void {
    this.running ??= this.loop().catch((e: unknown) => this.fail(e));
  }

  /** Resolves when the loop has ended (after close). */
  protected async stopped(): Promise<void> {
    this.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.blocked() || this.next.size === 0) {
        await this.idle();
        continue;
      }
      try {
        await this.fetchOnce();
        failures = 0;
      } catch (e) {
        if (this.closed) return;
        const shaped = kafkaJsShaped(e);
        const c = classifyKafkaError(shaped);
        if (!c.retriable && !c.connectivity) throw shaped;
        failures++;
        const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 5));
        this.log.debug({ err: describeKafkaError(shaped), retryInMs: wait }, 'fetch failed; will retry');
        await this.idle(wait);
      }
    }
  }

  /** One round: one fetch per leader of the readable partitions, each response fed to the sink as it arrives. */
  private async fetchOnce(): Promise<void> {
    const wanted = [...this.next.values()];
    const topics = [...new Set(wanted.map((p) => p.topic))];
    const metadata = await this.consumer.metadata({ topics });
    const nameOf = new Map<string, string>();
    const byNode = new Map<number, Map<string, { topicId: string; partitions: TopicPartitionOffset[] }>>();
    for (const p of wanted) {
      const t = metadata.topics.get(p.topic);
      const leader = t?.partitions[p.partition]?.leader;
      if (t === undefined || leader === undefined || leader < 0) {
        // The topic or partition is gone from the metadata (deleted, or a leader election): ask again next round.
        this.consumer.clearMetadata();
        continue;
      }
      nameOf.set(t.id, p.topic);
      let node = byNode.get(leader);
      if (!node) byNode.set(leader, (node = new Map()));
      let entry = node.get(t.id);
      if (!entry) node.set(t.id, (entry = { topicId: t.id, partitions: [] }));
      entry.partitions.push({ ...p });
    }
    if (byNode.size === 0) {
      await this.idle(RETRY_MIN_MS);
      return;
    }
    const s = this.ctx.settings;
    let feeding = Promise.resolve();
    let failure: unknown;
    await Promise.all(
      [...byNode].map(async ([node, entries]) => {
        const asked = [...entries.values()];
        try {
          const response = await this.consumer.fetch({
            node,
            maxWaitTime: s.KAFKA_CONSUMER_MAX_WAIT_MS,
            maxBytes: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
            connectionPool: this.pool,
            topics: asked.map((e) => ({
              topicId: e.topicId,
              partitions: e.partitions.map((p) => ({
                partition: p.partition,
                fetchOffset: BigInt(p.offset),
                partitionMaxBytes: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              })),
            })),
          });
          feeding = feeding.then(() => this.feed(response, asked, nameOf));
        } catch (e) {
          if (this.repositionOutOfRange(e, asked, nameOf)) return;
          failure ??= e;
        }
      }),
    );
    await feeding;
    if (failure !== undefined) throw failure;
  }

  /**
   * OFFSET_OUT_OF_RANGE (a committed or sought offset Kafka deleted, or one past the end): the partition goes on at
   * the start or the end of what Kafka holds, as kafkajs's (and Kafka's) auto.offset.reset does. True when handled.
   */
  private repositionOutOfRange(
    e: unknown,
    asked: { topicId: string; partitions: TopicPartitionOffset[] }[],
    nameOf: Map<string, string>,
  ): boolean {
    const response = (e as { response?: FetchResponse }).response;
    if (!response || classifyKafkaErrorType(e) !== 'OFFSET_OUT_OF_RANGE') return false;
    let moved = false;
    for (const t of response.responses) {
      const topic = nameOf.get(t.topicId) ?? t.topicId;
      for (const p of t.partitions) {
        if (p.errorCode !== OFFSET_OUT_OF_RANGE_CODE) continue;
        const key = tpKey({ topic, partition: p.partitionIndex });
        const cur = this.next.get(key);
        const was = asked
          .find((a) => a.topicId === t.topicId)
          ?.partitions.find((x) => x.partition === p.partitionIndex);
        if (!cur || !was || cur.offset !== was.offset) continue;
        const to = Number(this.outOfRange() === 'earliest' ? p.logStartOffset : p.highWatermark);
        if (to < 0) continue;
        this.log.info({ topic, partition: p.partitionIndex, from: cur.offset, to }, 'offset out of range; moved');
        cur.offset = to;
        moved = true;
      }
    }
    return moved;
  }

  /** Hands one fetch response to the sink, record by record; see the header for refusals. */
  private async feed(
    response: FetchResponse,
    asked: { topicId: string; partitions: TopicPartitionOffset[] }[],
    nameOf: Map<string, string>,
  ): Promise<void> {
    for (const t of response.responses) {
      const topic = nameOf.get(t.topicId);
      if (topic === undefined) continue;
      const askedTopic = asked.find((a) => a.topicId === t.topicId);
      for (const p of t.partitions) {
        if (this.blocked()) return;
        const was = askedTopic?.partitions.find((x) => x.partition === p.partitionIndex);
        const cur = this.next.get(tpKey({ topic, partition: p.partitionIndex }));
        // Not asked for in this request (a fetch session may answer more), or sought/revoked since: dropped.
        if (!was || !cur || cur.offset !== was.offset || !p.records) continue;
        if (!(await this.feedPartition(topic, p.partitionIndex, p.records, cur))) return;
      }
    }
  }

  /** False when the sink refused a record (the session is paused now) or the session stopped reading. */
  private async feedPartition(
    topic: string,
    partition: number,
    batches: Batch[],
    cur: TopicPartitionOffset,
  ): Promise<boolean> {
    const key = tpKey({ topic, partition });
    const stale = () => this.next.get(key) !== cur;
    for (const batch of batches) {
      const end = Number(batch.firstOffset) + batch.lastOffsetDelta + 1;
      if (end <= cur.offset) continue;
      if (!(batch.attributes & CONTROL_BATCH)) {
        const records = recordsOf(topic, partition, batch);
        for (let r = records.next(cur.offset); r !== undefined; r = records.next(cur.offset)) {
          if (this.blocked() || stale()) return false;
          // No await while the sink takes records: a batch is fed in one turn of the event loop (the WebSocket
          // pump frames what one turn gave it, and every await would cost a microtask per record).
          if (!this.accept(r, key) && !(await this.offerAgain(r, key, stale))) {
            this.refused();
            return false;
          }
          cur.offset = r.offset + 1;
        }
      }
      // Past the batch's last offset also when its last records were compacted away, or it was a control batch.
      if (!stale()) cur.offset = Math.max(cur.offset, end);
    }
    return true;
  }

  /**
   * After a refusal: waits for the sink's room (at most ROOM_WAIT_MS) and offers the record again — only while the
   * sink says room is near (RecordSink.roomSoon): the wait keeps the fetch response its records are slices of alive,
   * so a sink that will not take records soon (a socket over its high water) pauses the reader at once instead.
   */
  private async offerAgain(r: ConsumedRecord, key: string, stale: () => boolean): Promise<boolean> {
    let ok = false;
    if (!this.sink.room) return ok;
    const soon = () => this.sink.roomSoon?.() ?? true;
    const until = performance.now() + ROOM_WAIT_MS;
    for (let left = ROOM_WAIT_MS; !ok && left > 0 && soon(); left = until - performance.now()) {
      if (!(await roomWithin(() => this.sink.room!(), left)) || this.blocked() || stale()) return false;
      ok = this.accept(r, key);
      // A sink that keeps waking without room must not starve the event loop.
      if (!ok) await new Promise<void>((next) => setImmediate(next));
    }
    return ok;
  }

  /** The sink's answer for one record of the partition `key` (tpKey); the subclass may note what was taken. */
  protected accept(r: ConsumedRecord, _key: string): boolean {
    try {
      return this.sink.onRecord(r);
    } catch (e) {
      // Our own bug: skip the record rather than loop on it forever.
      this.log.error(
        { err: e, topic: r.topic, partition: r.partition, offset: r.offset },
        'record sink failed; skipped',
      );
      return true;
    }
  }

  private refused(): void {
    if (!this.sink.room) {
      this.pause();
      return;
    }
    if (this.flowPaused || this.closed) return;
    this.flowPaused = true;
    void this.sink.room().then(() => {
      this.flowPaused = false;
      this.wake();
    });
  }

  protected fail(error: unknown): void {
    if (this.closed) return;
    const shaped = kafkaJsShaped(error);
    this.log.warn({ err: describeKafkaError(shaped) }, this.stoppedMessage);
    const err = toGatewayError(shaped);
    void this.close().then(() => this.sink.onFatal?.(err));
  }

  /** The partitions being read now. */
  protected readingPartitions(): TopicPartition[] {
    return [...this.next.values()].map(({ topic, partition }) => ({ topic, partition }));
  }
}

const OFFSET_OUT_OF_RANGE_CODE = 1;

/** The Kafka error name of a library error (an aggregate: any member's). */
function classifyKafkaErrorType(e: unknown): string | undefined {
  const x = e as { apiId?: string; errors?: unknown[] };
  if (typeof x?.apiId === 'string') return x.apiId;
  for (const m of x?.errors ?? []) {
    const t = classifyKafkaErrorType(m);
    if (t) return t;
  }
  return undefined;
}
