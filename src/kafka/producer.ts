/**
 * One producer per process, shared by every request. kafkajs does not coalesce concurrent send() calls and an
 * idempotent producer has one request in flight per broker, so this gathers the records of concurrent HTTP
 * requests (for up to `lingerMs`, and while the previous batch is in flight) into batches, then resolves each
 * request with its own offsets. Each request resolves only when Kafka acknowledged (or refused, or timed out on)
 * every one of its records.
 *
 * One pipeline per partition leader: each leader (by the cached metadata, `leaderOf`) has at most one batch in
 * flight, and a partition is in at most one batch at a time, so a partition waiting for a new leader holds up no
 * other leader's partitions, and each partition's records go out in order. A batch stays in flight until kafkajs
 * answers it, also past PRODUCE_TIMEOUT_MS (its callers are answered "unknown" then): kafkajs keeps retrying it
 * with the same sequence numbers, so the broker drops a copy it already holds, and the partition's next batch
 * never reuses those numbers (see `renewProducer`).
 */
import type { Producer as KafkaJsProducer, Message, TopicMessages, CompressionTypes as CT } from 'kafkajs';
import type { ProduceRecord, Producer, RecordResult } from './types.js';
import { classifyKafkaError, type KafkaErrorClass, protocolType } from './errors.js';
import { BATCH_OVERHEAD_BYTES, recordSize } from '../core/record-size.js';

/** What the batching producer needs of a client: kafkajs's `sendBatch` (platformatic-producer.ts adapts to it). */
export type BatchSender = Pick<KafkaJsProducer, 'sendBatch'>;

/** The client-side producer behind the batching producer, replaceable (renewing-producer.ts, platformatic-producer.ts). */
export interface ProducerHandle {
  readonly current: BatchSender;
  /** True while the current producer is connected. */
  readonly connected: boolean;
  connect(): Promise<void>;
  /** Connects a new producer and makes it current; the old one is closed once `previousSettled` resolves. */
  renew(previousSettled: Promise<void>): Promise<BatchSender>;
  close(): Promise<void>;
}

export interface BatchingProducerOptions {
  lingerMs: number;
  timeoutMs: number;
  acks: -1 | 0 | 1;
  compression: 'none' | 'gzip';
  /** Upper bound for one partition's share of a batch (the topic's max.message.bytes). */
  maxBatchBytes: (topic: string) => number;
  /** Upper bound for one whole sendBatch request (below the broker's socket.request.max.bytes). */
  maxRequestBytes?: number;
  /**
   * The partition's leader as last known (no I/O), or undefined: batches are grouped per leader and each leader
   * has its own batch in flight. Without it every partition shares one pipeline.
   */
  leaderOf?: (topic: string, partition: number) => number | undefined;
  /** Told of topics whose send failed or is slow: their leaders may have moved (refresh the metadata). */
  onLeadersSuspect?: (topics: string[]) => void;
  /** Told when a send failed because a broker could not be reached (the tracker then checks the cluster). */
  onConnectivityError?: (e: unknown) => void;
  /** Told of every sendBatch: how many records the batch gathered (metrics). */
  onBatch?: (records: number) => void;
  /**
   * Idempotence: called before the next send once kafkajs gave up on a batch (or answered without some of its
   * partitions), for a fresh producer. kafkajs rolls an idempotent producer's sequence numbers back after a failed
   * request even when the broker wrote the batch (its answer was lost with the leader). While kafkajs retries the
   * same records that is what makes the retry safe (the broker drops the copy it holds), but once it gave up, the
   * partition's next batch would reuse those numbers: a broker that holds the written batch takes the new one for
   * a retry, answers the written batch's offsets and drops the new records, which we would acknowledge (seen in
   * test/integration/failover.test.ts). A new producer id, with sequences from 0, is the safe continuation.
   * `previousSettled` resolves once the old producer's calls ended, so it can be disconnected then.
   */
  renewProducer?: (previousSettled: Promise<void>) => Promise<BatchSender>;
  /** Fault-injection seam for tests: wraps every sendBatch call. */
  sendBatch?: (
    send: KafkaJsProducer['sendBatch'],
    batch: Parameters<KafkaJsProducer['sendBatch']>[0],
  ) => ReturnType<KafkaJsProducer['sendBatch']>;
}

