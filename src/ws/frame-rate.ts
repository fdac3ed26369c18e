/**
 * Inbound frame budgets per socket (→ close 4429, WS_PROTOCOL.md). `subscribe` frames make Kafka clients (a group
 * join, a fetch loop), and a subscribe/unsubscribe loop would churn consumer groups on the brokers; the other
 * control frames (`reauth` checks a signature, `ping`, `pause`, `resume`, `unsubscribe`) are cheaper but not free.
 * `ack` frames are never counted: a client may acknowledge every record it gets.
 * Fixed windows: a counter and a start time per budget, whatever the limit.
 */

/** `subscribe` frames (the URL shortcut counts as one) per window. */
export const SUBSCRIBE_LIMIT = 60;
export const SUBSCRIBE_WINDOW_MS = 60_000;
/** Other control frames (everything but `ack` and `subscribe`) per window. */
export const CONTROL_FRAME_LIMIT = 500;
export const CONTROL_FRAME_WINDOW_MS = 10_000;

export class WindowCounter {
  private start = -Infinity;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one event; true when it is over the limit of its window. */
  hit(now: number): boolean {
    if (now - this.start >= this.windowMs) {
      this.start = now;
      this.count = 0;
    }
    this.count++;
    return this.count > this.limit;
  }
}

export type FrameKind = 'subscribe' | 'ack' | 'control';

/** Both budgets of one socket. */
export class FrameRate {
  private readonly subscribes = new WindowCounter(SUBSCRIBE_LIMIT, SUBSCRIBE_WINDOW_MS);
  private readonly control = new WindowCounter(CONTROL_FRAME_LIMIT, CONTROL_FRAME_WINDOW_MS);

  /** Counts one frame; true when the socket went over a budget. */
  over(kind: FrameKind, now = Date.now()): boolean {
    if (kind === 'ack') return false;
    return kind === 'subscribe' ? this.subscribes.hit(now) : this.control.hit(now);
  }
}
