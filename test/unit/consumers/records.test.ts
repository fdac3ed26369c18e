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

describe('encodeRecords', () => {
  it('json: embeds the JSON as written (big numbers intact); not-JSON becomes a string', () => {
    const out = encodeRecords([rec, { ...rec, value: Buffer.from('plain') }], 'json');
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
    expect(JSON.parse(encodeRecords([rec], 'binary'))[0].key).toBe(Buffer.from('"k"').toString('base64'));
    expect(JSON.parse(encodeRecords([{ ...rec, key: null }], 'string'))[0]).toMatchObject({
      key: null,
      value: '{"n":12345678901234567890}',
    });
    expect(encodeRecords([], 'json')).toBe('[]');
  });

  it('records of several partitions and topics, in runs: each keeps its own topic, partition and offset', () => {
    const at = (topic: string, partition: number, offset: number): ConsumedRecord => ({
      ...rec,
      topic,
      partition,
      offset,
    });
    const list = [at('t', 1, 7), at('t', 1, 8), at('t', 2, 3), at('u', 2, 9), at('u', 2, 10), at('t', 1, 9)];
    const out = JSON.parse(encodeRecords(list, 'binary')) as { topic: string; partition: number; offset: number }[];
    expect(out.map((r) => [r.topic, r.partition, r.offset])).toEqual(list.map((r) => [r.topic, r.partition, r.offset]));
    // The same bytes per record as a WebSocket record frame's body (one record shape everywhere).
    expect(encodeRecords([list[2]!], 'string')).toBe(`[{${recordBody(list[2]!, 'string')}]`);
  });
});
