// A fetched record of @platformatic/kafka (a batch plus a record's deltas) → our ConsumedRecord: offsets and
// timestamps from the batch's base and the record's deltas (LogAppendTime: the broker's time), headers in order.
import * as lib from '@platformatic/kafka';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { ConsumedRecord, RecordSink } from '../../../src/kafka/consumer-types.js';
import { tpKey } from '../../../src/kafka/consumer-common.js';
import { FetchedBatch } from '../../../src/kafka/platformatic-fetch-decoder.js';
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
    return (
      this as unknown as { offerAgain(r: ConsumedRecord, key: string, stale: () => boolean): Promise<boolean> }
    ).offerAgain(r, tpKey(r), () => false);
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

// The loop feeds a partition's batches the same whether the gateway decoded the fetch response (FetchedBatch) or the
// library did (a Fetch version the gateway does not decode): from the next offset on, in order, up to a refusal.
describe('PlatformaticReader feeding a partition', () => {
  const bytes = (() => {
    const b = Buffer.from(
      lib.createRecordsBatch(
        [0, 1, 2, 3, 4].map((i) => ({
          topic: 't',
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${i}`),
          headers: new Map([[Buffer.from('h'), Buffer.from(`${i}`)]]),
          timestamp: 1_700_000_000_000n + BigInt(i),
        })),
      ).buffer,
    );
    b.writeBigInt64BE(10n, 0);
    return b;
  })();
  const libraryBatch = () => lib.readRecordsBatches(lib.Reader.from(bytes))[0]!;
  const ourBatch = () => {
    const h = libraryBatch();
    return new FetchedBatch(
      h.firstOffset,
      h.length,
      h.partitionLeaderEpoch,
      h.magic,
      h.crc,
      h.attributes,
      h.lastOffsetDelta,
      h.firstTimestamp,
      h.maxTimestamp,
      h.producerId,
      h.producerEpoch,
      h.firstSequence,
      h.records.length,
      bytes.subarray(61),
      lib,
    );
  };

  async function feed(batch: unknown, from: number, takeUntil = Infinity) {
    const got: ConsumedRecord[] = [];
    const reader = new Reader({ onRecord: (r) => r.offset < takeUntil && got.push(r) > 0 });
    const cur = { topic: 't', partition: 0, offset: from };
    const r = reader as unknown as {
      next: Map<string, typeof cur>;
      feedPartition(topic: string, partition: number, batches: unknown[], c: typeof cur): Promise<boolean>;
    };
    r.next.set(tpKey(cur), cur);
    const fed = await r.feedPartition('t', 0, [batch], cur);
    return { fed, got, next: cur.offset, paused: reader.paused };
  }

  for (const [name, batch] of [
    ['decoded by the gateway', ourBatch],
    ['decoded by the library', libraryBatch],
  ] as const) {
    it(`${name}: the records from the next offset on, then past the batch`, async () => {
      const { fed, got, next } = await feed(batch(), 12);
      expect(fed).toBe(true);
      expect(got.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.timestamp])).toEqual([
        [12, 'k2', 'v2', 1_700_000_000_002],
        [13, 'k3', 'v3', 1_700_000_000_003],
        [14, 'k4', 'v4', 1_700_000_000_004],
      ]);
      expect(got[0]!.headers).toEqual([{ name: 'h', value: Buffer.from('2') }]);
      expect(next).toBe(15);
    });

    it(`${name}: a refused record stops the feed there and pauses the reader (a sink without room)`, async () => {
      const { fed, got, next, paused } = await feed(batch(), 10, 13);
      expect(fed).toBe(false);
      expect(got.map((r) => r.offset)).toEqual([10, 11, 12]);
      expect(next).toBe(13);
      expect(paused).toBe(true);
    });
  }
});
