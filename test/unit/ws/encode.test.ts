import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../src/kafka/index.js';
import {
  batchEntry,
  recordBody,
  recordFrame,
  recordFrameAfter,
  RecordFrameWriter,
  recordFramePrefix,
  recordsFrame,
  sharedRecordBody,
  sharedRecordFrame,
} from '../../../src/ws/encode.js';
import { TextFrames } from '../../../src/ws/frames.js';
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

describe('record frames written as bytes (RecordFrameWriter)', () => {
  /** The frame as `writer` lays it out in a TextFrames run, and as the text encoder's UTF-8. */
  const both = (id: string, r: ConsumedRecord, format: 'json' | 'string' | 'base64') => {
    const writer = new RecordFrameWriter(recordFramePrefix(id, r.topic, r.partition), format);
    writer.record = r;
    const direct = new TextFrames();
    direct.add(writer);
    const viaText = new TextFrames();
    viaText.add(recordFrameAfter(recordFramePrefix(id, r.topic, r.partition), r, format));
    return { direct: direct.take(), viaText: viaText.take(), text: writer.text() };
  };
  const plain = (key: Buffer | null, value: Buffer | null, over: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
    topic: 't',
    partition: 2,
    offset: 41,
    timestamp: 1_732_550_000_000,
    key,
    value,
    headers: [],
    ...over,
  });

  it('is byte for byte the text encoder’s frame, whatever the bytes of key and value', () => {
    const samples: (Buffer | null)[] = [
      null,
      Buffer.alloc(0),
      Buffer.from('{"p":"xxxxxxxx"}'),
      Buffer.from('back\\slash "quotes" and / slash'),
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)), // every control character
      Buffer.from([0x7f, 0x20, 0x7e]),
      Buffer.from('héllo ✓ 😀 \u2028\u2029 \ufeff'),
      Buffer.from([0xff, 0xfe, 0x41]), // not UTF-8: decoded with U+FFFD by the text path
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate: not UTF-8 either
      Buffer.from([0xe2, 0x9c]), // cut short
      Buffer.from('x'.repeat(5000)),
      Buffer.from('y'.repeat(9000)), // beyond what is written directly
    ];
    let checked = 0;
    for (const key of samples)
      for (const value of samples) {
        const { direct, viaText } = both('w3', plain(key, value), 'string');
        expect(direct.equals(viaText), `${String(key)} / ${String(value)}`).toBe(true);
        checked++;
      }
    expect(checked).toBe(samples.length ** 2);
  });

  it('agrees with the text encoder on pseudo-random bytes (ASCII, control, high and multi-byte, broken UTF-8)', () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pieces = [
      [0x61],
      [0x22],
      [0x5c],
      [0x0a],
      [0x01],
      [0x7f],
      [0xc3, 0xa9],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xc3],
      [0x80],
    ];
    for (let i = 0; i < 2000; i++) {
      const bytes: number[] = [];
      for (let n = rand(40); n > 0; n--)
        bytes.push(...(rand(3) === 0 ? pieces[rand(pieces.length)]! : [0x20 + rand(95)]));
      const value = Buffer.from(bytes);
      const key = rand(2) === 0 ? null : Buffer.from(bytes.slice(0, rand(bytes.length + 1)));
      const { direct, viaText } = both('w3', plain(key, value, { offset: rand(1_000_000) }), 'string');
      expect(direct.equals(viaText), value.toString('hex')).toBe(true);
    }
  });

  it('writes offsets and timestamps as the text does, and odd ids and topics through their prefix', () => {
    for (const [offset, timestamp] of [
      [0, 0],
      [9, -1],
      [10, 1],
      [2 ** 53 - 1, -(2 ** 53 - 1)],
      [99_999_999, 100_000_000],
      [100_000_001, -99_999_999],
      [9_007_199_199_999_999, 9_007_199_200_000_000],
      [1_999_999_999_999, 2_147_483_648],
      [1_234_567, 1_796_298_196_558],
    ] as const) {
      const { direct, viaText } = both(
        'i"d ✓',
        plain(null, Buffer.from('v'), { offset, timestamp, topic: 'a"b' }),
        'string',
      );
      expect(direct.equals(viaText)).toBe(true);
    }
  });

  it('hands every other record to the text encoder: other formats, headers, big values (the same bytes)', () => {
    const withHeaders = plain(Buffer.from('k'), Buffer.from('{"a":1}'), {
      headers: [{ name: 'trace', value: Buffer.from('t') }],
    });
    for (const format of ['json', 'string', 'base64'] as const)
      for (const r of [
        withHeaders,
        plain(null, Buffer.from('{"a":1}')),
        plain(null, Buffer.from('z'.repeat(70_000))),
      ]) {
        const { direct, viaText, text } = both('s', r, format);
        expect(direct.equals(viaText)).toBe(true);
        expect(JSON.parse(text)).toMatchObject({ type: 'record', id: 's', offset: 41 });
      }
  });

  it('lays frames of different sizes one after another in a run, as the text encoder would', () => {
    const writer = new RecordFrameWriter(recordFramePrefix('w', 't', 0), 'string');
    const direct = new TextFrames();
    const viaText = new TextFrames();
    for (let i = 0; i < 500; i++) {
      const r = plain(null, Buffer.from('v"'.repeat(i % 97)), { partition: 0, offset: i });
      writer.record = r;
      direct.add(writer);
      viaText.add(recordFrameAfter(recordFramePrefix('w', 't', 0), r, 'string'));
    }
    expect(direct.bytes).toBe(viaText.bytes);
    expect(direct.take().equals(viaText.take())).toBe(true);
  });
});
