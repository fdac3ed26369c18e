/**
 * A socket's outgoing side under a memory bound. `send` writes now and tracks the send buffer's water marks
 * (ws's `send()` queues without limit, so every write is followed by a look at `bufferedAmount`, and every
 * write callback by another); `sendLossless` (broadcast) queues at most WS_SEND_HIGH_WATER_BYTES more while the
 * socket is over its high water, and reports a socket that overflows or stays behind for WS_SLOW_CLIENT_MS.
 * Frames written in one go (a fetched batch fanned out synchronously) leave in one socket write: they are framed
 * here into one Buffer (frames.ts) and written to the TCP socket under the WebSocket on process.nextTick, i.e. as
 * soon as the synchronous work that wrote them returns (no timer, no added wait), or at once when they reach
 * `batchBytes` (a quarter of the high water, at most 64 KiB), so that frames held back never look like a slow
 * reader. (ws frames each `send` on its own: a header Buffer, two stream writes and a callback per frame, which at
 * W3's rates cost more than encoding the record.) This is safe because the server negotiates no extension
 * (permessage-deflate is off), so ws never holds frames of its own back: a socket with an extension is written
 * through ws' `send`. Its bytes (send buffer + frames not yet written + backlog) count against the process-wide
 * SendBudget, which may hold it (it then counts as over its high water) or evict it (4408).
 */
import type { WebSocket } from 'ws';
import { SendWater } from './flow.js';
import { TextFrames, type FrameSource } from './frames.js';
import type { BudgetMember, SendBudget } from './send-budget.js';

export interface SenderOptions {
  highWaterBytes: number;
  slowClientMs: number;
  /** The socket crossed a water mark (subscriptions pause or resume Kafka). */
  onFlip: (over: boolean) => void;
  /**
   * Close with 4408: a broadcast backlog overflowed or outlived slowClientMs, or the process-wide send budget
   * evicted this socket (held past its grace while the process was over budget).
   */
  onTooSlow: (reason: 'overflow' | 'timeout' | 'budget', queuedBytes: number) => void;
  /** The process-wide send budget (WS_SEND_BUDGET_BYTES) this socket's bytes count against. */
  budget?: SendBudget | undefined;
}

/** Most bytes of frames held back for one write (also at most a quarter of the high water). */
const MAX_BATCH_BYTES = 64 * 1024;
/** Buffers are sent as text frames too (they hold a frame's UTF-8 bytes). */
const TEXT = { binary: false } as const;

/** The TCP (or TLS) socket under a WebSocket, as far as writing frames to it goes. */
interface RawSocket {
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
}

/** The socket under `ws` if frames may be written to it directly: ws keeps it as `_socket`; no extension in use. */
function rawSocket(ws: WebSocket): RawSocket | undefined {
  const socket = (ws as unknown as { _socket?: Partial<RawSocket> })._socket;
  if (!socket || typeof socket.write !== 'function' || ws.extensions !== '') return undefined;
  return socket as RawSocket;
}

