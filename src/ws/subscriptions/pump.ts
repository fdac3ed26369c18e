/**
 * The part group and assign subscriptions share: records from a pausable Kafka session into the socket under
 * flow control. A client `pause` (and the time before `subscribed`) pauses the Kafka session. A full ack window only
 * refuses records: the session then waits for `room()` inside its fetched batch (bounded, see RecordSink.room)
 * rather than dropping the rest of the batch and fetching it again after every ack. A socket over its high water
 * (or held by the send budget) refuses records and lets the session pause at once (RecordSink.roomSoon), so a
 * subscription whose socket stopped reading holds no fetched records.
 * With `batch` (opt-in) the records of one partition taken in one go leave as one `records` frame.
 */
import { mayRead } from '../../auth/authorize.js';
import type { Principal } from '../../auth/principal.js';
import type { ConsumedRecord, ConsumerSession, RecordSink, TopicPartition } from '../../kafka/index.js';
import { toErrorFrame, WsError } from '../close-codes.js';
import { batchEntry, RecordFrameWriter, recordFramePrefix, recordsFrame } from '../encode.js';
import { AckWindow } from '../flow.js';
import {
  DEFAULTS,
  LIMITS,
  type AckFrame,
  type Format,
  type Mode,
  type SubscribeAssign,
  type SubscribeGroup,
} from '../protocol.js';
import { readAccess, type SubscriptionDeps, type Subscription, type SubscriptionStats } from './types.js';

/** Records taken for a `records` frame that is not sent yet (it goes when full, or when the current work ends). */
interface OpenBatch {
  topic: string;
  partition: number;
  entries: string[];
  chars: number;
  lastOffset: number;
}

export abstract class PumpedSubscription<F extends SubscribeGroup | SubscribeAssign> implements Subscription {
  abstract readonly mode: Mode;
  protected session: ConsumerSession | undefined;
  protected readonly window: AckWindow;
  protected readonly format: Format;
  protected readonly manualAck: boolean;
  protected started = false;
  protected closed = false;
  private clientPaused = false;
  private kafkaPaused = false;
  private delivered = 0;
  private closing: Promise<void> | undefined;
  /** The session waits for these after a refusal (RecordSink.room). */
  private roomWaiters: (() => void)[] = [];
  /** `batch.maxRecords`; 0 = one `record` frame per record (the default). */
  private readonly batchMax: number;
  private batch: OpenBatch | undefined;
  private flushQueued = false;
  private readonly flushTask = () => {
    this.flushQueued = false;
    this.flush();
  };

  private prefix: (TopicPartition & { frames: RecordFrameWriter }) | undefined;
  /** Records sent but not yet counted in the metrics. */
  private uncounted = 0;
  private readonly countTask = () => {
    const n = this.uncounted;
    this.uncounted = 0;
    this.deps.delivered?.(this.mode, n);
  };

  readonly id: string;

  constructor(
    protected readonly deps: SubscriptionDeps,
    protected readonly frame: F,
  ) {
    this.id = frame.id;
    this.format = frame.format ?? DEFAULTS.format;
    this.manualAck = (frame.ack ?? DEFAULTS.ack) === 'manual';
    this.window = new AckWindow(frame.window ?? DEFAULTS.window);
    this.batchMax = frame.batch?.maxRecords ?? 0;
  }

  abstract start(): Promise<void>;

  allowedFor(p: Principal): boolean {
    return mayRead(p, readAccess(this.frame));
  }
  /** Called for an acknowledged record (manual ack, or written to the socket with ack=auto); commit = offset + 1. */
  protected abstract acknowledged(tp: TopicPartition, commit: number): void;

  /** The sink handed to the Kafka session. */
  protected sink(): RecordSink {
    return {
      onRecord: (r) => this.onRecord(r),
      room: () => this.room(),
      // A full ack window frees up as the client acks: worth waiting for inside the fetched batch. A socket over its
      // high water (or held by the send budget) may never read again, and the wait would keep the whole fetch
      // response alive: the session pauses at once instead and fetches again when the socket drained to low water.
      roomSoon: () => !this.deps.port.over,
      onFatal: (e) => {
        if (this.closed) return;
        this.closed = true;
        this.wakeWaiters();
        this.deps.port.failed(this.id, toErrorFrame(e, this.id));
      },
    };
  }

  /** Kafka is paused for these: the client asked, or `subscribed` is not out yet. */
  private get held(): boolean {
    return !this.started || this.clientPaused;
  }

  /** Records are refused for these, while the session waits for room: full window, socket over high water. */
  private get full(): boolean {
    return this.window.full || this.deps.port.over;
  }

  private get blocked(): boolean {
    return this.held || this.full;
  }