/** The unknown-outcome texts (50003): the record may be in Kafka, so a blind retry may duplicate it. */
export const UNKNOWN_OUTCOME = {
  unanswered: 'Kafka did not answer for this partition; the outcome is unknown (a retry may duplicate the record).',
  timedOut: 'Timed out waiting for Kafka to acknowledge; the outcome is unknown (a retry may duplicate the record).',
} as const;
const NOT_SENT = 'Timed out before the record was sent; it was not written.';

/** After a failed renewal (cluster unreachable), the next attempt while records wait. */
const RENEW_RETRY_MS = 500;
/** A batch kafkajs has not answered this long after its callers' deadline is given up (see sendBatch). */
const ABANDON_AFTER_MS = 10_000;
/** A batch unanswered this long makes its topics' leaders suspect (metadata refresh for the grouping). */
const SLOW_BATCH_MS = 1000;

interface Pending {
  results: RecordResult[];
  remaining: number;
  bytes: number;
  resolve: (r: RecordResult[]) => void;
  timer: NodeJS.Timeout;
}

interface Item {
  topic: string;
  record: ProduceRecord;
  size: number;
  req: Pending;
  index: number;
  state: 'queued' | 'sent' | 'done';
  /** The queue it was put in (set when queued): no per-record lookup by topic and partition afterwards. */
  queue: PartitionQueue;
  /** Already sent once and put back after a poisoned-metadata failure (see the send's failure handler). */
  retried?: boolean;
}

/** One partition's queue: its records in arrival order; `busy` while a batch of it is in flight. */
interface PartitionQueue {
  topic: string;
  partition: number;
  items: Item[];
  head: number;
  busy: boolean;
}

/** Leader id of a pipeline; partitions without a known leader share one. */
type Lane = number;
const UNKNOWN_LEADER: Lane = -1;

export class BatchingProducer implements Producer {
  /** Partitions with queued records, in the order they get their turn (a served partition goes to the back). */
  private readonly ready = new Set<PartitionQueue>();
  private readonly queues = new Map<string, PartitionQueue>();
  /** Leaders with a batch in flight. */
  private readonly busyLanes = new Set<Lane>();
  private lingerTimer: NodeJS.Timeout | undefined;
  private drainSoon = false;
  private renewing = false;
  private bytes = 0;
  private readonly idle = new Set<() => void>();
  private readonly maxRequestBytes: number;
  private readonly compression: CT;
  /** The current producer's sendBatch calls not answered yet. */
  private calls = new Set<Promise<unknown>>();
  /** kafkajs gave up on a batch: with renewProducer, the next batch goes out on a new producer. */
  private stale = false;

