import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../src/kafka/index.js';
import {
  batchEntry,
  recordBody,
  recordFrame,
  recordFrameAfter,
  recordFramePrefix,
  recordsFrame,
  sharedRecordBody,
  sharedRecordFrame,
} from '../../../src/ws/encode.js';
import { keyMatcher } from '../../../src/ws/protocol.js';
import { recordFrameSchema, recordsFrameSchema, serverFrameSchema } from '../../../src/ws/protocol.js';

const rec = (key: string | null, value: string | Buffer | null): ConsumedRecord => ({
  topic: 't',
  partition: 1,
  offset: 41,
  timestamp: 1732550000000,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  headers: [
    { name: 'trace', value: Buffer.from('trace') },
    { name: 'empty', value: null },
  ],
});

const frame = (r: ConsumedRecord, f: 'json' | 'string' | 'base64') => JSON.parse(recordFrame('s1', recordBody(r, f)));

describe('record frames', () => {
  it('json: parsed JSON, else a string; nulls stay null', () => {
    expect(frame(rec('k1', '{"total":12.5}'), 'json')).toEqual({
      type: 'record',
      id: 's1',
      topic: 't',
      partition: 1,
      offset: 41,
      timestamp: 1732550000000,
      key: 'k1',
      value: { total: 12.5 },
      headers: [
        { name: 'trace', value: 'dHJhY2U=' },
        { name: 'empty', value: null },
      ],
    });
    expect(frame(rec('"quoted"', '42'), 'json')).toMatchObject({ key: 'quoted', value: 42 });
    expect(frame(rec(null, null), 'json')).toMatchObject({ key: null, value: null });
    expect(frame(rec('x', 'not json {'), 'json')).toMatchObject({ value: 'not json {' });
  });

  it('json keeps big numbers exactly as produced', () => {
    const text = recordFrame('s', recordBody(rec(null, '{"n":12345678901234567890}'), 'json'));
    expect(text).toContain('"value":{"n":12345678901234567890}');
  });

  it('string and base64', () => {
    expect(frame(rec('k', '{"a":1}'), 'string')).toMatchObject({ key: 'k', value: '{"a":1}' });
    expect(frame(rec('k', Buffer.from([0, 255])), 'base64')).toMatchObject({ key: 'aw==', value: 'AP8=' });
  });

  it('a frame from its partition prefix is the same text; the prefix escapes the id and topic', () => {
    for (const f of ['json', 'string', 'base64'] as const)
      for (const r of [rec('k', '{"a":1}'), rec(null, 'plain "quoted"'), rec('k', null)])
        expect(recordFrameAfter(recordFramePrefix('s1', r.topic, r.partition), r, f)).toBe(
          recordFrame('s1', recordBody(r, f)),
        );
    const odd = { ...rec('k', 'v'), topic: 'a"b' };
    const text = recordFrameAfter(recordFramePrefix('i"d', odd.topic, odd.partition), odd, 'string');
    expect(JSON.parse(text)).toMatchObject({
      type: 'record',
      id: 'i"d',
      topic: 'a"b',
      partition: 1,
      offset: 41,
      value: 'v',
    });
  });

  it('matches the server frame schema', () => {
    expect(recordFrameSchema.safeParse(frame(rec('k', 'v'), 'json')).success).toBe(true);
  });

  it('shared bodies are computed once per record and format', () => {
    const r = rec('k', 'v');
    expect(sharedRecordBody(r, 'json')).toBe(sharedRecordBody(r, 'json'));
    expect(sharedRecordBody(r, 'base64')).not.toBe(sharedRecordBody(r, 'json'));
  });

  it('shared frame bytes: the frame text as UTF-8, one Buffer per record, format and id', () => {
    const r = rec('k', '{"é":"ü"}');
    const b = sharedRecordFrame(r, '0', 'json');
    expect(b.toString('utf8')).toBe(recordFrame('0', recordBody(r, 'json')));
    expect(sharedRecordFrame(r, '0', 'json')).toBe(b);
    expect(sharedRecordFrame(r, 's1', 'json')).not.toBe(b);
    expect(JSON.parse(sharedRecordFrame(r, 's1', 'json').toString())).toMatchObject({ id: 's1', value: { é: 'ü' } });
    expect(JSON.parse(sharedRecordFrame(r, '0', 'base64').toString()).value).toBe(
      Buffer.from('{"é":"ü"}').toString('base64'),
    );
  });
});

describe('broadcast key filter', () => {
  it('exact key and prefix, on bytes; null keys never match a filter', () => {
    const exact = keyMatcher({ key: 'EURUSD' });
    expect(exact(Buffer.from('EURUSD'))).toBe(true);
    expect(exact(Buffer.from('EURUSDX'))).toBe(false);
    expect(exact(null)).toBe(false);
    const prefix = keyMatcher({ keyPrefix: 'EUR' });
    expect(prefix(Buffer.from('EURGBP'))).toBe(true);
    expect(prefix(Buffer.from('EU'))).toBe(false);
    expect(prefix(null)).toBe(false);
    expect(keyMatcher(undefined)(null)).toBe(true);
  });
});

describe('records frames (opt-in batch)', () => {
  const at = (offset: number, value: string | null, key: string | null = 'k'): ConsumedRecord => ({
    ...rec(key, value),
    offset,
  });

  it('holds the records of one partition in order, each the record frame without type, id, topic, partition', () => {
    const records = [at(41, '{"total":12.5}'), at(42, 'not json {', null), at(43, null)];
    const text = recordsFrame(
      's1',
      't',
      1,
      records.map((r) => batchEntry(r, 'json')),
    );
    const parsed = JSON.parse(text);
    expect(parsed).toEqual({
      type: 'records',
      id: 's1',
      topic: 't',
      partition: 1,
      records: records.map((r) => {
        const { type: _t, id: _i, topic: _to, partition: _p, ...rest } = frame(r, 'json');
        return rest;
      }),
    });
    expect(parsed.records.map((r: { offset: number }) => r.offset)).toEqual([41, 42, 43]);
    expect(parsed.records[1]).toMatchObject({ key: null, value: 'not json {' });
    expect(recordsFrameSchema.safeParse(parsed).success).toBe(true);
    expect(serverFrameSchema.safeParse(parsed).success).toBe(true);
  });

  it('every format, and ids and topics that need escaping', () => {
    const r = at(7, '\u0000"x"');
    for (const f of ['json', 'string', 'base64'] as const) {
      const parsed = JSON.parse(recordsFrame('a"b', 't', 0, [batchEntry(r, f)]));
      expect(parsed.id).toBe('a"b');
      const { key, value, headers } = frame(r, f);
      expect(parsed.records).toEqual([{ offset: 7, timestamp: 1732550000000, key, value, headers }]);
    }
  });

  it('the schema refuses an empty records array', () => {
    expect(
      recordsFrameSchema.safeParse({ type: 'records', id: 's', topic: 't', partition: 0, records: [] }).success,
    ).toBe(false);
  });
});
