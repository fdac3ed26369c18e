// The json-format produce body's fast path (src/http/compact-json-records.ts): for every body, the records it gives
// are the ones the general parse-and-rewrite path gives, byte for byte; it only saves the work when the client's
// text already is compact JSON. The general path is reached with the same body behind a leading line break
// (whitespace between tokens changes nothing in JSON).
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { decodeRecords } from '../../../src/http/records.js';

const opts = { format: 'json' as const, maxRecords: 100 };
const decode = (body: string | Buffer) => decodeRecords(typeof body === 'string' ? Buffer.from(body) : body, opts);
/** The general path's answer for the same body (or its refusal; positions and lines in its message are one less without the line break). */
function general(body: string) {
  const r = outcome(() => decodeRecords(Buffer.from(`\n${body}`), opts));
  if (Array.isArray(r)) return r;
  // Node ≥ 22 adds "(line L column C)" after the position: the line break moves the line, not the column.
  const message = r.message
    .replace(/position (\d+)/, (_m, p: string) => `position ${Number(p) - 1}`)
    .replace(/\(line (\d+) column/, (_m, l: string) => `(line ${Number(l) - 1} column`);
  return { ...r, message };
}

function outcome(fn: () => ReturnType<typeof decodeRecords>) {
  try {
    return fn().map((r) => ({
      key: r.key?.toString('utf8') ?? null,
      value: r.value?.toString('utf8') ?? null,
      partition: r.partition,
    }));
  } catch (e) {
    if (e instanceof GatewayError) return { status: e.status, message: e.message };
    throw e;
  }
}
const same = (body: string) => expect(outcome(() => decode(body))).toEqual(general(body));
const firstValue = (body: string) => decode(body)[0]!.value?.toString('utf8');

describe('json produce bodies: the fast path gives what the general path gives', () => {
  const values = [
    '{"i":0,"p":"xxxx"}',
    '{"a":[1,2,{"c":null}],"b":true,"d":false,"e":""}',
    '[]',
    '{}',
    '[[[]]]',
    '"text"',
    '"quote \\" backslash \\\\ newline \\n tab \\t \\b \\f \\r"',
    '"\\u0041\\u00e9"',
    '"\\/"',
    '"Zoë ✓ 日本 😀"',
    '0',
    '-0',
    '7',
    '-12',
    '1.5',
    '1.0',
    '1.50',
    '0.1',
    '1e5',
    '1E+2',
    '1e+21',
    '5e-324',
    '1e400',
    '123456789012345',
    '1234567890123456789',
    '0.12345678901234567',
    '{"a":1,"a":2}',
    '{"b":1,"1":2,"a":3}',
    '{"01":1}',
    '{"__proto__":{"x":1}}',
    '{ "a" :1}',
    '[1, 2]',
    'true',
    'null',
  ];
  it.each(values)('value %s', (v) => {
    same(`{"records":[{"value":${v}}]}`);
    same(`{"records":[{"key":${v},"value":1}]}`);
  });

  it('writes what JSON.stringify writes, also where the text differs from it', () => {
    expect(firstValue('{"records":[{"value":{"a":1,"a":2}}]}')).toBe('{"a":2}');
    expect(firstValue('{"records":[{"value":{"b":1,"1":2}}]}')).toBe('{"1":2,"b":1}');
    expect(firstValue('{"records":[{"value":-0}]}')).toBe('0');
    expect(firstValue('{"records":[{"value":1.0}]}')).toBe('1');
    expect(firstValue('{"records":[{"value":"\\u0041\\/"}]}')).toBe('"A/"');
    expect(firstValue('{"records":[{"value":[1, 2]}]}')).toBe('[1,2]');
  });

  it("keeps a record's own partition, and the path's for the others", () => {
    const recs = decodeRecords(Buffer.from('{"records":[{"value":1,"partition":4},{"value":2}]}'), {
      ...opts,
      pathPartition: 7,
    });
    expect(recs.map((r) => r.partition)).toEqual([4, 7]);
    expect(recs[0]!.value!.buffer).toBe(recs[1]!.value!.buffer); // both views of the one body
  });

  it('takes compact values as views of the body, without copying them', () => {
    const body = Buffer.from('{"records":[{"key":"k","value":{"i":0}},{"value":[1,"x"]}]}');
    const [a, b] = decode(body);
    expect(a!.key!.buffer).toBe(body.buffer);
    expect(a!.value!.toString()).toBe('{"i":0}');
    expect(b!.value!.buffer).toBe(body.buffer);
    expect(b!.key).toBeNull();
  });

  it.each([
    ['spaces between tokens', '{ "records" : [ { "value" : 1 } , { "key" : "k" } ] }'],
    ['an empty record and nulls', '{"records":[{},{"key":null,"value":null}]}'],
    ['a repeated record field', '{"records":[{"value":1,"value":2}]}'],
    ['other record fields', '{"records":[{"value":1,"partition":0,"timestamp":5}]}'],
    ['own partitions', '{"records":[{"value":1,"partition":0},{"partition":12,"key":"k"},{"value":2}]}'],
    ['a repeated partition', '{"records":[{"partition":1,"partition":2}]}'],
    ['a negative partition', '{"records":[{"value":1,"partition":-1}]}'],
    ['a partition written 1.0', '{"records":[{"value":1,"partition":1.0}]}'],
    ['a partition with a leading zero', '{"records":[{"value":1,"partition":01}]}'],
    ['a null partition', '{"records":[{"value":1,"partition":null}]}'],
    ['a huge partition', '{"records":[{"value":1,"partition":12345678901}]}'],
    ['other root fields', '{"records":[{"value":1}],"value_schema":null}'],
    ['no records', '{"records":[]}'],
    ['too many records', `{"records":[${Array(101).fill('{"value":1}').join(',')}]}`],
    ['unterminated', '{"records":[{"value":"abc}]}'],
    ['a trailing comma', '{"records":[{"value":[1,]}]}'],
    ['garbage after the body', '{"records":[{"value":1}]}x'],
    ['a control character in a string', '{"records":[{"value":"a\u0001b"}]}'],
    ['a bad escape', '{"records":[{"value":"\\x"}]}'],
    ['a leading zero', '{"records":[{"value":01}]}'],
    ['a bare minus', '{"records":[{"value":-}]}'],
    ['nesting deeper than the fast path follows', `{"records":[{"value":${'['.repeat(100)}${']'.repeat(100)}}]}`],
  ])('%s', (_what, body) => same(body));

  it('refuses bytes that are not UTF-8 inside an otherwise compact body, as the general path does', () => {
    const body = Buffer.concat([Buffer.from('{"records":[{"value":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    expect(() => decode(body)).toThrow(/not valid UTF-8/);
  });

  it('agrees with the general path on generated values', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const atoms = ['0', '-0', '1', '-7', '1.5', '2.50', '1e3', '3E-2', 'true', 'false', 'null', '""', '"a\\"b"'];
    const keys = ['"a"', '"b"', '"1"', '"a"', '"\\u0062"', '"k\\n"', '"é"'];
    const gen = (depth: number): string => {
      const k = depth > 3 ? 0 : rnd(3);
      if (k === 0) return atoms[rnd(atoms.length)]!;
      const n = rnd(4);
      const items = Array.from({ length: n }, () => gen(depth + 1));
      if (k === 1) return `[${items.join(rnd(5) === 0 ? ', ' : ',')}]`;
      return `{${items.map((v) => `${keys[rnd(keys.length)]}:${v}`).join(',')}}`;
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      const body = `{"records":[{"value":${v}},{"key":${gen(1)},"value":${gen(1)}}]}`;
      expect(
        outcome(() => decode(body)),
        body,
      ).toEqual(general(body));
    }
  });
});