  private onRecord(r: ConsumedRecord): boolean {
    if (this.closed || !this.deps.port.open) return false;
    if (this.blocked) {
      this.flush();
      this.updateFlow();
      return false;
    }
    this.window.delivered(r, r.offset);
    this.delivered++;
    if (this.batchMax === 0) {
      this.count(1);
      const part = this.partitionOf(r);
      // The callback keeps the partition and offset, never the record: its key and value are slices of the whole
      // fetch response, which a socket that does not read would otherwise keep alive (W4b in docs/performance.md).
      const offset = r.offset;
      const frame = part.frames;
      frame.record = r;
      this.deps.port.send(frame, this.manualAck ? undefined : () => this.onAck(part, offset));
      frame.record = undefined;
    } else this.addToBatch(r);
    return true;
  }

  private addToBatch(r: ConsumedRecord): void {
    let b = this.batch;
    if (b && (b.partition !== r.partition || b.topic !== r.topic)) {
      this.flush();
      b = undefined;
    }
    if (!b) this.batch = b = { topic: r.topic, partition: r.partition, entries: [], chars: 0, lastOffset: r.offset };
    const entry = batchEntry(r, this.format);
    b.entries.push(entry);
    b.chars += entry.length;
    b.lastOffset = r.offset;
    if (b.entries.length >= this.batchMax || b.chars >= LIMITS.batchBytes) this.flush();
    else if (!this.flushQueued) {
      // A fetched batch is fed synchronously: what it held for this partition leaves as one frame right after.
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** `r`'s partition and the writer of its `record` frames (records come in runs of one partition: kept for the last one). */
  private partitionOf(r: TopicPartition): TopicPartition & { frames: RecordFrameWriter } {
    const p = this.prefix;
    if (p && p.partition === r.partition && p.topic === r.topic) return p;
    const prefix = recordFramePrefix(this.id, r.topic, r.partition);
    this.prefix = { topic: r.topic, partition: r.partition, frames: new RecordFrameWriter(prefix, this.format) };
    return this.prefix;
  }

  /** Count delivered records in the metrics once per synchronous run of them, not per record. */
  private count(records: number): void {
    if (!this.deps.delivered) return;
    if (this.uncounted === 0) queueMicrotask(this.countTask);
    this.uncounted += records;
  }

  /** Send the open `records` frame, if any. */
  private flush(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = undefined;
    if (this.closed || !this.deps.port.open) return;
    this.count(b.entries.length);
    const tp = { topic: b.topic, partition: b.partition };
    this.deps.port.send(
      recordsFrame(this.id, b.topic, b.partition, b.entries),
      this.manualAck ? undefined : () => this.onAck(tp, b.lastOffset),
    );
  }

  /** Resolves when records may flow again, or the state changed so that the session should look again. */
  private room(): Promise<void> {
    // A socket on its way out (closing handshake) has no room; its close wakes the waiters.
    if (this.closed || this.held || (!this.full && this.deps.port.open)) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private wakeWaiters(): void {
    const waiters = this.roomWaiters;
    if (waiters.length === 0) return;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Called once `subscribed` was sent: from now on records flow. */
  protected markStarted(): void {
    this.started = true;
    this.updateFlow();
  }

  /** Pause or resume the Kafka session to match the flow state; wake a session that waits for room. */
  protected updateFlow(): void {
    if (this.closed || this.held || (!this.full && this.deps.port.open)) this.wakeWaiters();
    if (!this.session || this.closed) return;
    const want = this.held;
    if (want === this.kafkaPaused) return;
    this.kafkaPaused = want;
    if (want) this.session.pause();
    else this.session.resume();
  }

  private onAck(tp: TopicPartition, offset: number): void {
    if (this.closed) return;
    const res = this.window.ack(tp, offset);
    if (res.kind === 'ok') {
      this.acknowledged(tp, res.commit);
      if (res.released > 0) this.updateFlow();
    }
  }

  ack(frame: AckFrame): void {
    // With ack=auto the gateway acknowledges on write; a client's ack adds nothing.
    if (!this.manualAck || this.closed) return;
    const tp = { topic: frame.topic, partition: frame.partition };
    const res = this.window.ack(tp, frame.offset);
    if (res.kind === 'beyond-delivered')
      throw new WsError(
        'BAD_MESSAGE',
        `ack offset ${frame.offset} of ${frame.topic}/${frame.partition} was never delivered (last: ${res.maxDelivered}).`,
      );
    // unknown-partition: revoked by a rebalance in the meantime; its new owner reads it from the last commit.
    if (res.kind === 'ok') {
      this.acknowledged(tp, res.commit);
      this.updateFlow();
    }
  }

  pause(): void {
    this.clientPaused = true;
    this.updateFlow();
  }

  resume(): void {
    this.clientPaused = false;
    this.updateFlow();
  }

  flowChanged(): void {
    this.updateFlow();
  }

  async drain(): Promise<void> {
    this.clientPaused = true;
    this.updateFlow();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.batch = undefined;
      this.wakeWaiters();
      await this.session?.close();
    })();
    return this.closing;
  }

  stats(): SubscriptionStats {
    return {
      id: this.id,
      mode: this.mode,
      delivered: this.delivered,
      unacked: this.window.unacked,
      paused: !this.closed && this.blocked,
      assignment: [...(this.session?.assignment ?? [])],
    };
  }
}
