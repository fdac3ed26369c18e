// A fetched record of @platformatic/kafka (a batch plus a record's deltas) → our ConsumedRecord: offsets and
// timestamps from the batch's base and the record's deltas (LogAppendTime: the broker's time), headers in order.
import { describe, expect, it } from 'vitest';
import { toConsumedRecord } from '../../../src/kafka/platformatic-reader.js';

type Batch = Parameters<typeof toConsumedRecord>[2];

function batch(attributes: number): Batch {
  return {
    firstOffset: 1000n,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: 2,
    firstTimestamp: 1_700_000_000_000n,
    maxTimestamp: 1_700_000_009_999n,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records: [],
  };
}

const record = {
  length: 0,
  attributes: 0,
  timestampDelta: 25n,
  offsetDelta: 2,
  key: null,
  value: Buffer.from('v'),
  headers: [
    [Buffer.from('h'), Buffer.from('1')],
    [Buffer.from('h'), null],
    [Buffer.from('other'), Buffer.from('x')],
  ] as [Buffer | null, Buffer | null][],
};

describe('toConsumedRecord', () => {
  it('takes offset and create time from the batch base plus the record deltas', () => {
    const r = toConsumedRecord('t', 3, batch(0), record);
    expect(r).toMatchObject({ topic: 't', partition: 3, offset: 1002, timestamp: 1_700_000_000_025, key: null });
    expect(r.value?.toString()).toBe('v');
  });

  it('uses the batch max timestamp when the topic stamps log append time', () => {
    expect(toConsumedRecord('t', 0, batch(0x08), record).timestamp).toBe(1_700_000_009_999);
  });

  it('keeps repeated and null-valued headers in order', () => {
    const h = toConsumedRecord('t', 0, batch(0), record).headers;
    expect(h.map((x) => [x.name, x.value?.toString() ?? null])).toEqual([
      ['h', '1'],
      ['h', null],
      ['other', 'x'],
    ]);
  });
});
