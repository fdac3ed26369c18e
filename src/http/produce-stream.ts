/**
 * v3 streaming produce: many JSON record objects in one request body, one report per record written back in
 * order as each is acknowledged (`\r\n` after each, as Confluent's chunked output does), a bad record reported for
 * itself while the stream goes on.
 *
 * Memory is bounded per stream: the request body is read only while fewer than STREAM_MAX_AWAITING records wait
 * for Kafka and fewer than STREAM_MAX_UNREAD_BYTES of reports wait for the client to read them. A fast sender, or
 * a client that stops reading its reports, is thus held back by TCP instead of filling the gateway. Per process,
 * records wait (up to PRODUCE_TIMEOUT_MS) while the producer's in-flight bytes are at MAX_INFLIGHT_PRODUCE_BYTES;
 * after that they are reported 503 50301.
 *
 * A record is reported 200 only once Kafka acknowledged it. When the client hangs up, nothing more is read or
 * sent: the records already handed to the producer are the only ones still written.
 */
import type { Config } from '../config.js';
import { ErrorCodes, GatewayError, errors, isGatewayError } from '../errors.js';
import type { KeylessSpreader } from '../core/partitioner.js';
import type { KafkaGateway, ProduceRecord, RecordResult } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { parseJsonBody } from './json.js';
import { JsonSplitter, type SplitItem } from './json-splitter.js';
import { overInflightWindow, overloadedMessage, type ProduceTarget, RecordPreparer } from './produce-pipeline.js';
import { type DataInfo, decodeV3Record, formatTimestamp, type V3Record } from './records-v3.js';

/** Records of one stream handed to Kafka and not answered yet, at most (then the body is not read). */
export const STREAM_MAX_AWAITING = 1024;
/**
 * Report bytes of one stream the client has not read yet, at most (then the body is not read). Large enough that a
 * client which sends its whole body before reading anything (Python's `requests` with a generator) still gets
 * ~150,000 reports through; a longer stream needs a client that reads while it sends.
 */
export const STREAM_MAX_UNREAD_BYTES = 32 * 1024 * 1024;
/** Largest chunk handed to the response at once (many small reports per write). */
const WRITE_CHUNK_BYTES = 64 * 1024;
/** How long before REQUEST_TIMEOUT_MS a stream stops reading: 10% of it, within these bounds. */
const STOP_MARGIN_MIN_MS = 500;
const STOP_MARGIN_MAX_MS = 3000;
const EXPIRED = Symbol('expired');
/** How often a stream looks again at the process-wide in-flight window while it is full. */
const WINDOW_POLL_MS = 10;

const SEPARATOR = '\r\n';

export interface ProduceStreamOptions {
  kafka: KafkaGateway;
  config: Pick<
    Config,
    | 'MAX_BODY_BYTES'
    | 'MAX_INFLIGHT_PRODUCE_BYTES'
    | 'PRODUCE_TIMEOUT_MS'
    | 'AUTH_PRINCIPAL_HEADER'
    | 'REQUEST_TIMEOUT_MS'
  >;
  target: ProduceTarget;
  clusterId: string;
  sub: string | null;
  spreader: KeylessSpreader;
  rateLimiter?: RateLimiter | undefined;
  logger: Logger;
  /** Aborts when the client went away. */
  signal: AbortSignal;
}

/** One record's place in the report order: its report text once known. */
interface Slot {
  text: string | undefined;
  /** Why the gateway did not send it (for a single-record body, which answers with the error's own status). */
  error?: GatewayError;
}

/** The success report, as Confluent writes it (key/value only when the record named a type). */
export function successReport(
  clusterId: string,
  topic: string,
  partition: number,
  offset: number,
  timestamp: number,
  key: DataInfo | undefined,
  value: DataInfo | undefined,
) {
  return {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: partition,
    offset,
    timestamp: formatTimestamp(timestamp),
    ...(key ? { key } : {}),
    ...(value ? { value } : {}),
  };
}

/** An error as a report (`{"error_code", "message"}`); anything not ours is a 500 without details. */
export function errorReport(e: unknown, logger: Logger): { error_code: number; message: string } {
  if (isGatewayError(e)) return { error_code: e.errorCode, message: e.message };
  logger.error({ err: e }, 'unhandled error in a produce stream');
  return { error_code: ErrorCodes.INTERNAL, message: 'Internal server error.' };
}

export class ProduceStream {
  /** The reports, in order, as the response body. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Resolves 'data' at the first value in the body, 'empty' when it ended without one; rejects on a body error then. */
  readonly first: Promise<'data' | 'empty'>;

  private readonly slots: Slot[] = [];
  private head = 0;
  private awaiting = 0;
  private unreadBytes = 0;
  private ended = false;
  private closed = false;
  /** The request's time is up (see deadline): nothing more is read. */
  private expired = false;
  private readonly deadline: number;
  private count = 0;
  private readonly splitter: JsonSplitter;
  private readonly preparer: RecordPreparer;
  private wakeWriter: (() => void) | undefined;
  private wakeReader: (() => void) | undefined;
  private settleFirst: ((v: 'data' | 'empty') => void) | undefined;
  private settleSingle: ((v: GatewayError | undefined) => void) | undefined;
  private failFirst: ((e: unknown) => void) | undefined;

