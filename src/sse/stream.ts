/**
 * One SSE stream: records from a Kafka reader → `text/event-stream` bytes, pulled by the HTTP response.
 *
 * Every event carries the stream's position on every partition (event-id.ts), so whatever happens to this
 * connection the client resumes exactly after the last event it got. Flow control follows the WebSocket rules:
 * events wait in a queue of our own until the response pulls them (the node response asks for more only once the
 * socket drained), a reader of the stream's own pauses while that queue is over the high water and resumes at half
 * of it (the topic's shared reader cannot pause: past one more fetch the stream ends instead), and a stream that
 * stays over for SSE_SLOW_CLIENT_MS is cut: its memory is freed at once, and the client's Last-Event-ID still says
 * where it stands.
 */
import type {
  AssignSession,
  BroadcastSink,
  BroadcastWatch,
  ConsumedRecord,
  RecordSink,
  TopicPartitionOffset,
} from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import { recordBody } from '../ws/encode.js';
import { LOW_WATER_RATIO } from '../ws/flow.js';
import type { Format } from '../ws/protocol.js';
import { encodeEventId } from './event-id.js';

/** Shared-reader records held while the stream starts (a round trip); the broadcast watch holds as many (10,000). */
const SHARED_EARLY_MAX = 10_000;
/** At most this much is handed to the response per pull, so the node buffer holds little beyond our own queue. */
const CHUNK_BYTES = 64 * 1024;

export interface SseStreamOptions {
  topic: string;
  format: Format;
  /** The key filter (every record passes without one). */
  match: (key: Buffer | null) => boolean;
  heartbeatMs: number;
  retryMs: number;
  highWaterBytes: number;
  slowClientMs: number;
  /**
   * On the shared reader (which cannot pause), how far past the high water the queue may grow before the stream
   * ends: one fetch's worth (KAFKA_CONSUMER_FETCH_MAX_BYTES), since a whole fetch arrives before the socket can
   * take any of it, even for a client that keeps up.
   */
  sharedOverflowBytes?: number | undefined;
  /** Drops the connection at once (a slow reader: queued bytes must not wait for a client that does not read). */
  destroyConnection?: (() => void) | undefined;
  /** Runs once when the stream is over, for whatever reason. */
  onClosed?: ((reason: CloseReason) => void) | undefined;
  /**
   * Epoch ms of the caller's token `exp` (null: no authentication). The stream ends there, as a WebSocket closes
   * with 4401: a stream may not outlive the credentials that opened it.
   */
  expiresAt?: number | null | undefined;
  logger: Logger;
}

export type CloseReason = 'client' | 'slow' | 'kafka' | 'shutdown' | 'expired';

/**
 * Where the records come from: a reader of the stream's own (pausable), or the topic's shared broadcast reader
 * (a new stream from `latest`: one Kafka reader for all of them; it cannot be paused for one stream).
 */
