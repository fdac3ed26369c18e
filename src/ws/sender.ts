/**
 * A socket's outgoing side under a memory bound. `send` writes now and tracks the send buffer's water marks
 * (ws's `send()` queues without limit, so every write is followed by a look at `bufferedAmount`, and every
 * write callback by another); `sendLossless` (broadcast) queues at most WS_SEND_HIGH_WATER_BYTES more while the
 * socket is over its high water, and reports a socket that overflows or stays behind for WS_SLOW_CLIENT_MS.
 * Frames written in one go (a fetched batch fanned out synchronously) leave in few `writev`s per socket: the TCP
 * socket is corked at the first frame and uncorked on process.nextTick, i.e. as soon as the synchronous work that
 * wrote them returns (no timer, no added wait), or at once when the corked frames reach `corkBytes` (a quarter of
 * the high water, at most 64 KiB), so that corked bytes alone never look like a slow reader. ws itself writes each
 * frame as its own syscall. Its bytes (send buffer + backlog) count against the process-wide SendBudget, which may
 * hold it (it then counts as over its high water) or evict it (4408).
 */
import type { WebSocket } from 'ws';
import { SendWater } from './flow.js';
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

/** Most bytes held corked before they are written out (also at most a quarter of the high water). */
const MAX_CORK_BYTES = 64 * 1024;
/** Buffers are sent as text frames too (they hold a frame's UTF-8 bytes). */
const TEXT = { binary: false } as const;

export class SocketSender implements BudgetMember {
  private readonly water: SendWater;
  /** Held by the send budget: counts as over high water. */
  private held = false;
  /** Send buffer + backlog as last reported to the budget. */
  private reported = 0;
  private readonly budget: SendBudget | undefined;
  private maxBuffered = 0;
  private queue: (string | Buffer)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private slowTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly written = () => this.afterWrite();
  /** The TCP socket while it is corked by us, and how many bytes went into it since. */
  private corkedSocket: { uncork: () => void } | undefined;
  private corkedBytes = 0;
  private readonly corkBytes: number;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: SenderOptions,
  ) {
    this.water = new SendWater(opts.highWaterBytes);
    this.corkBytes = Math.min(MAX_CORK_BYTES, Math.floor(opts.highWaterBytes / 4));
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

  /** Tell the budget what this socket holds now (send buffer `buffered` + backlog). */
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

  /** Highest bufferedAmount seen right after a write: the bound is high water + one frame. */
  get maxBufferedAmount(): number {
    return this.maxBuffered;
  }

  get backlogBytes(): number {
    return this.queuedBytes;
  }

  /** Write a text frame (a string, or its UTF-8 bytes); `onWritten` runs once the socket handed it to the OS. */
  send(text: string | Buffer, onWritten?: () => void): void {
    if (!this.open) return;
    this.cork();
    this.ws.send(
      text,
      TEXT,
      onWritten
        ? (err) => {
            if (!err) onWritten();
            this.afterWrite();
          }
        : this.written,
    );
    if (this.corkedSocket) {
      this.corkedBytes += text.length;
      if (this.corkedBytes >= this.corkBytes) this.uncork();
    }
    const b = this.ws.bufferedAmount;
    if (b > this.maxBuffered) this.maxBuffered = b;
    if (this.water.update(b)) this.flipped();
    this.report(b);
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
    this.report(this.ws.bufferedAmount);
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

  /** Cork the TCP socket under the WebSocket (ws keeps it as `_socket`) until the current synchronous work ends. */
  private cork(): void {
    if (this.corkedSocket) return;
    const socket = (this.ws as unknown as { _socket?: { cork?: () => void; uncork?: () => void } })._socket;
    if (!socket || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return;
    socket.cork();
    const corked = { uncork: () => socket.uncork!() };
    this.corkedSocket = corked;
    this.corkedBytes = 0;
    process.nextTick(() => {
      if (this.corkedSocket === corked) this.uncork();
    });
  }

  private uncork(): void {
    const corked = this.corkedSocket;
    this.corkedSocket = undefined;
    corked?.uncork();
  }

  /** No more writes; drop the backlog. */
  stop(): void {
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
    const b = this.ws.bufferedAmount;
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
    this.report(this.ws.bufferedAmount);
  }
}
