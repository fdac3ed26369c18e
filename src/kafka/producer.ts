/**
 * One producer per process, shared by every request. kafkajs does not coalesce concurrent send() calls and an
 * idempotent producer has one request in flight per broker, so this gathers the records of concurrent HTTP
 * requests (for up to `lingerMs`, and while the previous batch is in flight) into one `sendBatch`, then
 * resolves each request with its own offsets. Each request resolves only when Kafka acknowledged (or refused,
 * or timed out on) every one of its records.
 */
// First: kafkajs must load with our O(n) grouping (see kafkajs-patches.ts).
import './kafkajs-patches.js';
import type { Producer as KafkaJsProducer, Message, TopicMessages, CompressionTypes as CT } from 'kafkajs';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: its runtime values come from the default export under ESM.
const { CompressionTypes } = kafkajs;
import type { ProduceRecord, Producer, RecordResult } from './types.js';
import { describeKafkaError, isConnectivityError, isRetriable, protocolType } from './errors.js';
import { BATCH_OVERHEAD_BYTES, recordSize } from '../core/record-size.js';

export interface BatchingProducerOptions {
  lingerMs: number;
  timeoutMs: number;
  acks: -1 | 0 | 1;
  compression: 'none' | 'gzip';
  /** Upper bound for one partition's share of a batch (the topic's max.message.bytes). */
  maxBatchBytes: (topic: string) => number;
  /** Upper bound for one whole sendBatch request (below the broker's socket.request.max.bytes). */
  maxRequestBytes?: number;
  /** Told when a send failed because the cluster could not be reached. */
  onConnectivityError?: (e: unknown) => void;
  /** Told of every sendBatch: how many records the batch gathered (metrics). */
  onBatch?: (records: number) => void;
  /**
   * Idempotence: called before the next send once a batch failed or passed its deadline, for a fresh producer.
   * kafkajs rolls an idempotent producer's sequence numbers back after a failed request even when the broker wrote
   * the batch (its answer was lost with the leader). The next batch then reuses those numbers, and a broker that
   * holds the written batch takes it for a retry of that one: it answers with the written batch's offsets and drops
   * the new records, which we would acknowledge (seen in test/integration/failover.test.ts). A new producer id,
   * with sequences from 0, is the safe continuation. `previousSettled` resolves once the old producer's calls
   * ended (kafkajs may retry them past our deadline), so it can be disconnected then.
   */
  renewProducer?: (previousSettled: Promise<void>) => Promise<KafkaJsProducer>;
  /** Fault-injection seam for tests: wraps every sendBatch call. */
  sendBatch?: (
    send: KafkaJsProducer['sendBatch'],
    batch: Parameters<KafkaJsProducer['sendBatch']>[0],
  ) => ReturnType<KafkaJsProducer['sendBatch']>;
}

const UNANSWERED =
  'Kafka did not answer for this partition; the outcome is unknown (a retry may duplicate the record).';

/** After a failed renewal (cluster unreachable), the next attempt while records wait. */
const RENEW_RETRY_MS = 500;

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
  /** Already sent once and put back after a poisoned-metadata failure (see the send's failure handler). */
  retried?: boolean;
}

export class BatchingProducer implements Producer {
  private queue: Item[] = [];
  private head = 0;
  private inflight = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private bytes = 0;
  private readonly idle = new Set<() => void>();
  private readonly maxRequestBytes: number;
  private readonly compression: CT;
  /** The current producer's sendBatch calls not answered yet. */
  private calls = new Set<Promise<unknown>>();
  /** A batch failed or timed out: with renewProducer, the next batch goes out on a new producer. */
  private stale = false;

