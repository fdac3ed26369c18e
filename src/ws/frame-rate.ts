/**
 * Inbound frame budgets per socket (→ close 4429) and the bad-frame tolerance (→ 4400), as token buckets
 * (src/core/token-bucket.ts). `subscribe` frames make Kafka clients (a group join, a fetch loop), and a
 * subscribe/unsubscribe loop would churn consumer groups on the brokers; the other control frames (`reauth` checks
 * a signature, `ping`, `pause`, `resume`, `unsubscribe`) are cheaper but not free. `ack` frames are never counted:
 * a client may acknowledge every record it gets.
 */
import { TokenBucket } from '../core/token-bucket.js';

/** `subscribe` frames (the URL shortcut counts as one) per window. */
export const SUBSCRIBE_LIMIT = 60;
export const SUBSCRIBE_WINDOW_MS = 60_000;
/** Other control frames (everything but `ack` and `subscribe`) per window. */
export const CONTROL_FRAME_LIMIT = 500;
export const CONTROL_FRAME_WINDOW_MS = 10_000;
/** The bad frame (BAD_MESSAGE) that makes this many within the window closes the socket with 4400. */
export const BAD_FRAME_LIMIT = 5;
export const BAD_FRAME_WINDOW_MS = 60_000;

export type FrameKind = 'subscribe' | 'ack' | 'control';

/** One socket's budgets. */
export class FrameRate {
  private readonly subscribes = TokenBucket.perInterval(SUBSCRIBE_LIMIT, SUBSCRIBE_WINDOW_MS);
  private readonly control = TokenBucket.perInterval(CONTROL_FRAME_LIMIT, CONTROL_FRAME_WINDOW_MS);
  // The limit-th bad frame closes: limit - 1 are tolerated.
  private readonly bad = TokenBucket.perInterval(BAD_FRAME_LIMIT - 1, BAD_FRAME_WINDOW_MS);

  /** Counts one frame; true when the socket went over a budget. */
  over(kind: FrameKind, now = Date.now()): boolean {
    if (kind === 'ack') return false;
    return !(kind === 'subscribe' ? this.subscribes : this.control).take(1, now);
  }

  /** Counts one bad frame; true when the socket has now sent too many. */
  tooManyBad(now = Date.now()): boolean {
    return !this.bad.take(1, now);
  }
}