export interface RecordSource {
  readonly positions: readonly TopicPartitionOffset[];
  readonly paused: boolean;
  /** False for the shared reader: a stream that falls too far behind ends instead, and resumes on a reader of its own. */
  readonly pausable: boolean;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export function ownReader(session: AssignSession): RecordSource {
  return {
    get positions() {
      return session.positions;
    },
    get paused() {
      return session.paused;
    },
    pausable: true,
    pause: () => session.pause(),
    resume: () => session.resume(),
    close: () => session.close(),
  };
}

/** The shared reader's watch, limited to the stream's partitions. */
export function sharedReader(watch: BroadcastWatch, partitions: readonly number[]): RecordSource {
  const want = new Set(partitions);
  return {
    positions: watch.positions.filter((p) => want.has(p.partition)),
    paused: false,
    pausable: false,
    pause() {},
    resume() {},
    async close() {
      watch.close();
    },
  };
}

export class SseStream {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  delivered = 0;
  private readonly positions = new Map<number, number>();
  private readonly low: number;
  private queue: Buffer[] = [];
  private queued = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private wake: (() => void) | undefined;
  private wakeScheduled = false;
  private session: RecordSource | undefined;
  /** Shared-reader records that arrived before `begin` (the watch hands them over as it starts). */
  private early: ConsumedRecord[] | undefined = [];
  /** More arrived before `begin` than it holds: the stream ends after its `subscribed` event, whose id resumes it. */
  private earlyOverflow = false;
  private started = false;
  private over = false;
  /** No more events: the queue is sent, then the response ends. */
  private ending = false;
  private closedFor: CloseReason | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SseStreamOptions) {
    this.low = Math.floor(opts.highWaterBytes * LOW_WATER_RATIO);
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: (c) => this.pull(c),
        cancel: () => this.close('client'),
      },
      // Nothing is buffered inside the web stream: our queue is the only one, and it is what the high water counts.
      { highWaterMark: 0 },
    );
  }

  get closed(): boolean {
    return this.closedFor !== undefined;
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /** The sink for the Kafka reader; records that arrive before `begin` are refused (the reader fetches them again). */
  sink(): RecordSink {
    return {
      onRecord: (r) => this.onRecord(r),
      onFatal: (e) => {
        this.opts.logger.warn({ err: { code: e.errorCode, message: e.message } }, 'SSE stream: Kafka reader stopped');
        this.end('kafka');
      },
    };
  }

  /** The sink for the topic's shared reader: never refuses (it cannot wait); only the stream's partitions count. */
  sharedSink(): BroadcastSink {
    return {
      onRecord: (r) => {
        if (this.early) {
          // At the cap (the broadcast watch's own cap is the same) records may have been dropped: end rather than gap.
          if (this.early.length < SHARED_EARLY_MAX) this.early.push(r);
          if (this.early.length >= SHARED_EARLY_MAX) this.earlyOverflow = true;
          return;
        }
        if (this.positions.has(r.partition)) this.onRecord(r);
      },
      onFatal: () => this.end('kafka'),
    };
  }

  /** Forget what the shared reader handed over before `begin` (the stream will not use it after all). */
  dropEarly(): void {
    if (this.early) this.early = [];
    this.earlyOverflow = false;
  }

  /** The reader joined and knows its start offsets: send `retry:` and the `subscribed` event, then records. */
  begin(session: RecordSource, resumed: boolean): void {
    this.session = session;
    // Gone (client left, shutdown) while the reader was joining: it has nothing to read for.
    if (this.closed || this.ending) return void session.close();
    for (const p of session.positions) this.positions.set(p.partition, p.offset);
    this.write(`retry: ${this.opts.retryMs}\n\n`);
    const data = JSON.stringify({ topic: this.opts.topic, resumed, positions: session.positions });
    this.write(`id: ${this.id()}\nevent: subscribed\ndata: ${data}\n\n`);
    this.heartbeat = setInterval(() => {
      if (!this.over) this.write(': keep-alive\n\n');
    }, this.opts.heartbeatMs);
    this.heartbeat.unref();
    this.armExpiry();
    this.started = true;
    if (session.paused) session.resume();
    const early = this.early ?? [];
    this.early = undefined;
    // Records were dropped: rather than a gap, an end; the reconnect reads from the subscribed id with its own reader.
    if (this.earlyOverflow) return this.end('slow');
    for (const r of early) if (this.positions.has(r.partition)) this.onRecord(r);
  }

  private id(): string {
    return encodeEventId(this.opts.topic, this.positions);
  }

  private onRecord(r: ConsumedRecord): boolean {
    if (!this.started || this.closed || this.ending) return false;
    const shared = this.session?.pausable === false;
    if (this.over && !shared) return false;
    const next = this.positions.get(r.partition);
    if (next !== undefined && r.offset < next) return true; // sent already (a refetch)
    this.positions.set(r.partition, r.offset + 1);
    // A filtered-out record still moves the position: the next event's id carries it.
    if (!this.opts.match(r.key)) return true;
    this.write(`id: ${this.id()}\nevent: record\ndata: ${dataLines(`{${recordBody(r, this.opts.format)}`)}\n\n`);
    this.delivered++;
    if (this.queued > this.opts.highWaterBytes && !this.over) this.setOver(true);
    // The shared reader goes on for the others: past its allowance this stream ends after its queue, and its
    // client's reconnect (Last-Event-ID) continues on a reader of its own, which can wait for it.
    if (shared && this.queued > this.opts.highWaterBytes + (this.opts.sharedOverflowBytes ?? 0)) this.end('slow');
    return true;
  }

  private write(text: string): void {
    if (this.closed) return;
    const b = Buffer.from(text, 'utf8');
    this.queue.push(b);
    this.queued += b.length;
    this.scheduleWake();
  }

  /** Wakes a waiting pull after the current Kafka batch was fed, so one chunk carries the whole batch. */
  private scheduleWake(): void {
    if (this.wakeScheduled || !this.wake) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      this.wake?.();
    });
  }

  private pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (this.closed) return;
    if (this.queued > 0) return this.flush(c);
    if (this.ending) return this.finish(c);
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        if (this.closed) return resolve();
        if (this.queued > 0) this.flush(c);
        else if (this.ending) this.finish(c);
        resolve();
      };
    });
  }

  private flush(c: ReadableStreamDefaultController<Uint8Array>): void {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && bytes < CHUNK_BYTES) bytes += this.queue[n++]!.length;
    const chunk = n === 1 ? this.queue[0]! : Buffer.concat(this.queue.slice(0, n), bytes);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    this.queued -= bytes;
    c.enqueue(chunk);
    if (this.over && this.queued <= this.low) this.setOver(false);
  }

  private finish(c: ReadableStreamDefaultController<Uint8Array>): void {
    c.close();
    this.close(this.endReason ?? 'shutdown');
  }

  private endReason: CloseReason | undefined;

  private setOver(over: boolean): void {
    this.over = over;
    if (over) {
      this.session?.pause();
      this.slowTimer ??= setTimeout(() => this.cut(), this.opts.slowClientMs);
      this.slowTimer.unref();
    } else {
      clearTimeout(this.slowTimer);
      this.slowTimer = undefined;
      if (!this.ending) this.session?.resume();
    }
  }

  /**
   * At the token's `exp`: an `expired` event (error_code 40101), then a graceful end. An EventSource reconnects with
   * the URL it has; a page with a fresh token opens a new one with `lastEventId=` and loses nothing.
   */
  private armExpiry(): void {
    const at = this.opts.expiresAt;
    if (at === null || at === undefined) return;
    clearTimeout(this.expiryTimer);
    // setTimeout holds at most ~24.8 days; a later exp is re-armed when that wait ends.
    this.expiryTimer = setTimeout(
      () => {
        if (at - Date.now() > 0) return this.armExpiry();
        this.opts.logger.info('SSE stream ended: the token expired');
        const data = JSON.stringify({ error_code: 40101, message: 'The token expired; reconnect with a fresh one.' });
        this.write(`event: expired\ndata: ${data}\n\n`);
        this.end('expired');
      },
      Math.min(Math.max(at - Date.now(), 0), 2 ** 31 - 1),
    );
    this.expiryTimer.unref();
  }

  /** Graceful end: what is queued is still sent, then the response ends and the client reconnects. */
  end(reason: CloseReason): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.endReason = reason;
    clearInterval(this.heartbeat);
    void this.session?.close();
    if (this.wake) this.wake();
  }

  /** A reader that stayed too slow: drop the connection and the queue now. */
  private cut(): void {
    if (this.closed) return;
    this.opts.logger.info({ queuedBytes: this.queued }, 'SSE stream closed: the client read too slowly');
    this.close('slow');
    // Dropping the connection also cancels the body; erroring the body is the fallback (node's adapter would
    // print that error to stderr).
    if (this.opts.destroyConnection) this.opts.destroyConnection();
    else
      try {
        this.controller.error(new Error('slow reader'));
      } catch {
        // already closed
      }
  }

  /** Release everything (idempotent). */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closedFor = reason;
    clearInterval(this.heartbeat);
    clearTimeout(this.slowTimer);
    clearTimeout(this.expiryTimer);
    this.queue = [];
    this.queued = 0;
    this.wake?.();
    void this.session?.close();
    this.opts.onClosed?.(reason);
  }
}

/** One `data:` line per line of the payload (a pretty-printed JSON value keeps its meaning: SSE joins them with \n). */
export function dataLines(payload: string): string {
  return /[\r\n]/.test(payload) ? payload.split(/\r\n|\r|\n/).join('\ndata: ') : payload;
}
