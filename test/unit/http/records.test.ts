// decodeRecords: produce bodies → the exact bytes that go to Kafka, and bad input refused (400/422) before
// anything is sent. docs/rest-api.md "Produce" and "Decided cases".
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { decodeBase64, decodeRecords, type DecodeOptions } from '../../../src/http/records.js';

type Opts = Partial<DecodeOptions>;
const decode = (body: string | Buffer, opts: Opts = {}) =>
  decodeRecords(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, {
    format: 'json',
    maxRecords: 100,
    ...opts,
  });
const json = (body: unknown, opts: Opts = {}) => decode(JSON.stringify(body), opts);
const binary = (body: unknown, opts: Opts = {}) => decode(JSON.stringify(body), { format: 'binary', ...opts });
const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}
const status = (fn: () => unknown) => {
  const e = refusal(fn);
  expect(e.errorCode).toBe(e.status); // 400/422 carry error_code = status
  return e.status;
};

describe('json format: values and keys as compact JSON bytes', () => {
  it('stores a string key with its quotes, as Confluent does', () => {
    const [r] = json({ records: [{ key: 'somekey', value: 'v' }] });
    expect(text(r!.key)).toBe('"somekey"');
    expect(text(r!.value)).toBe('"v"');
  });

  it('writes objects compactly (no spaces) keeping the member order', () => {
    const [r] = decode('{ "records" : [ { "value" : { "b" : 1 , "a" : [ 1 , 2 , { "c" : null } ] } } ] }');
    expect(text(r!.value)).toBe('{"b":1,"a":[1,2,{"c":null}]}');
  });

  it('keeps non-ASCII characters unescaped as UTF-8 (escaped input included)', () => {
    const [r] = decode('{"records":[{"key":"\\u00e9t\\u00e9","value":{"name":"Zoë ✓ 日本"}}]}');
    expect(r!.key).toEqual(Buffer.from('"été"', 'utf8'));
    expect(r!.value).toEqual(Buffer.from('{"name":"Zoë ✓ 日本"}', 'utf8'));
  });

  it('maps absent and null key/value to null (not the text "null")', () => {
    const recs = json({ records: [{}, { key: null, value: null }, { value: 0 }, { value: false }, { value: '' }] });
    expect(recs.map((r) => [r.key, text(r.value)])).toEqual([
      [null, null],
      [null, null],
      [null, '0'],
      [null, 'false'],
      [null, '""'],
    ]);
  });

  it.each([
    ['a positive integer beyond 2^53', '12345678901234567890'],
    ['a negative integer beyond 2^53', '-98765432109876543210'],
    ['2^53 + 1', '9007199254740993'],
    ['a 40-digit integer', '1234567890123456789012345678901234567890'],
  ])('stores %s exactly as sent', (_name, digits) => {
    const [r] = decode(`{"records":[{"key":${digits},"value":{"id":${digits},"list":[1,${digits}]}}]}`);
    expect(text(r!.key)).toBe(digits);
    expect(text(r!.value)).toBe(`{"id":${digits},"list":[1,${digits}]}`);
  });

  it('keeps small numbers as numbers when a big one is elsewhere in the body', () => {
    const [a, b] = decode('{"records":[{"value":{"small":42,"f":1.5,"neg":-3}},{"value":123456789012345678901}]}');
    expect(text(a!.value)).toBe('{"small":42,"f":1.5,"neg":-3}');
    expect(text(b!.value)).toBe('123456789012345678901');
  });

  it.each(['1.00000000000000011', '9007199.254740993', '-0.12345678901234567'])(
    'stores the decimal %s (17 significant digits) exactly',
    (n) => {
      const [r] = decode(`{"records":[{"value":${n}}]}`);
      expect(text(r!.value)).toBe(n);
    },
  );

  it('stores a number beyond the double range as sent, not as null or Infinity', () => {
    const [r] = decode('{"records":[{"value":{"big":1e400,"tiny":-1.5e-400}}]}');
    expect(text(r!.value)).toBe('{"big":1e400,"tiny":-1.5e-400}');
  });

  it('lets the last of duplicate keys win (plain parser path)', () => {
    const [r] = decode('{"records":[{"value":1,"value":2,"key":"a","key":"b"}]}');
    expect(text(r!.key)).toBe('"b"');
    expect(text(r!.value)).toBe('2');
  });

  it('lets the last of duplicate keys win (exact-number parser path)', () => {
    const [r] = decode('{"records":[{"value":{"x":1,"x":12345678901234567890},"key":"a","key":"b"}]}');
    expect(text(r!.key)).toBe('"b"');
    expect(text(r!.value)).toBe('{"x":12345678901234567890}');
  });

  it('lets a later duplicate "records" member replace an earlier one', () => {
    expect(decode('{"records":[],"records":[{"value":1}]}')).toHaveLength(1);
    expect(status(() => decode('{"records":[{"value":1}],"records":[]}'))).toBe(422);
  });

  it('keeps a "__proto__" member as data', () => {
    const [r] = decode('{"records":[{"value":{"__proto__":{"x":1},"a":1}}]}');
    expect(text(r!.value)).toBe('{"__proto__":{"x":1},"a":1}');
  });

  it('returns records in request order with their explicit partitions', () => {
    const recs = json({ records: [{ value: 1, partition: 2 }, { value: 2 }, { value: 3, partition: 0 }] });
    expect(recs.map((r) => [text(r.value), r.partition])).toEqual([
      ['1', 2],
      ['2', undefined],
      ['3', 0],
    ]);
  });

  it("uses the path partition unless a record names its own (the record's wins)", () => {
    const recs = json(
      { records: [{ value: 1 }, { value: 2, partition: 0 }, { value: 3, partition: null }] },
      { pathPartition: 4 },
    );
    expect(recs.map((r) => r.partition)).toEqual([4, 0, 4]);
  });

  it('ignores the schema fields of the v2 request', () => {
    expect(json({ records: [{ value: 1 }], key_schema: null, value_schema_id: null })).toHaveLength(1);
  });
});

