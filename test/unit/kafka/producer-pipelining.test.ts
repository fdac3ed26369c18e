// BatchingProducer keeps Kafka busy: records queued while a batch is in flight go out as soon as it is answered,
// without waiting another linger (each linger after an answer would leave the broker idle; at a few ms round trip
// that was a large share of P1's throughput). Also: the onBatch hook reports every batch's record count.
import type { Producer as KafkaJsProducer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { BatchingProducer } from '../../../src/kafka/producer.js';
import type { ProduceRecord } from '../../../src/kafka/types.js';

const LINGER = 50;

function setup() {
  const calls: { batch: ProducerBatch; resolve: (m: RecordMetadata[]) => void }[] = [];
  const batches: number[] = [];
  const kafka = {
    sendBatch: (batch: ProducerBatch) => new Promise<RecordMetadata[]>((resolve) => calls.push({ batch, resolve })),
  } as unknown as KafkaJsProducer;
  const producer = new BatchingProducer(kafka, {
    lingerMs: LINGER,
    timeoutMs: 10_000,
    acks: -1,
    compression: 'none',
    maxBatchBytes: () => 1_048_588,
    onBatch: (n) => batches.push(n),
  });
  const ack = (i: number) =>
    calls[i]!.resolve([
      { topicName: 't', partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' },
    ]);
  return { calls, batches, producer, ack };
}

const rec = (v: string): ProduceRecord => ({ key: null, value: Buffer.from(v), partition: 0 });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('sends what queued during the in-flight batch right after the answer, not a linger later', async () => {
  const { calls, batches, producer, ack } = setup();
  void producer.send('t', [rec('a')]);
  await vi.advanceTimersByTimeAsync(LINGER);
  expect(calls).toHaveLength(1);
  void producer.send('t', [rec('b'), rec('c')]);
  void producer.send('t', [rec('d')]);
  ack(0);
  await vi.advanceTimersByTimeAsync(1); // far less than the linger
  expect(calls).toHaveLength(2);
  expect(calls[1]!.batch.topicMessages![0]!.messages).toHaveLength(3);
  expect(batches).toEqual([1, 3]);
});

it('still lingers for a request that arrives when nothing is in flight', async () => {
  const { calls, producer } = setup();
  void producer.send('t', [rec('a')]);
  await vi.advanceTimersByTimeAsync(LINGER - 1);
  expect(calls).toHaveLength(0);
  await vi.advanceTimersByTimeAsync(1);
  expect(calls).toHaveLength(1);
});
