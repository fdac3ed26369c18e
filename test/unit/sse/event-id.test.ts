import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { decodeEventId, encodeEventId } from '../../../src/sse/event-id.js';

describe('SSE event ids', () => {
  it('round-trip positions of any partitions, offsets up to 2^53 − 1', () => {
    const positions = new Map([
      [0, 0],
      [1, 127],
      [2, 128],
      [7, 1_000_000],
      [40, Number.MAX_SAFE_INTEGER],
      [2 ** 31 - 1, 5],
    ]);
    const id = encodeEventId('orders', positions);
    expect(id).toMatch(/^1\.[A-Za-z0-9_-]+$/);
    expect(decodeEventId('orders', id)).toEqual(positions);
  });

  it('are compact: one partition at offset 1,000,000 in 16 characters, 100 partitions at offsets around 5 million in under 700', () => {
    expect(encodeEventId('t', new Map([[0, 1_000_000]])).length).toBeLessThanOrEqual(16);
    const many = new Map(Array.from({ length: 100 }, (_, p) => [p, 5_000_000 + p] as [number, number]));
    expect(encodeEventId('t', many).length).toBeLessThan(700);
  });

  it('do not depend on the order positions were set', () => {
    const a = encodeEventId(
      't',
      new Map([
        [2, 5],
        [0, 1],
      ]),
    );
    const b = encodeEventId(
      't',
      new Map([
        [0, 1],
        [2, 5],
      ]),
    );
    expect(a).toBe(b);
  });

  it.each([
    ['', 'unknown version'],
    ['garbage', 'unknown version'],
    ['2.AAAA', 'unknown version'],
    ['1.!!', 'not base64url'],
    ['1.AA', 'too short'],
    [`1.${'A'.repeat(40_000)}`, 'too long'],
  ])('refuse %s with a 400', (id, why) => {
    const e = (() => {
      try {
        decodeEventId('t', id);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).status).toBe(400);
    expect((e as GatewayError).message).toContain(why);
  });

  it('refuse an id of another topic, a truncated varint and partitions out of order', () => {
    const id = encodeEventId('a', new Map([[0, 300]]));
    expect(() => decodeEventId('b', id)).toThrow(/another topic/);
    const bytes = Buffer.from(id.slice(2), 'base64url');
    expect(() => decodeEventId('a', `1.${bytes.subarray(0, bytes.length - 1).toString('base64url')}`)).toThrow(
      /truncated/,
    );
    const zeroDelta = Buffer.concat([bytes.subarray(0, 4), Buffer.from([0, 1])]);
    expect(() => decodeEventId('a', `1.${zeroDelta.toString('base64url')}`)).toThrow(/out of order/);
  });
});