  constructor(
    private producer: KafkaJsProducer,
    private readonly opts: BatchingProducerOptions,
  ) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 32 * 1024 * 1024;
    this.compression = opts.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
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
      const items: Item[] = records.map((record, index) => {
        const size = recordSize(record);
        req.bytes += size;
        return { topic, record, size, req, index, state: 'queued' };
      });
      this.bytes += req.bytes;
      for (const it of items) this.queue.push(it);
      this.schedule();
    });
  }

  /** Resolves when every accepted record has been answered. */
  flush(): Promise<void> {
    if (this.bytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private schedule(): void {
    if (this.inflight || this.lingerTimer) return;
    if (this.opts.lingerMs <= 0) {
      queueMicrotask(() => this.drain());
      return;
    }
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.drain();
    }, this.opts.lingerMs);
  }

  private pending(): number {
    return this.queue.length - this.head;
  }

  /** Take the next batch off the queue: stop at the first record that would overflow its partition or the request. */
  private takeBatch(): Item[] {
    const batch: Item[] = [];
    const partBytes = new Map<string, number>();
    let total = 0;
    while (this.head < this.queue.length) {
      const it = this.queue[this.head]!;
      if (it.state !== 'queued') {
        this.head++;
        continue;
      }
      const key = `${it.topic}\u0000${it.record.partition}`;
      const used = partBytes.get(key) ?? BATCH_OVERHEAD_BYTES;
      const limit = this.opts.maxBatchBytes(it.topic);
      if (batch.length > 0 && (used + it.size > limit || total + it.size > this.maxRequestBytes)) break;
      partBytes.set(key, used + it.size);
      total += it.size;
      it.state = 'sent';
      batch.push(it);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private drain(): void {
    if (this.inflight) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.stale && this.opts.renewProducer) {
      if (this.hasQueued()) this.renew();
      return;
    }
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.inflight = true;
    this.opts.onBatch?.(batch.length);

    const byTopic = new Map<string, { messages: Message[]; items: Item[] }>();
    for (const it of batch) {
      let t = byTopic.get(it.topic);
      if (!t) byTopic.set(it.topic, (t = { messages: [], items: [] }));
      t.messages.push(toMessage(it.record));
      t.items.push(it);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, t]) => ({ topic, messages: t.messages }));
    const request = {
      topicMessages,
      acks: this.opts.acks,
      timeout: this.opts.timeoutMs,
      compression: this.compression,
    };
    const send = this.producer.sendBatch.bind(this.producer);

    // The slot is released when Kafka answers, or at the deadline (the records then report an unknown outcome).
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(deadline);
      this.inflight = false;
      // Records queued meanwhile have waited a whole round trip already: send them now, not after another linger.
      if (this.pending() > 0) setImmediate(() => this.drain());
    };
    const deadline = setTimeout(() => {
      this.markStale();
      release();
    }, this.opts.timeoutMs);

    const call = this.opts.sendBatch ? this.opts.sendBatch(send, request) : send(request);
    const calls = this.calls;
    calls.add(call);
    const forget = () => calls.delete(call);
    call.then(forget, forget);
    call.then(
      (metadata) => {
        const base = new Map<string, number>();
        for (const m of metadata) base.set(`${m.topicName}\u0000${m.partition}`, Number(m.baseOffset));
        const seen = new Map<string, number>();
        let unanswered = false;
        for (const [topic, t] of byTopic) {
          for (const it of t.items) {
            const key = `${topic}\u0000${it.record.partition}`;
            const n = seen.get(key) ?? 0;
            seen.set(key, n + 1);
            const b = base.get(key);
            if (this.opts.acks !== 0 && (b === undefined || b < 0)) {
              // kafkajs 2.2.4 can resolve without some partitions: when a retry finds a partition's new leader among
              // the brokers that already answered, it never re-sends those records. Never acknowledge them.
              unanswered = true;
              this.settle(it, { ok: false, partition: it.record.partition, errorCode: 50003, message: UNANSWERED });
              continue;
            }
            // acks=0: Kafka sends no answer, so there is no offset to report (-1, as the Java client does).
            this.settle(it, {
              ok: true,
              partition: it.record.partition,
              offset: b === undefined || b < 0 ? -1 : b + n,
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
        // kafkajs refreshes the metadata of every topic a producer ever sent to; once one of them is deleted, each
        // refresh fails with UNKNOWN_TOPIC_OR_PARTITION, whatever this batch's topics are. The routes checked that
        // this batch's topics exist, so the batch goes once more, first in line, on the fresh producer.
        if (
          this.opts.renewProducer &&
          protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION' &&
          batch.every((it) => !it.retried)
        ) {
          const again = batch.filter((it) => it.state === 'sent');
          for (const it of again) {
            it.state = 'queued';
            it.retried = true;
          }
          this.queue.splice(this.head, 0, ...again);
          release();
          return;
        }
        if (isConnectivityError(e)) this.opts.onConnectivityError?.(e);
        const code = isRetriable(e) ? 50003 : 50002;
        const message = `${describeKafkaError(e)}; the record may or may not have been written`;
        for (const it of batch)
          this.settle(it, { ok: false, partition: it.record.partition, errorCode: code, message });
        release();
      },
    );
  }

  private markStale(): void {
    if (this.opts.renewProducer) this.stale = true;
  }

  /** Any record still waiting to be sent (skips the ones that expired meanwhile). */
  private hasQueued(): boolean {
    while (this.head < this.queue.length && this.queue[this.head]!.state !== 'queued') this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      return false;
    }
    return true;
  }

  /** Holds the send slot while a new producer connects; queued records wait (their own deadline still answers them). */
  private renew(): void {
    this.inflight = true;
    const previousSettled = Promise.allSettled([...this.calls]).then(() => undefined);
    this.opts.renewProducer!(previousSettled)
      .then(
        (p) => {
          this.producer = p;
          this.calls = new Set();
          this.stale = false;
        },
        () => {
          /* still unreachable: try again below while records wait */
        },
      )
      .finally(() => {
        this.inflight = false;
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

  /** PRODUCE_TIMEOUT_MS passed: unsent records are dropped from the queue; sent ones have an unknown outcome. */
  private expire(req: Pending, items: Item[]): void {
    for (const it of items) {
      if (it.state === 'queued') {
        it.state = 'done';
        req.results[it.index] = {
          ok: false,
          partition: it.record.partition,
          errorCode: 50003,
          message: 'Timed out before the record was sent; it was not written.',
        };
        req.remaining--;
      } else if (it.state === 'sent') {
        it.state = 'done';
        req.results[it.index] = {
          ok: false,
          partition: it.record.partition,
          errorCode: 50003,
          message:
            'Timed out waiting for Kafka to acknowledge; the outcome is unknown (a retry may duplicate the record).',
        };
        req.remaining--;
      }
    }
    if (req.remaining <= 0) this.finish(req);
  }
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
