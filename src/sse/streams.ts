/**
 * The open SSE streams of this replica: the SSE_MAX_STREAMS bound, and SSE_MAX_READERS for those with a Kafka reader
 * of their own (slots are taken before a reader starts, so concurrent connects cannot overshoot either) and the end of every stream when the replica shuts down (each ends
 * gracefully; its client reconnects, through the load balancer, to another replica).
 */
import { errors } from '../errors.js';
import type { SseStream } from './stream.js';

/** How often open streams check whether the replica is shutting down. */
const SHUTDOWN_CHECK_MS = 250;

export interface StreamSlot {
  /** The stream that holds the slot (ended with the others at shutdown). */
  attach(stream: SseStream): void;
  /** The stream needs a Kafka reader of its own: counted against the second bound, or 503 50301. */
  takeReader(): void;
  /** Give the slot back: the stream closed, or never started. Idempotent. */
  release(): void;
}

export class SseStreams {
  private readonly open = new Set<SseStream>();
  private reserved = 0;
  private readers = 0;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly maxReaders: number,
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
    let reader = false;
    let holder: SseStream | undefined;
    return {
      takeReader: () => {
        if (!held || reader) return;
        if (this.readers >= this.maxReaders)
          throw errors.overloaded(
            `Too many SSE streams reading the past on this replica (SSE_MAX_READERS=${this.maxReaders}); retry later.`,
          );
        this.readers++;
        reader = true;
      },
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
        if (reader) this.readers--;
        if (holder) this.open.delete(holder);
        if (this.open.size === 0) {
          clearInterval(this.watch);
          this.watch = undefined;
        }
      },
    };
  }
}