describe('binary format: base64', () => {
  it('decodes padded base64 keys and values to their bytes', () => {
    const value = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const [r] = binary({ records: [{ key: b64('key'), value: value.toString('base64') }] });
    expect(r!.key).toEqual(Buffer.from('key'));
    expect(r!.value).toEqual(value);
  });

  it.each([
    ['a2V5PQ', 'key='],
    ['a2U', 'ke'],
    ['aGVsbG8', 'hello'],
  ])('accepts %s without padding', (s, expected) => {
    const [r] = binary({ records: [{ value: s }] });
    expect(text(r!.value)).toBe(expected);
  });

  it.each([
    ['a2V5PQ==', 'key='],
    ['a2U=', 'ke'],
  ])('accepts %s with padding', (s, expected) => {
    expect(text(binary({ records: [{ value: s }] })[0]!.value)).toBe(expected);
  });

  it('maps an empty string to an empty value and null/absent to null', () => {
    const recs = binary({ records: [{ value: '' }, { value: null, key: null }, {}] });
    expect(recs.map((r) => r.value)).toEqual([Buffer.alloc(0), null, null]);
    expect(recs.map((r) => r.key)).toEqual([null, null, null]);
  });

  it.each([
    ['not base64 at all', '!!!not base64!!!'],
    ['one char too many', 'a'],
    ['five chars', 'a2V5P'],
    ['URL-safe alphabet', 'a-_5'],
    ['a newline', 'a2V5\n'],
    ['a space', 'a2V 5'],
    ['padding in the middle', 'ab=c'],
    ['three padding chars', 'abc==='],
    ['padding only', '===='],
    ['a lone padding char', '='],
    ['padding after a full block', 'a2V5='],
    ['two padding chars after a full block', 'a2V5=='],
    ['too much padding for the length', 'a2U=='],
  ])('answers 400 for a value that is %s', (_name, s) => {
    const e = refusal(() => binary({ records: [{ value: s }] }));
    expect(e.status).toBe(400);
    expect(e.errorCode).toBe(400);
    expect(e.message).toContain('records[0].value');
  });

  it('names the record and field of bad base64 in a key', () => {
    const e = refusal(() => binary({ records: [{ value: 'AA==' }, { key: '*', value: 'AA==' }] }));
    expect(e.status).toBe(400);
    expect(e.message).toContain('records[1].key');
  });

  it('decodeBase64 agrees with Buffer on valid input of every length', () => {
    for (let n = 0; n < 20; n++) {
      const raw = Buffer.from(Array.from({ length: n }, (_, i) => (i * 97 + 5) & 0xff));
      const padded = raw.toString('base64');
      expect(decodeBase64(padded, 'x')).toEqual(raw);
      expect(decodeBase64(padded.replace(/=+$/, ''), 'x')).toEqual(raw);
    }
  });
});

