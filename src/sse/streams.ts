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
  /** The stream that holds the slot (ended with the others at shutdown). */
  attach(stream: SseStream): void;
  /** Give the slot back: the stream closed, or never started. Idempotent. */
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
    let holder: SseStream | undefined;
    return {
      attach: (stream) => {
        if (!held) return;
        holder = stream;
        this.open.add(stream);
        // Only while streams are open, so an idle app holds no timer.
        this.watch ??= setInterval(() => {
          if (!this.accepting()) for (const s of this.open) s.end('shutdown');
        }, SHUTDOWN_CHECK_MS);
        this.watch.unref();
      },
      release: () => {
        if (!held) return;
        held = false;
        this.reserved--;
        if (holder) this.open.delete(holder);
        if (this.open.size === 0) {
          clearInterval(this.watch);
          this.watch = undefined;
        }
      },
    };
  }
}
