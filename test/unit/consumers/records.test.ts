// GET records: Accept negotiation against the instance's format (406 40601) and the record encodings.
import { describe, expect, it } from 'vitest';
import { checkRecordsAccept, encodeRecords } from '../../../src/consumers/records.js';
import type { ConsumedRecord } from '../../../src/kafka/index.js';
import { recordBody } from '../../../src/ws/encode.js';

const rec: ConsumedRecord = {
  topic: 't',
  partition: 1,
  offset: 7,
  timestamp: 1700000000000,
  key: Buffer.from('"k"'),
  value: Buffer.from('{"n":12345678901234567890}'),
  headers: [{ name: 'h', value: Buffer.from('v') }],
};

describe('checkRecordsAccept', () => {
  it.each([
    undefined,
    '',
    '*/*',
    'application/json',
    'application/vnd.kafka.v2+json',
    'application/vnd.kafka.json.v2+json; q=0.9',
  ])('accepts %s for a json instance', (accept) => expect(() => checkRecordsAccept(accept, 'json')).not.toThrow());

  it('refuses another format with 406 40601', () => {
    expect(() => checkRecordsAccept('application/vnd.kafka.binary.v2+json', 'json')).toThrow(
      expect.objectContaining({ status: 406, errorCode: 40601 }),
    );
    expect(() => checkRecordsAccept('application/vnd.kafka.json.v2+json;q=0, text/html', 'json')).toThrow(
      expect.objectContaining({ errorCode: 40601 }),
    );
  });
});

/** What encodeRecords must write, byte for byte: the records' text as the WebSocket frames write it. */
function textAnswer(records: ConsumedRecord[], format: 'json' | 'binary' | 'string'): string {
  const enc = ({ json: 'json', binary: 'base64', string: 'string' } as const)[format];
  return `[${records.map((r) => `{${recordBody(r, enc)}`).join(',')}]`;
}

const encode = (records: ConsumedRecord[], format: 'json' | 'binary' | 'string') =>
  encodeRecords(records, format).toString('utf8');

describe('encodeRecords', () => {
  it('json: embeds the JSON as written (big numbers intact); not-JSON becomes a string', () => {
    const out = encode([rec, { ...rec, value: Buffer.from('plain') }], 'json');
    expect(out).toContain('"value":{"n":12345678901234567890}');
    expect(JSON.parse(out)[1].value).toBe('plain');
    expect(JSON.parse(out)[0]).toMatchObject({
      topic: 't',
      key: 'k',
      partition: 1,
      offset: 7,
      timestamp: 1700000000000,
    });
    expect(JSON.parse(out)[0].headers).toEqual([{ name: 'h', value: 'dg==' }]);
  });

  it('binary: base64; string: UTF-8 text; null stays null', () => {
    expect(JSON.parse(encode([rec], 'binary'))[0].key).toBe(Buffer.from('"k"').toString('base64'));
    expect(JSON.parse(encode([{ ...rec, key: null }], 'string'))[0]).toMatchObject({
      key: null,
      value: '{"n":12345678901234567890}',
    });
    expect(encode([], 'json')).toBe('[]');
  });

  it('records of several partitions and topics, in runs: each keeps its own topic, partition and offset', () => {
    const at = (topic: string, partition: number, offset: number): ConsumedRecord => ({
      ...rec,
      topic,
      partition,
      offset,
    });
    const list = [at('t', 1, 7), at('t', 1, 8), at('t', 2, 3), at('u', 2, 9), at('u', 2, 10), at('t', 1, 9)];
    const out = JSON.parse(encode(list, 'binary')) as { topic: string; partition: number; offset: number }[];
    expect(out.map((r) => [r.topic, r.partition, r.offset])).toEqual(list.map((r) => [r.topic, r.partition, r.offset]));
    // The same bytes per record as a WebSocket record frame's body (one record shape everywhere).
    expect(encode([list[2]!], 'string')).toBe(`[{${recordBody(list[2]!, 'string')}]`);
  });

  it('writes byte for byte the text of the WebSocket frames, on the direct path and off it (generated records)', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const bytes = (kind: number, n: number): Buffer | null => {
      switch (kind) {
        case 0:
          return null;
        case 1: // any bytes (base64 of every remainder; for string, mostly invalid UTF-8: the text path)
          return Buffer.from(Array.from({ length: n }, () => rand(256)));
        case 2: // text with quotes, backslashes, control characters and multi-byte UTF-8
          return Buffer.from(
            Array.from({ length: n }, () => ['a', '"', '\\', '\n', '\u0001', 'é', '€', '😀', '{'][rand(9)]).join(''),
          );
        default: // JSON
          return Buffer.from(JSON.stringify({ n: rand(1000), s: 'x'.repeat(rand(5)) }));
      }
    };
    for (let round = 0; round < 200; round++) {
      const records: ConsumedRecord[] = Array.from({ length: 1 + rand(6) }, (_, i) => ({
        topic: ['t', 'orders.eu-1', 'ü'][rand(3)]!,
        partition: rand(3),
        offset: [i, 2 ** 40 + i, Number.MAX_SAFE_INTEGER][rand(3)]!,
        timestamp: [0, 1700000000000 + i, -1][rand(3)]!,
        key: bytes(rand(4), rand(8)),
        value: bytes(rand(4), rand(40)),
        headers: rand(4) === 0 ? [{ name: 'h"1', value: rand(2) ? Buffer.from('v') : null }] : [],
      }));
      for (const format of ['json', 'binary', 'string'] as const)
        expect(encode(records, format), `${format} ${JSON.stringify(records)}`).toBe(textAnswer(records, format));
    }
  });

  it('grows its buffer past the first estimate (string values that escape to 6 bytes a byte)', () => {
    const records: ConsumedRecord[] = Array.from({ length: 50 }, (_, i) => ({
      ...rec,
      offset: i,
      headers: [],
      value: Buffer.alloc(300, 1), // \u0001 each
    }));
    expect(encode(records, 'string')).toBe(textAnswer(records, 'string'));
  });
});
