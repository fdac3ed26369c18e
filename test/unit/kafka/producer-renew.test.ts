// BatchingProducer with renewProducer (idempotence): after a batch failed or passed PRODUCE_TIMEOUT_MS, the next
// batch goes out on a new producer (new producer id), never on the old one whose sequence numbers kafkajs rolled
// back. Why: test/integration/failover.test.ts lost acknowledged records without it (the broker took the next
// batch for a retry of an unacknowledged but written one, answered its offsets and dropped the new records).
import type { Producer as KafkaJsProducer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { BatchingProducer, type BatchingProducerOptions } from '../../../src/kafka/producer.js';
import type { ProduceRecord } from '../../../src/kafka/types.js';

interface Call {
  batch: ProducerBatch;
  resolve: (m: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

/** A fake kafkajs producer whose sendBatch calls the test answers by hand. */
function fakeProducer(name: string) {
  const calls: Call[] = [];
  const producer = {
    name,
    sendBatch: (batch: ProducerBatch) =>
      new Promise<RecordMetadata[]>((resolve, reject) => calls.push({ batch, resolve, reject })),
  } as unknown as KafkaJsProducer;
  const ack = (i: number, base = 0) => {
    const tm = calls[i]!.batch.topicMessages![0]!;
    calls[i]!.resolve([
      {
        topicName: tm.topic,
        partition: 0,
        errorCode: 0,
        baseOffset: String(base),
        logAppendTime: '-1',
        logStartOffset: '0',
      },
    ]);
  };
  return { producer, calls, ack };
}

const rec = (v: string): ProduceRecord => ({ key: null, value: Buffer.from(v), partition: 0 });
const connectionError = Object.assign(new Error('Connection error: read ECONNRESET'), {
  name: 'KafkaJSConnectionError',
  retriable: true,
});

function make(first: KafkaJsProducer, renewProducer: BatchingProducerOptions['renewProducer']) {
  return new BatchingProducer(first, {
    lingerMs: 0,
    timeoutMs: 1000,
    acks: -1,
    compression: 'none',
    maxBatchBytes: () => 1_000_000,
    ...(renewProducer ? { renewProducer } : {}),
  });
}

/** Producer `a` in use; a renewal hands out producer `b` and keeps what it was told about `a`'s last calls. */
function renewingToB() {
  const a = fakeProducer('a');
  const b = fakeProducer('b');
  let settled: Promise<void> | undefined;
  const renew = vi.fn(async (previousSettled: Promise<void>) => {
    settled = previousSettled;
    return b.producer;
  });
  return { a, b, renew, p: make(a.producer, renew), settled: () => settled };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('a failed batch: the next batch goes out on a new producer, told when the old one has no call left', async () => {
  const { a, b, renew, p, settled } = renewingToB();

  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(0);
  a.calls[0]!.reject(connectionError);
  expect((await r1)[0]).toMatchObject({ ok: false, errorCode: 50003 });

  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(0);
  expect(renew).toHaveBeenCalledTimes(1);
  await expect(settled()).resolves.toBeUndefined();
  expect(a.calls).toHaveLength(1);
  expect(b.calls).toHaveLength(1);
  b.ack(0, 7);
  expect((await r2)[0]).toMatchObject({ ok: true, offset: 7 });

  // Healthy again: no more renewals.
  const r3 = p.send('t', [rec('3')]);
  await vi.advanceTimersByTimeAsync(0);
  b.ack(1, 8);
  await r3;
  expect(renew).toHaveBeenCalledTimes(1);
});

it('a batch past its deadline: 50003, its partition waits for kafkajs; a late success needs no new producer', async () => {
  const { a, renew, p } = renewingToB();
  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(1000);
  expect((await r1)[0]).toMatchObject({ ok: false, errorCode: 50003 });
  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(10);
  // kafkajs is still retrying '1' with its sequence numbers: '2' is not sent meanwhile, on any producer.
  expect(a.calls).toHaveLength(1);
  a.ack(0); // its retry went through (or the broker already held it): sequence numbers agree again
  await vi.advanceTimersByTimeAsync(1);
  expect(renew).not.toHaveBeenCalled();
  expect(a.calls).toHaveLength(2);
  a.ack(1, 1);
  expect((await r2)[0]).toMatchObject({ ok: true, offset: 1 });
});

it('a batch past its deadline that kafkajs finally gives up on: the next batch goes out on a new producer', async () => {
  const { a, b, renew, p, settled } = renewingToB();
  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(1000);
  expect((await r1)[0]).toMatchObject({ ok: false, errorCode: 50003 });
  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(0);
  a.calls[0]!.reject(connectionError); // kafkajs gave up at last
  await vi.advanceTimersByTimeAsync(1);
  expect(renew).toHaveBeenCalledTimes(1);
  let done = false;
  void settled()!.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  expect(done).toBe(true);
  expect(a.calls).toHaveLength(1);
  expect(b.calls).toHaveLength(1);
  b.ack(0);
  expect((await r2)[0]).toMatchObject({ ok: true });
});

it('renewal fails while the cluster is unreachable: records wait (answered by their deadline), it is retried', async () => {
  const a = fakeProducer('a');
  const b = fakeProducer('b');
  const renew = vi.fn().mockRejectedValueOnce(new Error('Connection error')).mockResolvedValue(b.producer);
  const p = make(a.producer, renew);

  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(0);
  a.calls[0]!.reject(connectionError);
  await r1;
  // The renewal starts at once (not when the next request comes) and fails: the cluster is unreachable.
  await vi.advanceTimersByTimeAsync(0);
  expect(renew).toHaveBeenCalledTimes(1);

  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(0);
  expect(renew).toHaveBeenCalledTimes(2);
  expect(b.calls).toHaveLength(1);
  expect(a.calls).toHaveLength(1);
  b.ack(0);
  expect((await r2)[0]).toMatchObject({ ok: true });
});

it('records that expired while waiting for a renewal are not sent, and no renewal loops without records', async () => {
  const a = fakeProducer('a');
  const renew = vi.fn().mockRejectedValue(new Error('Connection error'));
  const p = make(a.producer, renew);

  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(0);
  a.calls[0]!.reject(connectionError);
  await r1;
  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(1000);
  expect((await r2)[0]).toMatchObject({ ok: false, errorCode: 50003, message: expect.stringMatching(/not written/) });
  const calls = renew.mock.calls.length;
  await vi.advanceTimersByTimeAsync(5000);
  expect(renew.mock.calls.length).toBe(calls);
  expect(a.calls).toHaveLength(1);
});

it('without renewProducer (idempotence off) the same producer keeps sending', async () => {
  const a = fakeProducer('a');
  const p = make(a.producer, undefined);
  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(0);
  a.calls[0]!.reject(connectionError);
  await r1;
  const r2 = p.send('t', [rec('2')]);
  await vi.advanceTimersByTimeAsync(0);
  expect(a.calls).toHaveLength(2);
  a.ack(1);
  expect((await r2)[0]).toMatchObject({ ok: true });
});

it("a partition missing from kafkajs's answer is never acknowledged: 50003, and the producer is renewed", async () => {
  const a = fakeProducer('a');
  const b = fakeProducer('b');
  const renew = vi.fn(async () => b.producer);
  const p = make(a.producer, renew);

  const r1 = p.send('t', [rec('1'), { key: null, value: Buffer.from('2'), partition: 1 }]);
  await vi.advanceTimersByTimeAsync(0);
  // kafkajs resolved with partition 0 only (a retry skipped partition 1 whose new leader had already answered).
  a.calls[0]!.resolve([
    { topicName: 't', partition: 0, errorCode: 0, baseOffset: '5', logAppendTime: '-1', logStartOffset: '0' },
  ]);
  const [first, second] = await r1;
  expect(first).toMatchObject({ ok: true, offset: 5 });
  expect(second).toMatchObject({
    ok: false,
    errorCode: 50003,
    partition: 1,
    message: expect.stringMatching(/outcome is unknown/),
  });

  const r2 = p.send('t', [rec('3')]);
  await vi.advanceTimersByTimeAsync(0);
  expect(renew).toHaveBeenCalledTimes(1);
  expect(b.calls).toHaveLength(1);
  b.ack(0, 6);
  expect((await r2)[0]).toMatchObject({ ok: true, offset: 6 });
});

it('a call kafkajs never answers is given up 10 s after the deadline: the partition goes on, on a new producer', async () => {
  const { a, b, renew, p } = renewingToB();
  const r1 = p.send('t', [rec('1')]);
  await vi.advanceTimersByTimeAsync(1000);
  expect((await r1)[0]).toMatchObject({ ok: false, errorCode: 50003 });
  const r2 = track(p.send('t', [rec('2')]));
  await vi.advanceTimersByTimeAsync(5000);
  expect(a.calls).toHaveLength(1); // still held back behind '1'
  expect(b.calls).toHaveLength(0);
  expect(r2.done).toBe(true); // '2' expired unsent meanwhile
  expect(renew).not.toHaveBeenCalled();
  await vi.advanceTimersByTimeAsync(5000); // 10 s past '1''s deadline
  expect(renew).toHaveBeenCalledTimes(1);
  const r3 = p.send('t', [rec('3')]);
  await vi.advanceTimersByTimeAsync(0);
  expect(a.calls).toHaveLength(1);
  expect(b.calls).toHaveLength(1);
  b.ack(0);
  expect((await r3)[0]).toMatchObject({ ok: true });
});

function track<T>(promise: Promise<T>) {
  const t = { done: false };
  void promise.then(() => (t.done = true));
  return t;
}
