// BatchingProducer against a fake kafkajs producer whose sendBatch calls the test answers by hand: coalescing,
// per-request offsets, failures, the produce timeout, batch size limits and flush.
import { createRequire } from 'node:module';
import type { Producer as KafkaJsProducer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchingProducer, type BatchingProducerOptions } from '../../../src/kafka/producer.js';
import { BATCH_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES, recordSize } from '../../../src/core/record-size.js';
import type { ProduceRecord, RecordResult } from '../../../src/kafka/types.js';

interface Call {
  batch: ProducerBatch;
  resolve: (m: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

/** A kafkajs producer whose sendBatch waits until the test acks or fails it; offsets grow per partition like Kafka's. */
class FakeKafka {
  readonly calls: Call[] = [];
  private readonly next = new Map<string, number>();

  constructor(private readonly firstOffset: (topic: string, partition: number) => number = () => 0) {}

  readonly producer = {
    sendBatch: (batch: ProducerBatch) =>
      new Promise<RecordMetadata[]>((resolve, reject) => {
        this.calls.push({ batch, resolve, reject });
      }),
  } as unknown as KafkaJsProducer;

  /** Messages of call i as [topic, partition, value] in the order they were handed to kafkajs. */
  messages(i: number): [string, number, string | null][] {
    return this.calls[i]!.batch.topicMessages!.flatMap((tm) =>
      tm.messages.map(
        (m) => [tm.topic, m.partition!, m.value === null ? null : String(m.value)] as [string, number, string | null],
      ),
    );
  }

  /** Answer call i as Kafka does: one entry per topic-partition with the base offset of its records. */
  ack(i: number): void {
    const counts = new Map<string, { topicName: string; partition: number; n: number }>();
    for (const tm of this.calls[i]!.batch.topicMessages!) {
      for (const m of tm.messages) {
        const k = `${tm.topic}/${m.partition}`;
        const c = counts.get(k) ?? { topicName: tm.topic, partition: m.partition!, n: 0 };
        c.n++;
        counts.set(k, c);
      }
    }
    const meta: RecordMetadata[] = [];
    for (const [k, c] of counts) {
      const base = this.next.get(k) ?? this.firstOffset(c.topicName, c.partition);
      this.next.set(k, base + c.n);
      meta.push({
        topicName: c.topicName,
        partition: c.partition,
        errorCode: 0,
        baseOffset: String(base),
        logAppendTime: '-1',
        logStartOffset: '0',
      });
    }
    this.calls[i]!.resolve(meta);
  }

  fail(i: number, error: unknown): void {
    this.calls[i]!.reject(error);
  }
}

const rec = (value: string, partition = 0, key: string | null = null): ProduceRecord => ({
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from(value),
  partition,
});

const LINGER = 5;
const TIMEOUT = 1000;

function setup(opts: Partial<BatchingProducerOptions> = {}, fake = new FakeKafka()) {
  const producer = new BatchingProducer(fake.producer, {
    lingerMs: LINGER,
    timeoutMs: TIMEOUT,
    acks: -1,
    compression: 'none',
    maxBatchBytes: () => 1_048_588,
    ...opts,
  });
  return { fake, producer };
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>) {
  const t = { done: false, value: undefined as T | undefined };
  void p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

const offsets = (rs: RecordResult[]) => rs.map((r) => (r.ok ? [r.partition, r.offset] : ['error', r.errorCode]));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('coalescing', () => {
  it('gathers concurrent sends of several requests and topics into one sendBatch', async () => {
    const { fake, producer } = setup();
    const a = producer.send('t1', [rec('a1'), rec('a2', 1)]);
    const b = producer.send('t2', [rec('b1')]);
    const c = producer.send('t1', [rec('c1')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    // Grouped per partition, each partition's records in arrival order.
    expect(fake.messages(0)).toEqual([
      ['t1', 0, 'a1'],
      ['t1', 0, 'c1'],
      ['t1', 1, 'a2'],
      ['t2', 0, 'b1'],
    ]);
    fake.ack(0);
    expect(offsets(await a)).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(offsets(await b)).toEqual([[0, 0]]);
    expect(offsets(await c)).toEqual([[0, 1]]);
  });

  it('waits for the linger time before sending', async () => {
    const { fake, producer } = setup();
    void producer.send('t', [rec('x')]);
    await vi.advanceTimersByTimeAsync(LINGER - 1);
    expect(fake.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls).toHaveLength(1);
  });

  it('with lingerMs 0 still coalesces sends made in the same tick', async () => {
    const { fake, producer } = setup({ lingerMs: 0 });
    void producer.send('t', [rec('x')]);
    void producer.send('t', [rec('y')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(1);
    expect(fake.messages(0).map((m) => m[2])).toEqual(['x', 'y']);
  });

  it('with lingerMs 0 (the default) still gathers the sends made while a batch is in flight into the next one', async () => {
    const { fake, producer } = setup({ lingerMs: 0 });
    const first = producer.send('t', [rec('1')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(1);
    const later = [producer.send('t', [rec('2')]), producer.send('t', [rec('3')]), producer.send('t', [rec('4')])];
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.calls).toHaveLength(1);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(2);
    expect(fake.messages(1).map((m) => m[2])).toEqual(['2', '3', '4']);
    fake.ack(1);
    expect(offsets(await first)).toEqual([[0, 0]]);
    expect((await Promise.all(later)).map(offsets)).toEqual([[[0, 1]], [[0, 2]], [[0, 3]]]);
  });

  it('keeps one batch in flight: sends made meanwhile wait and go together in the next batch', async () => {
    const { fake, producer } = setup();
    const first = producer.send('t', [rec('1')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    const second = producer.send('t', [rec('2')]);
    const third = producer.send('t', [rec('3')]);
    await vi.advanceTimersByTimeAsync(100);
    expect(fake.calls).toHaveLength(1);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(2);
    expect(fake.messages(1).map((m) => m[2])).toEqual(['2', '3']);
    fake.ack(1);
    expect(offsets(await first)).toEqual([[0, 0]]);
    expect(offsets(await second)).toEqual([[0, 1]]);
    expect(offsets(await third)).toEqual([[0, 2]]);
  });

  it('resolves a request only when all of its records are answered', async () => {
    const { fake, producer } = setup({ maxBatchBytes: () => BATCH_OVERHEAD_BYTES + 2 * (RECORD_OVERHEAD_BYTES + 1) });
    const req = track(producer.send('t', [rec('a'), rec('b'), rec('c')]));
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(2);
    expect(req.done).toBe(false);
    fake.ack(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(req.done).toBe(true);
    expect(offsets(req.value!)).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
  });
});

describe('offsets', () => {
  it('gives each request its own offsets, in request order, counted from each partition’s baseOffset', async () => {
    const fake = new FakeKafka((_t, p) => (p === 0 ? 100 : 7));
    const { producer } = setup({}, fake);
    const a = producer.send('t', [rec('a0', 0), rec('a1', 1), rec('a2', 0)]);
    const b = producer.send('t', [rec('b0', 0), rec('b1', 0), rec('b2', 1)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.ack(0);
    // Partition 0 holds a0, a2, b0, b1 → 100..103; partition 1 holds a1, b2 → 7, 8.
    expect(offsets(await a)).toEqual([
      [0, 100],
      [1, 7],
      [0, 101],
    ]);
    expect(offsets(await b)).toEqual([
      [0, 102],
      [0, 103],
      [1, 8],
    ]);
  });

  it('keeps offsets of the same partition apart per topic', async () => {
    const fake = new FakeKafka((t) => (t === 'x' ? 10 : 50));
    const { producer } = setup({}, fake);
    const x = producer.send('x', [rec('1'), rec('2')]);
    const y = producer.send('y', [rec('3')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.ack(0);
    expect(offsets(await x)).toEqual([
      [0, 10],
      [0, 11],
    ]);
    expect(offsets(await y)).toEqual([[0, 50]]);
  });

  it('reports offset -1 when Kafka gives no base offset (acks=0)', async () => {
    const { fake, producer } = setup({ acks: 0 });
    const p = producer.send('t', [rec('a'), rec('b')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.calls[0]!.resolve([]);
    const rs = await p;
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(offsets(rs)).toEqual([
      [0, -1],
      [0, -1],
    ]);
  });
});

describe('what reaches kafkajs', () => {
  it('passes acks, compression, the timeout and each record’s key, value, partition and headers', async () => {
    const { fake, producer } = setup({ acks: 1, compression: 'gzip' });
    void producer.send('t', [
      {
        key: Buffer.from('k'),
        value: null,
        partition: 3,
        headers: [
          { name: 'h', value: Buffer.from('1') },
          { name: 'n', value: null },
          { name: 'h', value: Buffer.from('2') },
        ],
      },
    ]);
    await vi.advanceTimersByTimeAsync(LINGER);
    const batch = fake.calls[0]!.batch;
    expect(batch.acks).toBe(1);
    expect(batch.compression).toBe(1); // kafkajs CompressionTypes.GZIP
    expect(batch.timeout).toBe(TIMEOUT);
    const m = batch.topicMessages![0]!.messages[0]!;
    expect(m.key).toEqual(Buffer.from('k'));
    expect(m.value).toBeNull();
    expect(m.partition).toBe(3);
    // kafkajs takes repeated header names as arrays, in order; it cannot encode null values, so they go as empty.
    expect(m.headers).toEqual({ h: [Buffer.from('1'), Buffer.from('2')], n: [Buffer.alloc(0)] });
  });

  it('hands kafkajs headers its real encoder can write, null values included', async () => {
    const { fake, producer } = setup();
    void producer.send('t', [
      {
        key: null,
        value: Buffer.from('v'),
        partition: 0,
        headers: [
          { name: 'n', value: null },
          { name: 'b', value: Buffer.from('x') },
        ],
      },
    ]);
    await vi.advanceTimersByTimeAsync(LINGER);
    const m = fake.calls[0]!.batch.topicMessages![0]!.messages[0]!;
    // kafkajs's own record encoder (what sendBatch runs): it throws on a null header value.
    const encodeRecord = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
      r: object,
    ) => unknown;
    expect(() => encodeRecord({ key: m.key, value: m.value, headers: m.headers })).not.toThrow();
  });

  it('uses no compression by default and routes every call through the sendBatch seam', async () => {
    const seen: ProducerBatch[] = [];
    const { fake, producer } = setup({
      sendBatch: (send, batch) => {
        seen.push(batch);
        return send(batch);
      },
    });
    void producer.send('t', [rec('x')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(seen).toHaveLength(1);
    expect(fake.calls).toHaveLength(1);
    expect(seen[0]!.compression).toBe(0); // CompressionTypes.None
  });
});

describe('failures', () => {
  const retriable = Object.assign(new Error('This server is not the leader for that topic-partition'), {
    name: 'KafkaJSProtocolError',
    type: 'NOT_LEADER_OR_FOLLOWER',
    retriable: true,
  });
  const fatal = Object.assign(new Error('This record is invalid'), {
    name: 'KafkaJSProtocolError',
    type: 'INVALID_RECORD',
    retriable: false,
  });

  it('gives every record of a failed retriable batch 50003, never error_code null', async () => {
    const { fake, producer } = setup();
    const a = producer.send('t', [rec('a', 2), rec('b', 0)]);
    const b = producer.send('t', [rec('c', 1)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.fail(0, retriable);
    for (const rs of [await a, await b]) {
      for (const r of rs) {
        expect(r.ok).toBe(false);
        if (r.ok) continue;
        expect(r.errorCode).toBe(50003);
        expect(r.message).toMatch(/NOT_LEADER_OR_FOLLOWER/);
        expect(r.message).toMatch(/the outcome is unknown/);
      }
    }
    expect((await a).map((r) => r.partition)).toEqual([2, 0]);
  });

  it('gives 50002 for a non-retriable Kafka error', async () => {
    const { fake, producer } = setup();
    const a = producer.send('t', [rec('a'), rec('b')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.fail(0, fatal);
    const rs = await a;
    expect(rs.map((r) => (r.ok ? null : r.errorCode))).toEqual([50002, 50002]);
  });

  it('gives 50003 and reports a connectivity failure to the availability tracker', async () => {
    const onConnectivityError = vi.fn();
    const { fake, producer } = setup({ onConnectivityError });
    const a = producer.send('t', [rec('a')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    const err = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), {
      name: 'KafkaJSConnectionError',
    });
    fake.fail(0, err);
    const [r] = await a;
    expect(r).toMatchObject({ ok: false, errorCode: 50003 });
    expect(onConnectivityError).toHaveBeenCalledWith(err);
  });

  it('does not report a protocol refusal as a connectivity failure', async () => {
    const onConnectivityError = vi.fn();
    const { fake, producer } = setup({ onConnectivityError });
    const a = producer.send('t', [rec('a')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.fail(0, fatal);
    await a;
    expect(onConnectivityError).not.toHaveBeenCalled();
  });

  it('goes on with the next batch after a failed one', async () => {
    const { fake, producer } = setup();
    const a = producer.send('t', [rec('a')]);
    await vi.advanceTimersByTimeAsync(LINGER);
    const b = producer.send('t', [rec('b')]);
    fake.fail(0, retriable);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(2);
    fake.ack(1);
    expect((await a)[0]!.ok).toBe(false);
    expect(offsets(await b)).toEqual([[0, 0]]);
  });
});

describe('PRODUCE_TIMEOUT_MS', () => {
  it('answers 50003 "outcome unknown" for records sent but not acknowledged in time', async () => {
    const { fake, producer } = setup();
    const p = track(producer.send('t', [rec('a'), rec('b')]));
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(TIMEOUT - LINGER - 1);
    expect(p.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.done).toBe(true);
    for (const r of p.value!) {
      expect(r).toMatchObject({ ok: false, errorCode: 50003, partition: 0 });
      if (!r.ok) expect(r.message).toMatch(/outcome is unknown/);
    }
    expect(producer.inflightBytes).toBe(0);
  });

  it('drops records still queued at the timeout: they are reported unwritten and never sent later', async () => {
    // Each record fills a batch on its own, so the second and third wait behind the first, which Kafka never answers.
    const size = recordSize(rec('x'.repeat(100)));
    const { fake, producer } = setup({ maxBatchBytes: () => BATCH_OVERHEAD_BYTES + size });
    const p = producer.send('t', [rec('x'.repeat(100)), rec('y'.repeat(100)), rec('z'.repeat(100))]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    const rs = await p;
    expect(rs[0]).toMatchObject({ ok: false, errorCode: 50003 });
    if (!rs[0]!.ok) expect(rs[0]!.message).toMatch(/outcome is unknown/);
    for (const r of rs.slice(1)) {
      expect(r).toMatchObject({ ok: false, errorCode: 50003 });
      if (!r.ok) expect(r.message).toMatch(/not written/);
    }
    // Long after: the slot was released, yet nothing more went to Kafka.
    await vi.advanceTimersByTimeAsync(5 * TIMEOUT);
    expect(fake.calls).toHaveLength(1);
  });

  it('keeps a partition whose batch passed its deadline back until kafkajs answers; other leaders go on', async () => {
    const { fake, producer } = setup({ leaderOf: (_t, p) => p + 1 });
    const stuck = producer.send('t', [rec('a', 0)]);
    await vi.advanceTimersByTimeAsync(LINGER + TIMEOUT);
    expect((await stuck)[0]).toMatchObject({ ok: false, errorCode: 50003 });
    // kafkajs still retries 'a' with its sequence numbers: 'b' must not go out on partition 0 meanwhile.
    const b = producer.send('t', [rec('b', 0)]);
    const c = producer.send('t', [rec('c', 1)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(2);
    expect(fake.messages(1)).toEqual([['t', 1, 'c']]);
    fake.ack(1);
    expect((await c)[0]!.ok).toBe(true);
    fake.ack(0); // kafkajs's retry of 'a' succeeded at last
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls).toHaveLength(3);
    expect(fake.messages(2)).toEqual([['t', 0, 'b']]);
    fake.ack(2);
    expect(offsets(await b)).toEqual([[0, 1]]);
  });

  it('ignores a late answer for records that already timed out', async () => {
    const { fake, producer } = setup();
    const p = producer.send('t', [rec('a')]);
    await vi.advanceTimersByTimeAsync(LINGER + TIMEOUT);
    const rs = await p;
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(rs[0]).toMatchObject({ ok: false, errorCode: 50003 });
    expect(producer.inflightBytes).toBe(0);
  });
});

describe('one pipeline per leader', () => {
  it("a partition waiting for its leader holds up no other leader's partitions", async () => {
    const leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 };
    const { fake, producer } = setup({ leaderOf: (_t, p) => leaders[p] });
    const waiting = track(producer.send('t', [rec('p0', 0)]));
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    // Partition 0's batch is not answered (its leader died); partitions 1 and 2 keep being sent and acknowledged.
    for (let round = 0; round < 3; round++) {
      const r1 = producer.send('t', [rec(`p1-${round}`, 1)]);
      const r2 = producer.send('t', [rec(`p2-${round}`, 2)]);
      await vi.advanceTimersByTimeAsync(LINGER);
      const [i1, i2] = [fake.calls.length - 2, fake.calls.length - 1];
      expect([fake.messages(i1), fake.messages(i2)]).toEqual([[['t', 1, `p1-${round}`]], [['t', 2, `p2-${round}`]]]);
      fake.ack(i1);
      fake.ack(i2);
      expect(offsets(await r1)).toEqual([[1, round]]);
      expect(offsets(await r2)).toEqual([[2, round]]);
    }
    expect(waiting.done).toBe(false);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(offsets(waiting.value!)).toEqual([[0, 0]]);
  });

  it('partitions of one leader share its batch; a partition is never in two batches at once', async () => {
    const leaders: Record<number, number> = { 0: 1, 1: 1 };
    const { fake, producer } = setup({ leaderOf: (_t, p) => leaders[p] });
    void producer.send('t', [rec('a', 0), rec('b', 1)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    expect(fake.messages(0)).toHaveLength(2);
    // Partition 0 moves to leader 2 while its batch is in flight: its next records still wait for that batch.
    leaders[0] = 2;
    void producer.send('t', [rec('c', 0)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls).toHaveLength(2);
    expect(fake.messages(1)).toEqual([['t', 0, 'c']]);
  });

  it('tells when a batch is slow or failed, so the leaders are looked up again', async () => {
    const suspects: string[][] = [];
    const { fake, producer } = setup({ leaderOf: () => 1, onLeadersSuspect: (t) => suspects.push(t) });
    void producer.send('t', [rec('a', 0)]);
    await vi.advanceTimersByTimeAsync(LINGER + 999);
    expect(suspects).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(suspects).toEqual([['t']]);
    fake.ack(0);
  });
});

describe('batch size limits', () => {
  const value = 'v'.repeat(400);
  const size = RECORD_OVERHEAD_BYTES + value.length;

  it('splits one partition’s records over batches at the topic’s max.message.bytes', async () => {
    const limit = BATCH_OVERHEAD_BYTES + 2 * size; // room for exactly two records
    const { fake, producer } = setup({ maxBatchBytes: (t) => (t === 't' ? limit : 1_000_000) });
    const p = producer.send('t', [rec(value), rec(value), rec(value), rec(value), rec(value)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(0)).toHaveLength(2);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(1)).toHaveLength(2);
    fake.ack(1);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(2)).toHaveLength(1);
    fake.ack(2);
    expect(offsets(await p).map((o) => o[1])).toEqual([0, 1, 2, 3, 4]);
  });

  it('counts each partition against the limit separately', async () => {
    const limit = BATCH_OVERHEAD_BYTES + 2 * size;
    const { fake, producer } = setup({ maxBatchBytes: () => limit });
    void producer.send('t', [rec(value, 0), rec(value, 0), rec(value, 1), rec(value, 1)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.calls).toHaveLength(1);
    expect(fake.messages(0)).toHaveLength(4);
  });

  it('sends a record larger than the limit on its own rather than never', async () => {
    const { fake, producer } = setup({ maxBatchBytes: () => 100 });
    const p = producer.send('t', [rec(value)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(0)).toHaveLength(1);
    fake.ack(0);
    expect((await p)[0]!.ok).toBe(true);
  });

  it('splits at maxRequestBytes across partitions', async () => {
    const { fake, producer } = setup({ maxRequestBytes: 3 * size });
    void producer.send('t', [rec(value, 0), rec(value, 1), rec(value, 2), rec(value, 3)]);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(0).map((m) => m[1])).toEqual([0, 1, 2]);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(fake.messages(1).map((m) => m[1])).toEqual([3]);
  });
});

describe('flush and accounting', () => {
  it('resolves flush at once when nothing is pending', async () => {
    const { producer } = setup();
    await expect(producer.flush()).resolves.toBeUndefined();
  });

  it('flush waits until every accepted record is answered', async () => {
    const { fake, producer } = setup();
    void producer.send('t', [rec('a')]);
    void producer.send('u', [rec('b')]);
    const flushed = track(producer.flush());
    await vi.advanceTimersByTimeAsync(LINGER);
    expect(flushed.done).toBe(false);
    fake.ack(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed.done).toBe(true);
  });

  it('flush also ends when the pending records time out', async () => {
    const { producer } = setup();
    void producer.send('t', [rec('a')]);
    const flushed = track(producer.flush());
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
    expect(flushed.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushed.done).toBe(true);
  });

  it('counts in-flight bytes from send until the answer', async () => {
    const { fake, producer } = setup();
    const r1 = rec('hello', 0, 'key');
    const r2: ProduceRecord = {
      key: null,
      value: Buffer.from('x'),
      partition: 0,
      headers: [{ name: 'h', value: Buffer.from('abc') }],
    };
    const p = producer.send('t', [r1, r2]);
    expect(producer.inflightBytes).toBe(recordSize(r1) + recordSize(r2));
    expect(recordSize(r1)).toBe(RECORD_OVERHEAD_BYTES + 3 + 5);
    expect(recordSize(r2)).toBe(RECORD_OVERHEAD_BYTES + 1 + 10 + 1 + 3);
    await vi.advanceTimersByTimeAsync(LINGER);
    fake.ack(0);
    await p;
    expect(producer.inflightBytes).toBe(0);
  });
});
