/**
 * The gateway's one rate-limit primitive: a token bucket that holds `capacity` tokens and refills at a steady
 * rate. Per-caller records/s (429), a socket's subscribe and control-frame budgets (4429) and its bad-frame
 * tolerance (4400) are all buckets; only their sizes differ. Time is passed in (ms), so it has no clock of its own.
 */
export class TokenBucket {
  private tokens: number;
  /** When `tokens` was last brought up to date; undefined until the first use (the bucket starts full). */
  private at: number | undefined;

  constructor(
    readonly capacity: number,
    /** Tokens added per millisecond. */
    readonly refillPerMs: number,
  ) {
    if (!(capacity > 0) || !Number.isFinite(capacity)) throw new TypeError('TokenBucket: capacity must be > 0');
    if (!(refillPerMs > 0) || !Number.isFinite(refillPerMs))
      throw new TypeError('TokenBucket: refillPerMs must be > 0');
    this.tokens = capacity;
  }

  /** `limit` events per `intervalMs` on average, up to `limit` at once. */
  static perInterval(limit: number, intervalMs: number): TokenBucket {
    return new TokenBucket(limit, limit / intervalMs);
  }

  private refill(now: number): void {
    if (this.at !== undefined && now > this.at)
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.refillPerMs);
    this.at = Math.max(this.at ?? now, now);
  }

  /**
   * Takes `n` tokens when the bucket holds them (or is full, for `n` above its capacity: such a request passes and
   * leaves the bucket in debt, so it is slowed to the rate instead of refused forever). False takes nothing.
   */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < Math.min(n, this.capacity)) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `take(n)` would pass (0 when it would pass now). */
  waitMs(n: number, now: number): number {
    this.refill(now);
    const missing = Math.min(n, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : missing / this.refillPerMs;
  }

  /** Full again: the same as a bucket never used (callers may forget it). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}
