// load/lib/record-frame-reader.ts: the W3 load client reads partition and offset from the bytes of the frames the
// gateway's own encoder writes, agrees with JSON.parse on every one, and declines whatever is not such a frame (the
// client then parses it in full), so its duplicate and loss counts stay exact.
import { describe, expect, it } from 'vitest';
import { RecordFrameReader } from '../../../load/lib/record-frame-reader.js';
import type { ConsumedRecord } from '../../../src/kafka/index.js';
import { batchEntry, recordFrameAfter, recordFramePrefix, recordsFrame } from '../../../src/ws/encode.js';

const record = (over: Partial<ConsumedRecord>): ConsumedRecord => ({
  topic: 'orders',
  partition: 0,
  offset: 0,
  timestamp: 1_796_000_000_000,
  key: null,
  value: Buffer.from('hello'),
  headers: [],
  ...over,
});

const frameOf = (id: string, r: ConsumedRecord, format: 'string' | 'json' | 'base64' = 'string') =>
  Buffer.from(recordFrameAfter(recordFramePrefix(id, r.topic, r.partition), r, format));

describe('RecordFrameReader', () => {
  it('reads partition and offset of the gateway’s record frames as JSON.parse does', () => {
    const cases: [string, ConsumedRecord][] = [
      ['w3', record({ partition: 0, offset: 0 })],
      ['w3', record({ partition: 2, offset: 123_456 })],
      ['w3', record({ partition: 17, offset: 999_999_999_999_999, key: Buffer.from('k') })],
      ['a"b\\c', record({ topic: 'odd"topic', partition: 10, offset: 9 })],
      // Values that spell the keys the reader looks for, escaped inside strings.
      ['w3', record({ offset: 5, value: Buffer.from('"partition":1,"offset":2') })],
      ['w3', record({ offset: 6, headers: [{ name: '"offset":7', value: Buffer.from('x') }] })],
      ['é', record({ topic: 'ünïcode', partition: 3, offset: 1000 })],
    ];
    for (const [id, r] of cases) {
      const reader = new RecordFrameReader(id, r.topic);
      const frame = frameOf(id, r);
      const parsed = JSON.parse(frame.toString('utf8')) as { partition: number; offset: number };
      expect(reader.read(frame)).toBe(true);
      expect([reader.partition, reader.offset]).toEqual([parsed.partition, parsed.offset]);
      expect([reader.partition, reader.offset]).toEqual([r.partition, r.offset]);
    }
  });

  it('reads every format alike (the offset comes before key and value)', () => {
    for (const format of ['string', 'json', 'base64'] as const) {
      const reader = new RecordFrameReader('s', 'orders');
      expect(
        reader.read(frameOf('s', record({ partition: 1, offset: 42, value: Buffer.from('{"offset":1}') }), format)),
      ).toBe(true);
      expect([reader.partition, reader.offset]).toEqual([1, 42]);
    }
  });

  it('declines frames of another id or topic, other frame types, and numbers it cannot read exactly', () => {
    const reader = new RecordFrameReader('w3', 'orders');
    const declined = [
      frameOf('w4', record({})),
      frameOf('w3', record({ topic: 'orders2' })),
      frameOf('w', record({})),
      Buffer.from(recordsFrame('w3', 'orders', 0, [batchEntry(record({ offset: 1 }), 'string')])),
      Buffer.from('{"type":"error","id":"w3","code":"BAD_MESSAGE","message":"x"}'),
      Buffer.from('{"type":"subscribed","id":"w3","mode":"group","assignment":[]}'),
      // Beyond 15 digits, a fraction, an exponent, a leading zero, a sign, cut short: JSON.parse decides those.
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"offset":1234567890123456,"x":1}'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"offset":1.5,"x":1}'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"offset":1e3,"x":1}'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":01,"offset":1,"x":1}'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":-1,"offset":1,"x":1}'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"offset":12'),
      Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"timestamp":1,"offset":1}'),
    ];
    for (const frame of declined) expect(reader.read(frame), frame.toString()).toBe(false);
  });

  it('keeps nothing of a declined frame from the one read before', () => {
    const reader = new RecordFrameReader('w3', 'orders');
    expect(reader.read(frameOf('w3', record({ partition: 2, offset: 8 })))).toBe(true);
    expect(reader.read(Buffer.from('{"type":"record","id":"w3","topic":"orders","partition":0,"offset":1.5}'))).toBe(
      false,
    );
    expect(reader.read(frameOf('w3', record({ partition: 1, offset: 9 })))).toBe(true);
    expect([reader.partition, reader.offset]).toEqual([1, 9]);
  });
});
