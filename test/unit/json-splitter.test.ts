import { describe, expect, it } from 'vitest';
import { JsonSplitter, type SplitItem } from '../../src/http/json-splitter.js';

/** Feeds `text` in pieces of `size` bytes (every cut point is exercised over the sizes), then ends. */
function split(text: string | Buffer, size: number, max = 1 << 20): SplitItem[] {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const s = new JsonSplitter(max);
  const out: SplitItem[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, i + size)));
  out.push(...s.end());
  return out;
}

const values = (items: SplitItem[]) =>
  items.map((it) =>
    it.kind === 'value'
      ? it.bytes.toString()
      : it.kind === 'tooLarge'
        ? `<tooLarge ${it.size}>`
        : `<truncated ${it.bytes}>`,
  );

describe('JsonSplitter', () => {
  const doc = '{"a":1}{"b":"}{\\"x"}\n  {"c":[1,{"d":"é✓"}]}\r\n[1,2] "str\\\\" 42 true{"e":{}}';
  const expected = [
    '{"a":1}',
    '{"b":"}{\\"x"}',
    '{"c":[1,{"d":"é✓"}]}',
    '[1,2]',
    '"str\\\\"',
    '42',
    'true',
    '{"e":{}}',
  ];

  it.each([1, 2, 3, 5, 7, 64, 4096])('splits concatenated values at any chunking (%i-byte pieces)', (size) => {
    expect(values(split(doc, size))).toEqual(expected);
  });

  it('keeps multi-byte UTF-8 intact when a chunk cuts a character in half', () => {
    const text = '{"v":"ключ ✓ 😀"}{"w":"ü"}';
    expect(values(split(text, 1))).toEqual(['{"v":"ключ ✓ 😀"}', '{"w":"ü"}']);
  });

  it('reports a value cut off by the end of the body as truncated', () => {
    expect(values(split('{"a":1} {"b":"no end', 3))).toEqual(['{"a":1}', '<truncated {"b":"no end>']);
    expect(values(split('   \n ', 2))).toEqual([]);
  });

  it('makes a stray closing bracket a value of its own, so the stream goes on after it', () => {
    expect(values(split('{"a":1}}{"b":2}', 4))).toEqual(['{"a":1}', '}', '{"b":2}']);
  });

  it('drops a value over maxBytes without keeping it, and goes on after it', () => {
    const big = `{"v":"${'x'.repeat(100)}"}`;
    const s = new JsonSplitter(50);
    const out: SplitItem[] = [];
    for (const piece of [`{"a":1}${big.slice(0, 30)}`, big.slice(30, 80), big.slice(80), '{"b":2}']) {
      out.push(...s.push(Buffer.from(piece)));
      expect(s.heldBytes).toBeLessThanOrEqual(50);
    }
    expect(values(out)).toEqual(['{"a":1}', `<tooLarge ${big.length}>`, '{"b":2}']);
  });

  it('passes malformed objects through whole (their parse fails later, alone)', () => {
    expect(values(split('{"a": }{"b":2,}{"c":3}', 2))).toEqual(['{"a": }', '{"b":2,}', '{"c":3}']);
  });
});