describe('wrong JSON types → 400', () => {
  it.each([
    ['a string partition', { records: [{ value: 1, partition: 'x' }] }, 'json'],
    ['a fractional partition', { records: [{ value: 1, partition: 1.5 }] }, 'json'],
    ['a boolean partition', { records: [{ value: 1, partition: true }] }, 'binary'],
    ['records as an object', { records: { 0: { value: 1 } } }, 'json'],
    ['records as a string', { records: 'x' }, 'json'],
    ['a record that is not an object', { records: [1] }, 'json'],
    ['a null record', { records: [null] }, 'binary'],
    ['a number as binary key', { records: [{ key: 5, value: 'AA==' }] }, 'binary'],
    ['an object as binary value', { records: [{ value: { a: 1 } }] }, 'binary'],
    ['headers as an object', { records: [{ value: 1, headers: { h: 'x' } }] }, 'json'],
    ['a header without name', { records: [{ value: 1, headers: [{ value: 'AA==' }] }] }, 'json'],
    ['a header with an empty name', { records: [{ value: 1, headers: [{ name: '', value: null }] }] }, 'json'],
    ['a header value that is a number', { records: [{ value: 1, headers: [{ name: 'h', value: 3 }] }] }, 'binary'],
    ['the body as an array', [{ value: 1 }], 'json'],
    ['the body as a string', 'records', 'binary'],
    ['the body as null', null, 'json'],
  ] as const)('answers 400 for %s', (_name, body, format) => {
    expect(status(() => decode(JSON.stringify(body), { format }))).toBe(400);
  });

  it('answers 400 for a partition too large to be an exact integer', () => {
    expect(status(() => decode('{"records":[{"value":1,"partition":99999999999999999999}]}'))).toBe(400);
  });

  it.each([
    ['malformed JSON', '{"records":[{"value":1}'],
    ['trailing garbage', '{"records":[{"value":1}]} x'],
    ['single quotes', "{'records':[]}"],
    ['an empty body', ''],
    ['whitespace only', '  \n '],
  ])('answers 400 for %s', (_name, body) => {
    expect(status(() => decode(body))).toBe(400);
    expect(status(() => decode(body, { format: 'binary' }))).toBe(400);
  });

  it('answers 400 for a body that is not UTF-8', () => {
    const body = Buffer.concat([Buffer.from('{"records":[{"value":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    expect(status(() => decode(body))).toBe(400);
  });

  it('answers 400 (not a crash) for JSON nested too deeply', () => {
    const depth = 100_000;
    expect(status(() => decode(`{"records":[{"value":${'['.repeat(depth)}${']'.repeat(depth)}}]}`))).toBe(400);
    // The exact-number parser path too.
    expect(
      status(() =>
        decode(`{"n":12345678901234567890,"records":[{"value":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`),
      ),
    ).toBe(400);
  });
});

describe('well-formed but invalid → 422', () => {
  it('refuses empty records', () => {
    expect(status(() => json({ records: [] }))).toBe(422);
    expect(status(() => binary({ records: [] }))).toBe(422);
  });

  it('refuses a body without records', () => {
    expect(status(() => json({}))).toBe(422);
  });

  it('refuses more records than the limit, and takes exactly the limit', () => {
    const recs = (n: number) => ({ records: Array.from({ length: n }, (_, i) => ({ value: i })) });
    expect(json(recs(5), { maxRecords: 5 })).toHaveLength(5);
    const e = refusal(() => json(recs(6), { maxRecords: 5 }));
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/MAX_RECORDS_PER_REQUEST/);
  });

  it('refuses a negative partition in any record', () => {
    expect(status(() => json({ records: [{ value: 1 }, { value: 2, partition: -1 }] }))).toBe(422);
    expect(status(() => binary({ records: [{ value: 'AA==', partition: -3 }] }))).toBe(422);
  });
});

describe('raw bodies (application/octet-stream, text/plain)', () => {
  const raw = (body: Buffer, query: DecodeOptions['query'] = {}, pathPartition?: number) =>
    decodeRecords(body, { format: 'raw', maxRecords: 1, query, pathPartition });

  it('makes one record whose value is the body bytes, untouched', () => {
    const body = Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x0a]);
    const recs = raw(body);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.value).toEqual(body);
    expect(recs[0]!.key).toBeNull();
    expect(recs[0]!.partition).toBeUndefined();
    expect(recs[0]!.headers).toBeUndefined();
  });

  it('does not parse a JSON-looking body', () => {
    expect(text(raw(Buffer.from('{"records":[]}'))[0]!.value)).toBe('{"records":[]}');
  });

  it('takes ?key as the UTF-8 bytes of the value as sent (no JSON quoting)', () => {
    expect(raw(Buffer.from('v'), { key: 'clé 1' })[0]!.key).toEqual(Buffer.from('clé 1', 'utf8'));
    expect(raw(Buffer.from('v'), { key: '' })[0]!.key).toEqual(Buffer.alloc(0));
  });

  it('takes ?partition as an integer, over the path partition', () => {
    expect(raw(Buffer.from('v'), { partition: '2' })[0]!.partition).toBe(2);
    expect(raw(Buffer.from('v'), { partition: '1' }, 3)[0]!.partition).toBe(1);
    expect(raw(Buffer.from('v'), {}, 3)[0]!.partition).toBe(3);
  });

  it('answers 400 for a ?partition that is not an integer', () => {
    for (const p of ['x', '1.5', '', ' 1', '0x1', '99999999999'])
      expect(status(() => raw(Buffer.from('v'), { partition: p }))).toBe(400);
  });

  it('answers 422 for a negative ?partition', () => {
    expect(status(() => raw(Buffer.from('v'), { partition: '-1' }))).toBe(422);
  });

  it('accepts an empty body as an empty value', () => {
    expect(raw(Buffer.alloc(0))[0]!.value).toEqual(Buffer.alloc(0));
  });
});

