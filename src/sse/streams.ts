/**
 * The open SSE streams of this replica: the SSE_MAX_STREAMS bound (a slot is taken before the Kafka reader starts,
 * so concurrent connects cannot overshoot it) and the end of every stream when the replica shuts down (each ends
 * gracefully; its client reconnects, through the load balancer, to another replica).
 */
import { errors } from '../errors.js';
import type { SseStream } from './stream.js';

/** How often open streams check whether the replica is shutting down. */
const SHUTDOWN_CHECK_MS = 250;

export interface StreamSlot {
  /** The stream now holds the slot; it is released when the stream closes. */
  attach(stream: SseStream): void;
  /** Give the slot back (the stream never started). Idempotent. */
  release(): void;
}

export class SseStreams {
  private readonly open = new Set<SseStream>();
  private reserved = 0;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    /** False once the replica is shutting down (AppDeps.accepting). */
    private readonly accepting: () => boolean = () => true,
  ) {}

  get size(): number {
    return this.reserved;
  }

  /** A slot for a new stream, or 503 50301 (full, or shutting down). */
  reserve(): StreamSlot {
    if (!this.accepting()) throw errors.overloaded('The gateway is shutting down: connect again.');
    if (this.reserved >= this.max)
      throw errors.overloaded(`Too many SSE streams on this replica (SSE_MAX_STREAMS=${this.max}); retry later.`);
    this.reserved++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.reserved--;
    };
    return {
      attach: (stream) => {
        if (stream.closed) return release();
        this.open.add(stream);
        this.startWatch();
        const done = () => {
          this.open.delete(stream);
          release();
          if (this.open.size === 0) this.stopWatch();
        };
        this.onClose.set(stream, done);
      },
      release,
    };
  }

  /** Called by a stream's onClosed (see routes/sse.ts). */
  closed(stream: SseStream): void {
    const done = this.onClose.get(stream);
    this.onClose.delete(stream);
    done?.();
  }

  private readonly onClose = new Map<SseStream, () => void>();

  private startWatch(): void {
    this.watch ??= setInterval(() => {
      if (this.accepting()) return;
      for (const s of this.open) s.end('shutdown');
    }, SHUTDOWN_CHECK_MS);
    this.watch.unref();
  }

  private stopWatch(): void {
    clearInterval(this.watch);
    this.watch = undefined;
  }
}
