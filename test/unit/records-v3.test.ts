import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { parseJsonBody } from '../../src/http/json.js';
import { decodeV3Batch, decodeV3Record, formatTimestamp, parseTimestamp } from '../../src/http/records-v3.js';

const decode = (text: string) => {
  const p = parseJsonBody(Buffer.from(text));
  return decodeV3Record(p, p.value, 'record 1');
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return [e.status, e.errorCode];
    throw e;
  }
  return 'no error';
};

describe('v3 timestamps', () => {
  it.each([
    ['2021-02-05T19:14:42Z', Date.UTC(2021, 1, 5, 19, 14, 42)],
    ['2021-02-05T19:14:42.1Z', Date.UTC(2021, 1, 5, 19, 14, 42, 100)],
    ['2021-02-05T19:14:42.123456789Z', Date.UTC(2021, 1, 5, 19, 14, 42, 123)],
    ['2021-02-05t19:14:42z', Date.UTC(2021, 1, 5, 19, 14, 42)],
    ['2021-02-05T19:14:42+02:30', Date.UTC(2021, 1, 5, 16, 44, 42)],
    ['2021-02-05T00:14:42-01:00', Date.UTC(2021, 1, 5, 1, 14, 42)],
    ['1970-01-01T00:00:00Z', 0],
  ])('reads %s as Java reads an Instant', (text, ms) => {
    expect(parseTimestamp(text)).toBe(ms);
  });

  it('reads a JSON number as epoch seconds, as Jackson does', () => {
    expect(parseTimestamp(1612552482)).toBe(1612552482000);
    expect(parseTimestamp(1612552482.25)).toBe(1612552482250);
  });

  it.each([
    '2021-02-05 19:14:42Z',
    '2021-02-05T19:14:42',
    '2021-02-30T00:00:00Z',
    '2021-13-01T00:00:00Z',
    '2021-02-05T24:00:00Z',
    '2021-02-05T19:60:00Z',
    '1969-12-31T23:59:59Z',
    '1612552482000',
    'now',
  ])('refuses %s with 400', (text) => {
    expect(codeOf(() => parseTimestamp(text))).toEqual([400, 400]);
  });

  it('writes timestamps back as Java writes an Instant (no fraction when it is zero)', () => {
    expect(formatTimestamp(Date.UTC(2021, 1, 5, 19, 14, 42))).toBe('2021-02-05T19:14:42Z');
    expect(formatTimestamp(Date.UTC(2021, 1, 5, 19, 14, 42, 50))).toBe('2021-02-05T19:14:42.050Z');
  });
});

describe('v3 record decoding', () => {
  it('turns each type into the bytes Confluent stores and reports type and size', () => {
    const r = decode(
      '{"key":{"type":"BINARY","data":"AAH/"},"value":{"type":"JSON","data":{"n":12345678901234567890}},' +
        '"headers":[{"name":"h","value":"aGk="}],"partition_id":2,"timestamp":"2021-02-05T19:14:42Z"}',
    );
    expect(r.decoded.key).toEqual(Buffer.from([0, 1, 255]));
    expect(r.decoded.value!.toString()).toBe('{"n":12345678901234567890}');
    expect(r.decoded.headers).toEqual([{ name: 'h', value: Buffer.from('hi') }]);
    expect(r.decoded.partition).toBe(2);
    expect(r.decoded.timestamp).toBe(Date.UTC(2021, 1, 5, 19, 14, 42));
    expect(r.key).toEqual({ type: 'BINARY', size: 3 });
    expect(r.value).toEqual({ type: 'JSON', size: 26 });
    expect(decode('{"value":{"type":"string","data":"é"}}').value).toEqual({ type: 'STRING', size: 2 });
  });

  it('makes null or absent data a null key/value; without a type it is left out of the report', () => {
    const r = decode('{"key":{"type":"JSON","data":null},"value":null}');
    expect([r.decoded.key, r.decoded.value, r.key, r.value]).toEqual([
      null,
      null,
      { type: 'JSON', size: -1 },
      undefined,
    ]);
    expect(decode('{}').decoded).toMatchObject({ key: null, value: null, partition: undefined });
  });

  it.each([
    ['[1]', 400],
    ['{"records":[]}', 400],
    ['{"value":{"type":"BINARY","data":"*"}}', 400],
    ['{"value":{"type":"BINARY","data":5}}', 400],
    ['{"value":{"type":"STRING","data":5}}', 400],
    ['{"value":{"data":"x"}}', 400],
    ['{"value":{"type":"AVRO","data":"x"}}', 400],
    ['{"value":{"type":"XML","data":"x"}}', 400],
    ['{"value":{"type":"JSON","data":1,"schema_id":3}}', 400],
    ['{"partition_id":"1"}', 400],
    ['{"partition_id":-1}', 40402],
    ['{"timestamp":true}', 400],
  ])('refuses %s (%i)', (text, code) => {
    expect(codeOf(() => decode(text))[1]).toBe(code);
  });
});

describe('v3 batch decoding', () => {
  const batch = (entries: unknown, max = 10) =>
    decodeV3Batch(parseJsonBody(Buffer.from(JSON.stringify({ entries }))), max);

  it('decodes each entry on its own: a bad one becomes that entry’s error', () => {
    const out = batch([
      { id: 'a', value: { type: 'STRING', data: 'x' } },
      { id: 'b', value: { type: 'BINARY', data: '!' } },
    ]);
    expect(out[0]!.id).toBe('a');
    expect(out[0]!.result).not.toBeInstanceOf(GatewayError);
    expect(out[1]!.result).toBeInstanceOf(GatewayError);
  });

  it('refuses the list itself with 422 42208: empty, too many, ids repeated or not valid', () => {
    const v = { type: 'STRING', data: 'x' };
    for (const entries of [[], [{ id: 'a' }, { id: 'a' }], [{ id: '' }], [{ id: 'a b' }], [{ id: 7 }], [{ value: v }]])
      expect(codeOf(() => batch(entries))).toEqual([422, 42208]);
    expect(codeOf(() => batch([{ id: 'a' }, { id: 'b' }], 1))).toEqual([422, 42208]);
  });
});