describe('headers', () => {
  it('decodes base64 values, keeps null values, order and repeated names', () => {
    const [r] = json({
      records: [
        {
          value: 1,
          headers: [
            { name: 'trace', value: b64('abc') },
            { name: 'empty', value: null },
            { name: 'trace', value: b64(Buffer.from([0, 255])) },
            { name: 'absent' },
          ],
        },
      ],
    });
    expect(r!.headers).toEqual([
      { name: 'trace', value: Buffer.from('abc') },
      { name: 'empty', value: null },
      { name: 'trace', value: Buffer.from([0, 255]) },
      { name: 'absent', value: null },
    ]);
  });

  it('works the same in the binary format', () => {
    const [r] = binary({ records: [{ value: 'AA==', headers: [{ name: 'h', value: b64('x') }] }] });
    expect(r!.headers).toEqual([{ name: 'h', value: Buffer.from('x') }]);
  });

  it('treats missing, null and empty headers as none', () => {
    const recs = json({ records: [{ value: 1 }, { value: 2, headers: null }, { value: 3, headers: [] }] });
    expect(recs.map((r) => r.headers)).toEqual([undefined, undefined, undefined]);
  });

  it('answers 400 naming the header whose value is not base64', () => {
    const e = refusal(() =>
      json({
        records: [
          {
            value: 1,
            headers: [
              { name: 'ok', value: 'AA==' },
              { name: 'bad', value: '%%' },
            ],
          },
        ],
      }),
    );
    expect(e.status).toBe(400);
    expect(e.message).toContain('records[0].headers[1].value');
  });
});