  constructor(
    private producer: BatchSender,
    private readonly opts: BatchingProducerOptions,
  ) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 32 * 1024 * 1024;
    // Kafka's codec ids (kafkajs's CompressionTypes.GZIP and .None), written out: this producer serves both client
    // libraries and must not load kafkajs (kafkajs-library.ts).
    this.compression = (opts.compression === 'gzip' ? 1 : 0) as CT;
  }

  get inflightBytes(): number {
    return this.bytes;
  }

  send(topic: string, records: ProduceRecord[]): Promise<RecordResult[]> {
    return new Promise((resolve) => {
      const req: Pending = {
        results: new Array<RecordResult>(records.length),
        remaining: records.length,
        bytes: 0,
        resolve,
        timer: setTimeout(() => this.expire(req, items), this.opts.timeoutMs),
      };
      const items: Item[] = new Array(records.length);
      // A request's records mostly share a partition (keyless ones all do): one queue lookup per run of them.
      let q: PartitionQueue | undefined;
      for (let index = 0; index < records.length; index++) {
        const record = records[index]!;
        const size = recordSize(record);
        req.bytes += size;
        if (q?.partition !== record.partition) {
          q = this.queueOf(topic, record.partition);
          this.ready.add(q);
        }
        const it: Item = { topic, record, size, req, index, state: 'queued', queue: q };
        items[index] = it;
        q.items.push(it);
      }
      this.bytes += req.bytes;
      this.schedule();
    });
  }

  /** Resolves when every accepted record has been answered. */
  flush(): Promise<void> {
    if (this.bytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { topic, partition, items: [], head: 0, busy: false }));
    return q;
  }

  /** Puts a record back first in line (its queue may have been dropped meanwhile: looked up again). */
  private requeue(it: Item): void {
    const q = this.queueOf(it.topic, it.record.partition);
    it.queue = q;
    q.items.splice(q.head, 0, it);
    this.ready.add(q);
  }

  private schedule(): void {
    if (this.lingerTimer || this.drainSoon) return;
    if (this.opts.lingerMs <= 0) {
      this.drainSoon = true;
      queueMicrotask(() => this.drain());
      return;
    }
    this.lingerTimer = setTimeout(() => this.drain(), this.opts.lingerMs);
  }

  /** Records queued while a batch was in flight have waited a round trip already: no linger for them. */
  private drainNow(): void {
    if (this.drainSoon) return;
    this.drainSoon = true;
    setImmediate(() => this.drain());
  }

  /** Skips a queue's records that expired meanwhile; false when nothing is left. */
  private hasQueuedIn(q: PartitionQueue): boolean {
    while (q.head < q.items.length && q.items[q.head]!.state !== 'queued') q.head++;
    if (q.head === q.items.length) {
      q.items = [];
      q.head = 0;
      return false;
    }
    if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
    return true;
  }

  /** Any record still waiting to be sent. */
  private hasQueued(): boolean {
    for (const q of this.ready) {
      if (this.hasQueuedIn(q)) return true;
      this.ready.delete(q);
      if (!q.busy) this.queues.delete(`${q.topic}\u0000${q.partition}`);
    }
    return false;
  }

  private laneOf(q: PartitionQueue): Lane {
    return this.opts.leaderOf?.(q.topic, q.partition) ?? UNKNOWN_LEADER;
  }

  /**
   * One batch per free leader: its partitions that are not in flight, each partition's records up to the topic's
   * max.message.bytes, the whole batch up to maxRequestBytes.
   */
  private drain(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.drainSoon = false;
    if (this.renewing) return;
    if (this.stale && this.opts.renewProducer) {
      if (this.hasQueued()) this.renew();
      return;
    }
    const batches = new Map<Lane, { items: Item[]; total: number; full: boolean }>();
    for (const q of [...this.ready]) {
      if (q.busy) continue;
      if (!this.hasQueuedIn(q)) {
        this.ready.delete(q);
        this.queues.delete(`${q.topic}\u0000${q.partition}`);
        continue;
      }
      const lane = this.laneOf(q);
      if (this.busyLanes.has(lane)) continue;
      let b = batches.get(lane);
      if (!b) batches.set(lane, (b = { items: [], total: 0, full: false }));
      if (b.full) continue;
      const limit = this.opts.maxBatchBytes(q.topic);
      let used = BATCH_OVERHEAD_BYTES;
      let took = 0;
      while (q.head < q.items.length) {
        const it = q.items[q.head]!;
        if (it.state !== 'queued') {
          q.head++;
          continue;
        }
        // A record larger than the limit still goes, alone, rather than never.
        const empty = b.items.length === 0;
        if (!empty && (used + it.size > limit || b.total + it.size > this.maxRequestBytes)) {
          if (b.total + it.size > this.maxRequestBytes) b.full = true;
          break;
        }
        used += it.size;
        b.total += it.size;
        it.state = 'sent';
        b.items.push(it);
        q.head++;
        took++;
      }
      if (took === 0) continue;
      q.busy = true;
      // Its turn is over: a partition with more records goes to the back of the line.
      this.ready.delete(q);
      if (this.hasQueuedIn(q)) this.ready.add(q);
    }
    for (const [lane, b] of batches) if (b.items.length > 0) this.sendBatch(lane, b.items);
  }

  private sendBatch(lane: Lane, batch: Item[]): void {
    this.busyLanes.add(lane);
    this.opts.onBatch?.(batch.length);
    const parts = new Set<PartitionQueue>();
    const byTopic = new Map<string, { messages: Message[]; items: Item[] }>();
    let t: { messages: Message[]; items: Item[] } | undefined;
    let topic: string | undefined;
    for (const it of batch) {
      parts.add(it.queue);
      if (it.topic !== topic) {
        topic = it.topic;
        t = byTopic.get(topic);
        if (!t) byTopic.set(topic, (t = { messages: [], items: [] }));
      }
      t!.messages.push(toMessage(it.record));
      t!.items.push(it);
    }
    const topics = [...byTopic.keys()];
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, t]) => ({ topic, messages: t.messages }));
    const request = {
      topicMessages,
      acks: this.opts.acks,
      timeout: this.opts.timeoutMs,
      compression: this.compression,
    };
    const send = this.producer.sendBatch.bind(this.producer);
    const slow = setTimeout(() => this.opts.onLeadersSuspect?.(topics), SLOW_BATCH_MS);

    // The leader and the partitions are released when kafkajs answers, whatever the callers' deadlines: until
    // then kafkajs may still be retrying these records with their sequence numbers. A call that never ends (kafkajs
    // has no bound of its own on a broker that accepts requests and never answers them) is given up after
    // ABANDON_AFTER_MS: the next batches then go out on a new producer id, as after a failure.
    let released = false;
    const abandon = setTimeout(() => {
      if (calls === this.calls) this.markStale();
      for (const it of batch)
        this.settle(it, {
          ok: false,
          partition: it.record.partition,
          errorCode: 50003,
          message: UNKNOWN_OUTCOME.timedOut,
        });
      release();
    }, this.opts.timeoutMs + ABANDON_AFTER_MS);
    // (Neither timer keeps a shutting-down process alive: its callers were answered at their deadline.)
    abandon.unref();
    slow.unref();
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(abandon);
      clearTimeout(slow);
      this.busyLanes.delete(lane);
      for (const q of parts) {
        q.busy = false;
        if (this.hasQueuedIn(q)) this.ready.add(q);
        else if (!this.ready.has(q)) this.queues.delete(`${q.topic}\u0000${q.partition}`);
      }
      if (this.hasQueued()) this.drainNow();
    };

    const call = this.opts.sendBatch ? this.opts.sendBatch(send, request) : send(request);
    const calls = this.calls;
    calls.add(call);
    const forget = () => calls.delete(call);
    call.then(forget, forget);
    call.then(
      (metadata) => {
        // Per topic: each partition's base offset, then the next offset to hand out there (records are in order).
        const next = new Map<string, Map<number, number>>();
        for (const m of metadata) {
          let parts = next.get(m.topicName);
          if (!parts) next.set(m.topicName, (parts = new Map()));
          parts.set(m.partition, Number(m.baseOffset));
        }
        let unanswered = false;
        for (const [topic, t] of byTopic) {
          const offsets = next.get(topic);
          for (const it of t.items) {
            const b = offsets?.get(it.record.partition);
            if (b !== undefined && b >= 0) offsets!.set(it.record.partition, b + 1);
            if (this.opts.acks !== 0 && (b === undefined || b < 0)) {
              // kafkajs 2.2.4 can resolve without some partitions: when a retry finds a partition's new leader among
              // the brokers that already answered, it never re-sends those records. Never acknowledge them.
              unanswered = true;
              this.settle(it, {
                ok: false,
                partition: it.record.partition,
                errorCode: 50003,
                message: UNKNOWN_OUTCOME.unanswered,
              });
              continue;
            }
            // acks=0: Kafka sends no answer, so there is no offset to report (-1, as the Java client does).
            this.settle(it, {
              ok: true,
              partition: it.record.partition,
              offset: b === undefined || b < 0 ? -1 : b,
            });
          }
        }
        // A try of those records may have been written: their sequence numbers are no longer trusted either.
        if (unanswered && calls === this.calls) this.markStale();
        release();
      },
      (e: unknown) => {
        // (A late failure of a producer already replaced says nothing about the current one.)
        if (calls === this.calls) this.markStale();
        this.opts.onLeadersSuspect?.(topics);
        // kafkajs refreshes the metadata of every topic a producer ever sent to; once one of them is deleted, each
        // refresh fails with UNKNOWN_TOPIC_OR_PARTITION, whatever this batch's topics are. The routes checked that
        // this batch's topics exist, so the batch goes once more, first in line, on the fresh producer.
        if (
          this.opts.renewProducer &&
          protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION' &&
          batch.every((it) => !it.retried)
        ) {
          const again = batch.filter((it) => it.state === 'sent');
          for (let i = again.length - 1; i >= 0; i--) {
            const it = again[i]!;
            it.state = 'queued';
            it.retried = true;
            this.requeue(it);
          }
          release();
          return;
        }
        const k = classifyKafkaError(e);
        if (k.connectivity || k.category === 'authentication' || k.category === 'tls')
          this.opts.onConnectivityError?.(e);
        const { code, message } = produceFailure(k);
        for (const it of batch)
          this.settle(it, { ok: false, partition: it.record.partition, errorCode: code, message });
        release();
      },
    );
  }

  /** The next batch needs a new producer: connect it now, so the next request does not wait for it. */
  private markStale(): void {
    if (!this.opts.renewProducer) return;
    this.stale = true;
    if (!this.renewing) this.renew();
  }

  /** Holds new sends while a new producer connects; queued records wait (their own deadline still answers them). */
  private renew(): void {
    this.renewing = true;
    const previousSettled = Promise.allSettled([...this.calls]).then(() => undefined);
    this.opts.renewProducer!(previousSettled)
      .then(
        (p) => {
          this.producer = p;
          this.calls = new Set();
          this.stale = false;
        },
        (e: unknown) => {
          // Still unreachable, or refused (credentials, TLS): the tracker checks or says so; tried again below while
          // records wait.
          this.opts.onConnectivityError?.(e);
        },
      )
      .finally(() => {
        this.renewing = false;
        if (!this.hasQueued()) return;
        if (this.stale) setTimeout(() => this.drain(), RENEW_RETRY_MS);
        else this.drain();
      });
  }

  private settle(it: Item, result: RecordResult): void {
    if (it.state === 'done') return;
    it.state = 'done';
    const req = it.req;
    req.results[it.index] = result;
    if (--req.remaining === 0) this.finish(req);
  }

  private finish(req: Pending): void {
    clearTimeout(req.timer);
    this.bytes -= req.bytes;
    req.resolve(req.results);
    if (this.bytes === 0) {
      for (const fn of this.idle) fn();
      this.idle.clear();
    }
  }

  /**
   * PRODUCE_TIMEOUT_MS passed: queued records are dropped (never sent: not written); sent ones have an unknown
   * outcome (their batch stays in flight until kafkajs answers it, see sendBatch).
   */
  private expire(req: Pending, items: Item[]): void {
    for (const it of items) {
      if (it.state === 'queued') {
        it.state = 'done';
        req.results[it.index] = { ok: false, partition: it.record.partition, errorCode: 50003, message: NOT_SENT };
        req.remaining--;
      } else if (it.state === 'sent') {
        it.state = 'done';
        req.results[it.index] = {
          ok: false,
          partition: it.record.partition,
          errorCode: 50003,
          message: UNKNOWN_OUTCOME.timedOut,
        };
        req.remaining--;
      }
    }
    // While a partition's batch waits for a stalled broker its queue is not drained: drop what expired now, so a
    // long stall under load holds no more than PRODUCE_TIMEOUT_MS worth of records.
    const touched = new Set<PartitionQueue>();
    for (const it of items) {
      const q = this.queues.get(`${it.topic}\u0000${it.record.partition}`);
      if (q) touched.add(q);
    }
    for (const q of touched) {
      if (!this.hasQueuedIn(q) && !q.busy) {
        this.ready.delete(q);
        this.queues.delete(`${q.topic}\u0000${q.partition}`);
      }
    }
    if (req.remaining <= 0) this.finish(req);
  }
}

/**
 * A batch kafkajs gave up on: 50002 only when Kafka refused it (nothing written, see errors.ts), else 50003
 * with the unknown-outcome text (a try may have been written before the answer was lost).
 */
function produceFailure(k: KafkaErrorClass): { code: 50002 | 50003; message: string } {
  if (k.refusedWrite) return { code: 50002, message: `${k.message}; the record was not written` };
  return { code: 50003, message: `${k.message}; the outcome is unknown (a retry may duplicate the record)` };
}

const EMPTY = Buffer.alloc(0);

function toMessage(r: ProduceRecord): Message {
  const m: Message = { key: r.key, value: r.value, partition: r.partition };
  if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
  if (r.headers && r.headers.length > 0) {
    // kafkajs takes headers as an object of arrays (same-name headers stay in order). kafkajs 2.2.4 cannot encode a
    // null header value (its size count calls Buffer.byteLength(null), failing the whole coalesced batch), so a
    // null value is written as an empty one.
    const headers: Record<string, Buffer[]> = Object.create(null) as Record<string, Buffer[]>;
    for (const h of r.headers) (headers[h.name] ??= []).push(h.value ?? EMPTY);
    m.headers = headers as unknown as Message['headers'];
  }
  return m;
}
