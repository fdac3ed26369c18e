// The opt-in batch frame against the real broker: a group subscription with `batch` gets `records` frames (records
// of one partition, in order), acks them by their last offset, and those acks are what the group commits: a plain
// client (no `batch`) joining the group afterwards resumes right after the last acknowledged offset, in `record`
// frames as before.
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { eventually, startWsGateway, WsClient, wsUrl, type Frame } from '../helpers/ws.js';
import { quietPeriod } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let admin: Admin;
let producer: Producer;
const open: WsClient[] = [];

beforeAll(async () => {
  admin = kafkaClient(brokers).admin();
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([admin.connect(), producer.connect()]);
  gw = await startWsGateway();
});
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await gw?.close();
  await Promise.allSettled([admin?.disconnect(), producer?.disconnect()]);
});

async function client(): Promise<WsClient> {
  const c = await WsClient.open(wsUrl(gw));
  open.push(c);
  return c;
}

/** `perPartition` records to each partition, values `p<partition>-<i>`, in sends of 100 (several fetches' worth). */
async function produceEach(topic: string, partitions: number, perPartition: number): Promise<void> {
  for (let from = 0; from < perPartition; from += 100) {
    const messages = [];
    for (let p = 0; p < partitions; p++)
      for (let i = from; i < Math.min(perPartition, from + 100); i++)
        messages.push({ partition: p, value: `p${p}-${i}` });
    await producer.send({ topic, acks: -1, messages });
  }
}

async function committed(group: string, topic: string): Promise<Record<number, number>> {
  const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries(res[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
}

interface Batch extends Frame {
  type: 'records';
  id: string;
  topic: string;
  partition: number;
  records: { offset: number; timestamp: number; key: unknown; value: unknown; headers: unknown[] }[];
}
const batches = (c: WsClient, id: string) => c.frames.filter((f): f is Batch => f.type === 'records' && f.id === id);
const count = (c: WsClient, id: string) => batches(c, id).reduce((n, b) => n + b.records.length, 0);

describe('batched records frames', () => {
  it('deliver every record once, in partition order, acked by last offset; a plain member resumes after the last ack', async () => {
    const topic = uniqueTopic('wsbatch');
    const group = uniqueTopic('g');
    const partitions = 2;
    const perPartition = 600;
    await createTopic(brokers, topic, partitions);
    await produceEach(topic, partitions, perPartition);

    const a = await client();
    const sub = { id: 'b', mode: 'group', topics: [topic], group, from: 'earliest', ack: 'manual', format: 'string' };
    await a.subscribe({ ...sub, window: 400, batch: { maxRecords: 50 } });
    // Ack each frame by its last offset as it comes, but nothing beyond offset 399 of any partition.
    const ackUpTo = 399;
    let acked = 0;
    const ackNew = () => {
      for (const b of batches(a, 'b').slice(acked)) {
        const last = b.records.at(-1)!.offset;
        a.ack('b', { topic, partition: b.partition, offset: Math.min(last, ackUpTo) });
      }
      acked = batches(a, 'b').length;
    };
    // The window (per subscription) holds the 200 unacknowledged records beyond 399 of both partitions: all arrive.
    await a.until(
      () => {
        ackNew();
        return count(a, 'b') === partitions * perPartition;
      },
      60_000,
      'every record in records frames',
    );

    expect(a.records('b')).toHaveLength(0);
    const seen = new Map<number, number[]>();
    for (const b of batches(a, 'b')) {
      expect(b.topic).toBe(topic);
      expect(b.records.length).toBeGreaterThan(0);
      expect(b.records.length).toBeLessThanOrEqual(50);
      const offsets = seen.get(b.partition) ?? seen.set(b.partition, []).get(b.partition)!;
      for (const r of b.records) {
        expect(r.value).toBe(`p${b.partition}-${r.offset}`);
        offsets.push(r.offset);
      }
    }
    // Once each, in order, nothing missing: exactly 0..599 per partition.
    for (let p = 0; p < partitions; p++) expect(seen.get(p)).toEqual(Array.from({ length: perPartition }, (_, i) => i));
    // Fewer frames than records: they were batched (most fetches hold more than 50 records of a partition).
    expect(batches(a, 'b').length).toBeLessThan((partitions * perPartition) / 10);

    // The acks became commits (offset + 1), and nothing beyond them.
    await eventually(
      async () => {
        const v = Object.values(await committed(group, topic));
        return v.length === partitions && v.every((o) => o === ackUpTo + 1);
      },
      30_000,
      'commits at 400',
    );
    await a.close();

    // A plain member of the same group (no batch): `record` frames, from the first unacknowledged offset.
    const b = await client();
    await b.subscribe(sub);
    await b.until(() => b.records('b').length === partitions * (perPartition - ackUpTo - 1), 60_000, 'the rest');
    expect(b.frames.some((f) => f.type === 'records')).toBe(false);
    for (let p = 0; p < partitions; p++)
      expect(
        b
          .records('b')
          .filter((r) => r.partition === p)
          .map((r) => r.offset),
      ).toEqual(Array.from({ length: perPartition - ackUpTo - 1 }, (_, i) => ackUpTo + 1 + i));
  }, 120_000);

  it('a frame never holds more than the window allows; nothing more until an ack of its last offset', async () => {
    const topic = uniqueTopic('wsbatch-window');
    await createTopic(brokers, topic, 1);
    await produceEach(topic, 1, 100);
    const c = await client();
    await c.subscribe({
      id: 'w',
      mode: 'assign',
      partitions: [{ topic, partition: 0 }],
      from: 'earliest',
      ack: 'manual',
      window: 10,
      batch: { maxRecords: 50 },
      format: 'string',
    });
    await c.until(() => count(c, 'w') === 10, 30_000, 'a full window');
    await quietPeriod(1000, 'nothing beyond a full window of 10');
    expect(count(c, 'w')).toBe(10);
    const last = batches(c, 'w').at(-1)!.records.at(-1)!;
    expect(last.offset).toBe(9);
    c.ack('w', { topic, partition: 0, offset: 9 });
    await c.until(() => count(c, 'w') === 20, 30_000, 'the next window after acking the last offset');
    for (const b of batches(c, 'w')) expect(b.records.length).toBeLessThanOrEqual(10);
    expect(batches(c, 'w').flatMap((b) => b.records.map((r) => r.offset))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  }, 60_000);

  it('ack auto: a written records frame commits up to its last offset', async () => {
    const topic = uniqueTopic('wsbatch-auto');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 1);
    await produceEach(topic, 1, 300);
    const c = await client();
    await c.subscribe({
      id: 'a',
      mode: 'group',
      topics: [topic],
      group,
      from: 'earliest',
      format: 'string',
      batch: { maxRecords: 100 },
    });
    await c.until(() => count(c, 'a') === 300, 30_000, 'all 300 records');
    expect(batches(c, 'a').every((b) => b.records.length <= 100)).toBe(true);
    await eventually(async () => (await committed(group, topic))[0] === 300, 30_000, 'commit at 300');
  }, 60_000);
});
