/**
 * Per-caller rate limit on records (RATE_LIMIT_RECORDS_PER_S, docs/configuration.md): a token bucket per `sub` that refills
 * at the rate and holds one second's worth. A request bigger than the bucket is let through when the bucket is
 * full and leaves it in debt, so large batches are slowed to the rate instead of refused forever.
 */
import { TokenBucket } from '../core/token-bucket.js';
import { ErrorCodes, GatewayError } from '../errors.js';

export type RateDecision = { ok: true } | { ok: false; retryAfterS: number };

export interface RateLimiter {
  /** Takes `n` records from `sub`'s bucket (null = AUTH_MODE=none: one shared bucket). */
  take(sub: string | null, n: number): RateDecision;
  /** take(), throwing 429 with Retry-After when over. */
  takeOrThrow(sub: string | null, n: number): void;
  /** Buckets held right now (for tests and metrics). */
  readonly size: number;
}

export interface RateLimiterOptions {
  /** Records per second per caller; 0 turns the limiter off. */
  recordsPerS: number;
  /** Most buckets kept; above it idle (full) buckets go first, then the least recently used. */
  maxBuckets?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

export const DEFAULT_MAX_BUCKETS = 10_000;

const ANONYMOUS = '\u0000anonymous'; // cannot collide with a real `sub`

export function createRateLimiter({
  recordsPerS,
  maxBuckets = DEFAULT_MAX_BUCKETS,
  now = Date.now,
}: RateLimiterOptions): RateLimiter {
  if (!Number.isFinite(recordsPerS) || recordsPerS < 0)
    throw new TypeError('createRateLimiter: recordsPerS must be ≥ 0');
  if (!Number.isSafeInteger(maxBuckets) || maxBuckets < 1)
    throw new TypeError('createRateLimiter: maxBuckets must be ≥ 1');
  const buckets = new Map<string, TokenBucket>();

  function evict(t: number): void {
    for (const [key, b] of buckets) if (b.isFull(t)) buckets.delete(key); // a full bucket is the same as no bucket
    // Still too many active callers: drop the least recently used (Map order = last touch).
    const target = Math.floor(maxBuckets * 0.9);
    for (const key of buckets.keys()) {
      if (buckets.size <= target) break;
      buckets.delete(key);
    }
  }

  function take(sub: string | null, n: number): RateDecision {
    if (recordsPerS === 0 || !(n > 0)) return { ok: true };
    const key = sub ?? ANONYMOUS;
    const t = now();
    let b = buckets.get(key);
    if (b)
      buckets.delete(key); // re-inserted below: keeps Map order = least recently used first
    else {
      if (buckets.size >= maxBuckets) evict(t);
      b = TokenBucket.perInterval(recordsPerS, 1000); // burst = one second's worth
    }
    buckets.set(key, b);
    if (b.take(n, t)) return { ok: true };
    // (less a hair: float division must not turn an exact 2 s into 3)
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(b.waitMs(n, t) / 1000 - 1e-9)) };
  }

  return {
    take,
    takeOrThrow(sub, n) {
      const d = take(sub, n);
      if (!d.ok) throw rateLimited(d.retryAfterS, recordsPerS);
    },
    get size() {
      return buckets.size;
    },
  };
}

/** 429 with Retry-After (whole seconds). */
export function rateLimited(retryAfterS: number, recordsPerS?: number): GatewayError {
  const limit = recordsPerS === undefined ? '' : ` of ${recordsPerS} records/s`;
  return new GatewayError(429, ErrorCodes.RATE_LIMITED, `Rate limit${limit} exceeded; retry after ${retryAfterS} s.`, {
    retriable: true,
    headers: { 'Retry-After': String(retryAfterS) },
  });
}
