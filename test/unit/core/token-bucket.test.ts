// The one rate-limit primitive behind 429 (records/s), 4429 (frame budgets) and 4400 (bad frames).
import { expect, it } from 'vitest';
import { TokenBucket } from '../../../src/core/token-bucket.js';

it('starts full, empties, and refills at its rate up to its capacity', () => {
  const b = TokenBucket.perInterval(10, 1000); // 10 per second
  expect(b.take(10, 0)).toBe(true);
  expect(b.take(1, 0)).toBe(false);
  expect(b.take(1, 99)).toBe(false); // 0.99 tokens
  expect(b.take(1, 100)).toBe(true);
  expect(b.isFull(100)).toBe(false);
  expect(b.isFull(10_000)).toBe(true);
  expect(b.take(11, 10_000)).toBe(true); // full: a bigger request passes...
  expect(b.waitMs(1, 10_000)).toBeCloseTo(200, 6); // ...and leaves a debt of 1 token: 0.2 s until the next
});

it('a refused take takes nothing', () => {
  const b = new TokenBucket(2, 0.001);
  expect(b.take(2, 0)).toBe(true);
  for (let i = 0; i < 5; i++) expect(b.take(1, 0)).toBe(false);
  expect(b.take(1, 1000)).toBe(true);
});

it('time going backwards neither adds nor removes tokens', () => {
  const b = TokenBucket.perInterval(1, 1000);
  expect(b.take(1, 5000)).toBe(true);
  expect(b.take(1, 1000)).toBe(false);
  expect(b.take(1, 6000)).toBe(true);
});

it('refuses a nonsensical size', () => {
  expect(() => new TokenBucket(0, 1)).toThrow(TypeError);
  expect(() => new TokenBucket(1, 0)).toThrow(TypeError);
  expect(() => TokenBucket.perInterval(Number.NaN, 1000)).toThrow(TypeError);
});
