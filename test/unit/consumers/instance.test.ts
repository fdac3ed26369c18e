// One consumer instance over a stand-in group session (the real one is in test/integration/consumers*.test.ts):
// the read-ahead buffer pauses its reader when full and resumes it as soon as there is room again — also right after
// a seek, which empties it — and what a GET records handed out is what an empty-body commit stores (offset + 1 of the
// last record of each partition), across records of several partitions in one answer.
import { describe, expect, it } from 'vitest';
import { ConsumerInstance } from '../../../src/consumers/instance.js';
import type {
  ConsumedRecord,
  GroupSession,
  KafkaGateway,
  RecordSink,
  TopicPartitionOffset,
} from '../../../src/kafka/index.js';
import { silentLogger } from '../../../src/observability/logger.js';

const TOPIC = 't';
const rec = (partition: number, offset: number): ConsumedRecord => ({
  topic: TOPIC,
  partition,
  offset,
  timestamp: 0,
  key: null,
  value: Buffer.alloc(100),
  headers: [],
});

class FakeSession implements GroupSession {
  assignment = [0, 1].map((partition) => ({ topic: TOPIC, partition }));
  paused = false;
  resumes = 0;
  seeks: TopicPartitionOffset[] = [];
  committed: TopicPartitionOffset[][] = [];
  constructor(readonly sink: RecordSink) {}
  /** Offers records as a session's fetch loop does: stops (and pauses) at the first refusal. */
  feed(records: ConsumedRecord[]): number {
    let taken = 0;
    for (const r of records) {
      if (!this.sink.onRecord(r)) {
        this.pause();
        break;
      }
      taken++;
    }
    return taken;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
    this.resumes++;
  }
  commit() {}
  async flushCommits() {}
  async commitNow(positions: TopicPartitionOffset[]) {
    this.committed.push(positions);
  }
  seek(p: TopicPartitionOffset) {
    this.seeks.push(p);
  }
  async close() {}
}

async function instance(bufferBytes: number) {
  let session!: FakeSession;
  const kafka = {
    consumers: {
      group: async (_opts: unknown, sink: RecordSink) => {
        session = new FakeSession(sink);
        return session;
      },
    },
  } as unknown as KafkaGateway;
  const i = new ConsumerInstance(
    'g',
    'c',
    null,
    {
      format: 'binary',
      autoOffsetReset: 'earliest',
      autoCommit: false,
      fetchMinBytes: 1,
      requestTimeoutMs: 0,
      idleTimeoutMs: 60_000,
    },
    kafka,
    { bufferBytes },
    silentLogger,
  );
  await i.subscribe([TOPIC]);
  return { i, session };
}

describe('ConsumerInstance', () => {
  it('a full buffer pauses the reader; draining below half resumes it', async () => {
    const { i, session } = await instance(1000); // room for 10 records of 100 bytes
    expect(session.feed(Array.from({ length: 15 }, (_, o) => rec(0, o)))).toBe(10);
    expect(session.paused).toBe(true);
    expect(await i.records(0, 300)).toHaveLength(3); // 700 bytes left: not below half
    expect(session.paused).toBe(true);
    expect(await i.records(0, 300)).toHaveLength(3); // 400 left
    expect(session.paused).toBe(false);
  });

  it('a seek empties the buffer of that partition and resumes a reader paused for room at once', async () => {
    const { i, session } = await instance(1000);
    session.feed(Array.from({ length: 15 }, (_, o) => rec(0, o)));
    expect(session.paused).toBe(true);
    await i.seek([{ topic: TOPIC, partition: 0, offset: 0 }]);
    // Not only at the next GET records: the reader fetches while the client is still between calls.
    expect(session.paused).toBe(false);
    expect(session.seeks).toEqual([{ topic: TOPIC, partition: 0, offset: 0 }]);
    expect(await i.records(0, 10_000)).toEqual([]);
  });

  it('an empty-body commit stores offset + 1 of the last record handed out on each partition', async () => {
    const { i, session } = await instance(100_000);
    session.feed([rec(0, 5), rec(0, 6), rec(1, 40), rec(1, 41), rec(1, 42), rec(0, 7), rec(1, 43)]);
    const first = await i.records(0, 600); // six records: up to 1/42
    expect(first.map((r) => `${r.partition}/${r.offset}`)).toEqual(['0/5', '0/6', '1/40', '1/41', '1/42', '0/7']);
    await i.commit(undefined);
    expect(session.committed.at(-1)).toEqual(
      expect.arrayContaining([
        { topic: TOPIC, partition: 0, offset: 8 },
        { topic: TOPIC, partition: 1, offset: 43 },
      ]),
    );
    expect(session.committed.at(-1)).toHaveLength(2);
    // Nothing new handed out since: nothing owed.
    await i.commit(undefined);
    expect(session.committed.at(-1)).toEqual([]);
    expect((await i.records(0, 600)).map((r) => r.offset)).toEqual([43]);
    await i.commit(undefined);
    expect(session.committed.at(-1)).toEqual([{ topic: TOPIC, partition: 1, offset: 44 }]);
  });
});