export class SocketSender implements BudgetMember {
  private readonly water: SendWater;
  /** Held by the send budget: counts as over its high water. */
  private held = false;
  /** Send buffer + frames not yet written + backlog, as last reported to the budget. */
  private reported = 0;
  private readonly budget: SendBudget | undefined;
  private maxBuffered = 0;
  private queue: (string | Buffer)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private slowTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly written = () => this.afterWrite();
  /** Where frames are written directly (undefined: through ws' `send`, one by one). */
  private readonly socket: RawSocket | undefined;
  /** Frames sent but not yet written (raw socket only), and what runs once they are. */
  private frames = new TextFrames();
  private callbacks: (() => void)[] = [];
  private writeQueued = false;
  private readonly writeTask = () => {
    this.writeQueued = false;
    this.writeFrames();
  };
  private readonly batchBytes: number;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: SenderOptions,
  ) {
    this.water = new SendWater(opts.highWaterBytes);
    this.batchBytes = Math.min(MAX_BATCH_BYTES, Math.floor(opts.highWaterBytes / 4));
    this.socket = rawSocket(ws);
    this.budget = opts.budget;
    this.budget?.join(this);
  }

  get over(): boolean {
    return this.water.over || this.held;
  }

  get budgetBytes(): number {
    return this.reported;
  }

  hold(on: boolean): void {
    if (this.held === on) return;
    const before = this.over;
    this.held = on;
    if (this.over !== before) this.flipped();
  }

  evict(): void {
    if (!this.stopped) this.opts.onTooSlow('budget', this.reported);
  }

  /** Tell the budget what this socket holds now (`buffered`: send buffer and frames not yet written; + backlog). */
  private report(buffered: number): void {
    if (!this.budget || this.stopped) return;
    const bytes = buffered + this.queuedBytes;
    const delta = bytes - this.reported;
    if (delta === 0) return;
    this.reported = bytes;
    this.budget.adjust(this, delta);
  }

  get open(): boolean {
    return !this.stopped && this.ws.readyState === this.ws.OPEN;
  }

  /** The send buffer (ws' count) plus frames sent but not yet written to it. */
  private get buffered(): number {
    return this.ws.bufferedAmount + this.frames.bytes;
  }

  /** Highest bufferedAmount seen right after a write: the bound is high water + one frame. */
  get maxBufferedAmount(): number {
    return this.maxBuffered;
  }

  get backlogBytes(): number {
    return this.queuedBytes;
  }

  /**
   * Write a text frame (a string, its UTF-8 bytes, or a source that writes them, used during this call only);
   * `onWritten` runs once the socket handed it to the OS.
   */
  send(text: string | Buffer | FrameSource, onWritten?: () => void): void {
    if (!this.open) return;
    if (this.socket) {
      this.frames.add(text);
      if (onWritten) this.callbacks.push(onWritten);
      if (this.frames.bytes >= this.batchBytes) this.writeFrames();
      else if (!this.writeQueued) {
        this.writeQueued = true;
        process.nextTick(this.writeTask);
      }
    } else
      this.ws.send(
        typeof text === 'string' || Buffer.isBuffer(text) ? text : text.text(),
        TEXT,
        onWritten
          ? (err) => {
              if (!err) onWritten();
              this.afterWrite();
            }
          : this.written,
      );
    const b = this.buffered;
    if (b > this.maxBuffered) this.maxBuffered = b;
    if (this.water.update(b)) this.flipped();
    this.report(b);
  }

  /** Write the frames sent so far to the socket in one go. */
  private writeFrames(): void {
    if (this.frames.count === 0 || !this.socket) return;
    const chunk = this.frames.take();
    const callbacks = this.callbacks;
    this.callbacks = [];
    // A socket that closed meanwhile gets nothing more (no frame may follow a close frame).
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.socket.write(
      chunk,
      callbacks.length === 0
        ? this.written
        : (err) => {
            if (!err) for (const cb of callbacks) cb();
            this.afterWrite();
          },
    );
  }

  /** Broadcast: write now, or queue behind what waits already (bounded; overflow → onTooSlow). */
  sendLossless(text: string | Buffer): void {
    if (!this.open) return;
    if (!this.over && this.head === this.queue.length) {
      this.send(text);
      return;
    }
    this.queue.push(text);
    this.queuedBytes += Buffer.byteLength(text);
    this.report(this.buffered);
    // Bounded like the socket buffer: a socket this far behind will not catch up, and memory stays bounded.
    if (this.queuedBytes > this.opts.highWaterBytes) {
      this.opts.onTooSlow('overflow', this.queuedBytes);
      return;
    }
    this.slowTimer ??= setTimeout(() => {
      this.slowTimer = undefined;
      if (this.head < this.queue.length) this.opts.onTooSlow('timeout', this.queuedBytes);
    }, this.opts.slowClientMs);
  }

  /** No more writes (what was sent goes out first, before any close frame); drop the backlog. */
  stop(): void {
    if (!this.stopped) this.writeFrames();
    this.budget?.leave(this);
    this.stopped = true;
    clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private afterWrite(): void {
    if (!this.water.over && !this.budget) return;
    const b = this.buffered;
    if (this.water.over && this.water.update(b)) this.flipped();
    this.report(b);
  }

  private flipped(): void {
    if (!this.over) this.flush();
    this.opts.onFlip(this.over);
  }

  private flush(): void {
    while (this.head < this.queue.length && !this.over && this.open) {
      const text = this.queue[this.head]!;
      this.queue[this.head++] = '';
      this.queuedBytes -= Buffer.byteLength(text);
      this.send(text);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.queuedBytes = 0;
      clearTimeout(this.slowTimer);
      this.slowTimer = undefined;
    }
    this.report(this.buffered);
  }
}
