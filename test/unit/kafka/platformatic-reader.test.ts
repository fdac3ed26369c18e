// A fetched record of @platformatic/kafka (a batch plus a record's deltas) → our ConsumedRecord: offsets and
// timestamps from the batch's base and the record's deltas (LogAppendTime: the broker's time), headers in order.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { ConsumedRecord, RecordSink } from '../../../src/kafka/consumer-types.js';
import {
  PlatformaticReader,
  type PlatformaticConsumerContext,
  toConsumedRecord,
} from '../../../src/kafka/platformatic-reader.js';

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

// After a refusal the reader waits inside its fetched batch for room (the fetch response stays alive meanwhile) only
// while the sink says room is near: a socket over its high water makes it pause at once (W4b, docs/performance.md).
class Reader extends PlatformaticReader {
  constructor(sink: RecordSink) {
    super({} as PlatformaticConsumerContext, sink, pino({ level: 'silent' }), 'stopped');
  }
  protected outOfRange(): 'earliest' {
    return 'earliest';
  }
  async close(): Promise<void> {}
  /** The private `offerAgain`, with a batch that stays current. */
  retry(r: ConsumedRecord): Promise<boolean> {
    return (this as unknown as { offerAgain(r: ConsumedRecord, stale: () => boolean): Promise<boolean> }).offerAgain(
      r,
      () => false,
    );
  }
}

const consumed: ConsumedRecord = {
  topic: 't',
  partition: 0,
  offset: 5,
  timestamp: 0,
  key: null,
  value: Buffer.from('v'),
  headers: [],
};

describe('PlatformaticReader after a refusal', () => {
  it('does not wait for room when the sink says it will not come soon', async () => {
    const room = vi.fn(() => new Promise<void>(() => {}));
    const onRecord = vi.fn(() => false);
    const reader = new Reader({ onRecord, room, roomSoon: () => false });
    expect(await reader.retry(consumed)).toBe(false);
    expect(room).not.toHaveBeenCalled();
    expect(onRecord).not.toHaveBeenCalled();
  });

  it('waits for room and offers the record again when room is near', async () => {
    let taken = false;
    const onRecord = vi.fn(() => taken);
    const room = vi.fn(async () => {
      taken = true;
    });
    const reader = new Reader({ onRecord, room, roomSoon: () => true });
    expect(await reader.retry(consumed)).toBe(true);
    expect(room).toHaveBeenCalledTimes(1);
    expect(onRecord).toHaveBeenCalledWith(consumed);
  });
});
