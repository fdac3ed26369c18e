// Partition choice must agree with Kafka's Java client (Utils.murmur2, toPositive, % n) byte for byte, so a key
// produced through the gateway lands where a Java/Python/Go producer would put it.
import { describe, expect, it } from 'vitest';
import { KeylessSpreader, murmur2, partitionForKey } from '../../../src/core/partitioner.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('murmur2', () => {
  it.each([
    // docs/rest-api.md vectors (Kafka's UtilsTest).
    ['21', -973932308],
    ['foobar', -790332482],
    ['abc', 479470107],
    ['', 275646681],
    // More of Kafka's UtilsTest: every tail length (0..3) and several 4-byte blocks.
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ])('hashes %j to the Java value %d', (input, expected) => {
    expect(murmur2(bytes(input))).toBe(expected);
  });

  it('treats bytes >= 0x80 as unsigned (Java masks with & 0xff), matching kafka-python', () => {
    // kafka-python's murmur2 answers 2359711091 (unsigned) = -1935256205 (signed int32).
    expect(murmur2(Uint8Array.from([0x80, 0xff, 0xfe, 0x7f, 0x01]))).toBe(-1935256205);
    // 'héllo ünïcode ✓' as UTF-8: kafka-python 4067265900 = -227701396.
    expect(murmur2(bytes('héllo ünïcode ✓'))).toBe(-227701396);
  });

  it('returns a signed 32-bit integer for every input length', () => {
    for (let n = 0; n < 64; n++) {
      const h = murmur2(Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff));
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(-(2 ** 31));
      expect(h).toBeLessThan(2 ** 31);
    }
  });

  it('reads only the bytes of the view it is given (Buffer slices of a larger pool)', () => {
    const pool = Buffer.from('xxxfoobaryyy');
    expect(murmur2(pool.subarray(3, 9))).toBe(-790332482);
  });
});

describe('partitionForKey', () => {
  it('puts the binary key bytes "key" on partition 1 of 3', () => {
    expect(partitionForKey(bytes('key'), 3)).toBe(1);
  });

  it('puts the JSON key "somekey" (stored with its quotes) on partition 2 of 3 and 0 of 4', () => {
    expect(partitionForKey(bytes('"somekey"'), 3)).toBe(2);
    expect(partitionForKey(bytes('"somekey"'), 4)).toBe(0);
  });

  it('uses toPositive (& 0x7fffffff), not Math.abs, for negative hashes', () => {
    // murmur2("21") is negative: -973932308 & 0x7fffffff = 1173551340.
    expect(partitionForKey(bytes('21'), 1000)).toBe(1173551340 % 1000);
    expect(partitionForKey(bytes('21'), 1000)).not.toBe(Math.abs(-973932308) % 1000);
  });

  it('always lands inside [0, numPartitions)', () => {
    for (let i = 0; i < 500; i++) {
      const p = partitionForKey(bytes(`key-${i}`), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});

describe('KeylessSpreader', () => {
  it('moves each successive request of a topic on to the next partition (round-robin)', () => {
    const s = new KeylessSpreader();
    const picks = Array.from({ length: 9 }, () => s.pick('t', 3));
    for (let i = 1; i < picks.length; i++) expect(picks[i]).toBe((picks[i - 1]! + 1) % 3);
  });

  it('spreads successive requests over every partition', () => {
    const s = new KeylessSpreader();
    const seen = new Set(Array.from({ length: 5 }, () => s.pick('t', 5)));
    expect(seen).toEqual(new Set([0, 1, 2, 3, 4]));
  });

  it('keeps a separate rotation per topic', () => {
    const s = new KeylessSpreader();
    const a1 = s.pick('a', 4);
    s.pick('b', 4);
    s.pick('b', 4);
    expect(s.pick('a', 4)).toBe((a1 + 1) % 4);
  });

  it('stays in range when the partition count changes between requests', () => {
    const s = new KeylessSpreader();
    for (let i = 0; i < 10; i++) s.pick('t', 8);
    for (let i = 0; i < 10; i++) {
      const p = s.pick('t', 2);
      expect(p === 0 || p === 1).toBe(true);
    }
  });

  it('does not always start on the same partition (random start per topic)', () => {
    const starts = new Set(Array.from({ length: 60 }, (_, i) => new KeylessSpreader().pick(`t${i}`, 4)));
    // 60 independent random starts over 4 partitions: all equal has probability 4 * (1/4)^60.
    expect(starts.size).toBeGreaterThan(1);
  });

  it('forgets topics beyond its bound instead of growing without limit', () => {
    const s = new KeylessSpreader(3);
    for (let i = 0; i < 10; i++) s.pick(`t${i}`, 2);
    const size = (s as unknown as { next: Map<string, number> }).next.size;
    expect(size).toBeLessThanOrEqual(3);
  });
});
