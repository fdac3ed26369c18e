import { describe, expect, it } from 'vitest';
import { createRateLimiter, rateLimited } from '../../../src/auth/rate-limit.js';
import { isGatewayError } from '../../../src/errors.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('createRateLimiter', () => {
  it('0 records/s is off', () => {
    const rl = createRateLimiter({ recordsPerS: 0 });
    for (let i = 0; i < 1000; i++) expect(rl.take('a', 1_000_000)).toEqual({ ok: true });
    expect(rl.size).toBe(0);
  });

  it('allows a burst of one second, then refills at the rate', () => {
    const c = clock();
    const rl = createRateLimiter({ recordsPerS: 100, now: c.now });
    expect(rl.take('a', 60)).toEqual({ ok: true });
    expect(rl.take('a', 40)).toEqual({ ok: true });
    expect(rl.take('a', 1)).toEqual({ ok: false, retryAfterS: 1 });
    c.advance(500);
    expect(rl.take('a', 50)).toEqual({ ok: true });
    expect(rl.take('a', 1).ok).toBe(false);
  });

  it('buckets are per sub', () => {
    const c = clock();
    const rl = createRateLimiter({ recordsPerS: 10, now: c.now });
    expect(rl.take('a', 10).ok).toBe(true);
    expect(rl.take('a', 1).ok).toBe(false);
    expect(rl.take('b', 10).ok).toBe(true);
    expect(rl.take(null, 10).ok).toBe(true); // AUTH_MODE=none shares one bucket
    expect(rl.take(null, 1).ok).toBe(false);
  });

  it('a request bigger than the burst passes on a full bucket and leaves debt; Retry-After covers the debt', () => {
    const c = clock();
    const rl = createRateLimiter({ recordsPerS: 10, now: c.now });
    expect(rl.take('a', 35).ok).toBe(true); // tokens: 10 - 35 = -25
    expect(rl.take('a', 1)).toEqual({ ok: false, retryAfterS: 3 }); // needs 26 → 2.6 s
    c.advance(2_600);
    expect(rl.take('a', 1).ok).toBe(true);
    c.advance(500);
    expect(rl.take('a', 35).ok).toBe(false); // not full yet (5 of 10)
    c.advance(500);
    expect(rl.take('a', 35).ok).toBe(true); // full again
  });

  it('zero or negative n is a no-op', () => {
    const rl = createRateLimiter({ recordsPerS: 1 });
    expect(rl.take('a', 0)).toEqual({ ok: true });
    expect(rl.take('a', -5)).toEqual({ ok: true });
    expect(rl.take('a', 1)).toEqual({ ok: true });
  });

  it('memory is bounded: idle (refilled) buckets are evicted first, then the least recently used', () => {
    const c = clock();
    const rl = createRateLimiter({ recordsPerS: 10, maxBuckets: 100, now: c.now });
    for (let i = 0; i < 100; i++) rl.take(`idle-${i}`, 10);
    c.advance(2_000); // all refilled: idle
    rl.take('busy', 10);
    expect(rl.size).toBe(1);
    for (let i = 0; i < 1_000; i++) rl.take(`active-${i}`, 10); // all in use, none idle
    expect(rl.size).toBeLessThanOrEqual(100);
  });

  it('takeOrThrow throws 429 with Retry-After', () => {
    const rl = createRateLimiter({ recordsPerS: 5, now: clock().now });
    rl.takeOrThrow('a', 5);
    try {
      rl.takeOrThrow('a', 5);
      expect.unreachable();
    } catch (e) {
      expect(isGatewayError(e)).toBe(true);
      if (!isGatewayError(e)) return;
      expect(e.status).toBe(429);
      expect(e.errorCode).toBe(429);
      expect(e.headers['Retry-After']).toBe('1');
      expect(e.retriable).toBe(true);
    }
  });

  it('rejects bad options at construction', () => {
    expect(() => createRateLimiter({ recordsPerS: -1 })).toThrow();
    expect(() => createRateLimiter({ recordsPerS: 1, maxBuckets: 0 })).toThrow();
  });
});

describe('rateLimited', () => {
  it('is a 429 GatewayError with Retry-After', () => {
    const e = rateLimited(7);
    expect(e.status).toBe(429);
    expect(e.headers).toEqual({ 'Retry-After': '7' });
  });
});