  constructor(private readonly o: ProduceStreamOptions) {
    this.splitter = new JsonSplitter(o.config.MAX_BODY_BYTES);
    // Node cuts a request that is not received within REQUEST_TIMEOUT_MS (checked about once a second). Stop reading
    // a little before, so the stream ends with every report written and a 408 report saying where it stopped,
    // instead of a cut connection that loses the reports of the records in flight.
    const timeout = o.config.REQUEST_TIMEOUT_MS;
    this.deadline = Date.now() + timeout - Math.max(STOP_MARGIN_MIN_MS, Math.min(STOP_MARGIN_MAX_MS, timeout / 10));
    this.preparer = new RecordPreparer(o.target, o.config, o.sub);
    this.first = new Promise((resolve, reject) => {
      this.settleFirst = resolve;
      this.failFirst = reject;
    });
    // Unhandled if the route never looks (it always does); keep Node quiet either way.
    this.first.catch(() => {});
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.pull(controller),
        cancel: () => this.close(),
      },
      { highWaterMark: 0 },
    );
    o.signal.addEventListener('abort', () => this.close(), { once: true });
  }

  /**
   * Reads the body to its end (or until the client is gone, or the request's time is up), handing each record on
   * as it completes.
   */
  async run(body: AsyncIterable<Uint8Array>): Promise<void> {
    const it = body[Symbol.asyncIterator]();
    let done = false;
    // When the time is up, the pending read (if any) is let go. (A fresh promise per read: racing every read against
    // one long-lived promise would pile a reaction onto it per chunk until it settles.)
    let interrupt: (() => void) | undefined;
    const timer = setTimeout(
      () => {
        this.expired = true;
        interrupt?.();
        this.changed();
      },
      Math.max(0, this.deadline - Date.now()),
    );
    try {
      while (!this.closed && !this.expired) {
        const next = await new Promise<IteratorResult<Uint8Array> | typeof EXPIRED>((resolve, reject) => {
          interrupt = () => resolve(EXPIRED);
          it.next().then(resolve, reject);
        });
        interrupt = undefined;
        if (next === EXPIRED) break;
        if (next.done) {
          done = true;
          const rest = this.splitter.end();
          if (rest.length > 0 && !this.closed) await this.handle(rest);
          break;
        }
        const items = this.splitter.push(next.value);
        if (items.length > 0) await this.handle(items);
        await this.room();
      }
      if (this.expired && !done && !this.closed) {
        const e = new GatewayError(
          408,
          ErrorCodes.REQUEST_TIMEOUT,
          `The stream reached its time limit (REQUEST_TIMEOUT_MS, ${this.o.config.REQUEST_TIMEOUT_MS} ms): the records before this report were read, nothing after it was; send the rest in a new request.`,
        );
        this.resolve(this.newSlot(), errorReport(e, this.o.logger), e);
      }
    } catch (e) {
      if (this.closed || this.o.signal.aborted) this.close();
      else if (this.settleFirst && this.slots.length === 0) this.failFirst?.(e);
      else this.resolve(this.newSlot(), errorReport(e, this.o.logger), e);
    } finally {
      clearTimeout(timer);
      if (!done) void it.return?.()?.catch(() => {});
      this.ended = true;
      this.settleFirst?.('empty');
      this.settleFirst = undefined;
      this.changed();
    }
  }

  /**
   * For a body of declared length: resolves, once it is known, with the gateway's refusal of the body's only record
   * (so the route can answer with that error's own status), or undefined when the body holds more records or its
   * one record went to Kafka.
   */
  singleRefusal(): Promise<GatewayError | undefined> {
    return new Promise((resolve) => {
      this.settleSingle = resolve;
      this.changed();
    });
  }

  /** Records read but not yet answered by Kafka, and report bytes not yet taken by the client (tests, metrics). */
  get backlog(): { awaiting: number; unreadBytes: number } {
    return { awaiting: this.awaiting, unreadBytes: this.unreadBytes };
  }

  private close(): void {
    this.closed = true;
    this.changed();
  }

  private newSlot(): Slot {
    if (this.settleFirst) {
      this.settleFirst('data');
      this.settleFirst = undefined;
    }
    const slot: Slot = { text: undefined };
    this.slots.push(slot);
    return slot;
  }

  private resolve(slot: Slot, report: object, error?: unknown): void {
    if (isGatewayError(error)) slot.error = error;
    slot.text = JSON.stringify(report) + SEPARATOR;
    this.unreadBytes += slot.text.length;
    this.changed();
  }

  /** Decodes the values that completed in one chunk and sends the good ones to Kafka together. */
  private async handle(items: SplitItem[]): Promise<void> {
    const keyless = this.o.spreader.pick(this.o.target.topic, this.o.target.partitions);
    const group: { slot: Slot; v3: V3Record; record: ProduceRecord }[] = [];
    let bytes = 0;
    for (const item of items) {
      const slot = this.newSlot();
      const where = `record ${++this.count}`;
      try {
        const v3 = this.decode(item, where);
        const { record, size } = this.preparer.prepare(v3.decoded, keyless, where);
        // The report says when the record was made: fix it here rather than let the client library pick it.
        record.timestamp ??= Date.now();
        group.push({ slot, v3, record });
        bytes += size;
      } catch (e) {
        this.resolve(slot, errorReport(e, this.o.logger), e);
      }
    }
    if (group.length === 0) return;

    const refusal = this.rateRefusal(group.length) ?? (await this.windowRefusal(bytes));
    if (refusal || this.closed) {
      // A client already gone gets nothing more written for it; its reports would go nowhere.
      const error = refusal ?? errors.badRequest('Client went away.');
      for (const g of group) this.resolve(g.slot, errorReport(error, this.o.logger), error);
      return;
    }
    this.awaiting += group.length;
    const { topic } = this.o.target;
    const send = this.o.kafka.producer.send(
      topic,
      group.map((g) => g.record),
    );
    void send.then(
      (results: RecordResult[]) => {
        this.awaiting -= group.length;
        for (let i = 0; i < group.length; i++) {
          const g = group[i]!;
          const r = results[i]!;
          this.resolve(
            g.slot,
            r.ok
              ? successReport(this.o.clusterId, topic, r.partition, r.offset, g.record.timestamp!, g.v3.key, g.v3.value)
              : { error_code: r.errorCode, message: r.message },
          );
        }
      },
      (e: unknown) => {
        // The producer never rejects for Kafka errors; anything else is a bug, reported as 500 per record.
        this.awaiting -= group.length;
        for (const g of group) this.resolve(g.slot, errorReport(e, this.o.logger));
      },
    );
  }

  private decode(item: SplitItem, where: string): V3Record {
    if (item.kind === 'tooLarge')
      throw errors.tooLarge(
        `${where} is ${item.size} bytes of JSON, over the limit of ${this.o.config.MAX_BODY_BYTES} bytes per record (MAX_BODY_BYTES); it was not written.`,
      );
    if (item.kind === 'truncated') throw errors.badRequest(`${where}: the body ended in the middle of a JSON value.`);
    const parsed = parseJsonBody(item.bytes);
    return decodeV3Record(parsed, parsed.value, where);
  }

  /** RATE_LIMIT_RECORDS_PER_S: over it, these records are reported 429 (Confluent reports rate limits inline too). */
  private rateRefusal(n: number): GatewayError | undefined {
    const d = this.o.rateLimiter?.take(this.o.sub, n);
    if (!d || d.ok) return undefined;
    return new GatewayError(429, ErrorCodes.RATE_LIMITED, `Rate limit exceeded; retry after ${d.retryAfterS} s.`);
  }

  /** Waits while the process-wide window is full; still full after PRODUCE_TIMEOUT_MS → 503 50301 for these. */
  private async windowRefusal(bytes: number): Promise<GatewayError | undefined> {
    const { kafka, config } = this.o;
    if (!overInflightWindow(kafka, config, bytes)) return undefined;
    const deadline = Date.now() + config.PRODUCE_TIMEOUT_MS;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, WINDOW_POLL_MS));
      if (!overInflightWindow(kafka, config, bytes)) return undefined;
    }
    return errors.overloaded(overloadedMessage);
  }

  /** Resolves when this stream may read more of the body (or is closed). */
  private room(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeReader = resolve;
    });
  }

  private hasRoom(): boolean {
    return (
      this.closed || this.expired || (this.awaiting < STREAM_MAX_AWAITING && this.unreadBytes < STREAM_MAX_UNREAD_BYTES)
    );
  }

  private changed(): void {
    if (this.settleSingle) {
      const only = this.slots[0];
      const settled =
        this.slots.length > 1 || (this.ended && (only === undefined || only.text !== undefined)) || this.closed;
      if (settled) {
        const settle = this.settleSingle;
        this.settleSingle = undefined;
        settle(this.slots.length === 1 && this.head === 0 ? only?.error : undefined);
      }
    }
    if (this.wakeReader && this.hasRoom()) {
      const wake = this.wakeReader;
      this.wakeReader = undefined;
      wake();
    }
    if (this.wakeWriter) {
      const wake = this.wakeWriter;
      this.wakeWriter = undefined;
      wake();
    }
  }

  /** Hands the next reports that are known, in order, to the response. */
  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.closed) {
        controller.close();
        return;
      }
      let text = '';
      while (this.head < this.slots.length && text.length < WRITE_CHUNK_BYTES) {
        const slot = this.slots[this.head]!;
        if (slot.text === undefined) break;
        text += slot.text;
        this.unreadBytes -= slot.text.length;
        this.slots[this.head++] = undefined as unknown as Slot;
      }
      if (this.head > 1024 && this.head * 2 > this.slots.length) {
        this.slots.splice(0, this.head);
        this.head = 0;
      }
      if (text.length > 0) {
        controller.enqueue(Buffer.from(text, 'utf8'));
        this.changed();
        return;
      }
      if (this.ended && this.head === this.slots.length) {
        controller.close();
        return;
      }
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
  }
}
