// WebSocket assign mode against the real broker: explicit partitions from earliest / latest / an offset / a
// time deliver exactly the expected records; and the flow-control bound with a client that never reads.
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';
import { quietPeriod } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let producer: Producer;
const open: WsClient[] = [];
/** The current test's topic (each test seeds its own, so markers of one never show up in another). */
let topic: string;
/** Record i of partition 0 has timestamp T0 + i * 1000 and value `p0-i`; partition 1 has 5 records. */
const T0 = Date.now() - 3_600_000;

beforeAll(async () => {
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  gw = await startWsGateway();
});
beforeEach(async () => {
  topic = uniqueTopic('wsassign');
  await createTopic(brokers, topic, 2);
  await producer.send({
    topic,
    acks: -1,
    messages: [
      ...Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `p0-${i}`, timestamp: String(T0 + i * 1000) })),
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 1, value: `p1-${i}`, timestamp: String(T0 + i * 1000) })),
    ],
  });
});
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await gw?.close();
  await producer?.disconnect();
});

async function client(g: Gateway = gw, query = ''): Promise<WsClient> {
  const c = await WsClient.open(wsUrl(g, `/ws${query}`));
  open.push(c);
  return c;
}

/**
 * After the expected records, one more record is produced to each partition read: it must be the very next
 * record the socket gets (nothing missing, nothing extra before it). Returns the values before the markers.
 */
async function exactly(c: WsClient, id: string, expected: number, partitions: number[]): Promise<string[]> {
  await c.until(() => c.records(id).length >= expected, 30_000, `${expected} records`);
  const tag = uniqueTopic('marker');
  await producer.send({ topic, acks: -1, messages: partitions.map((p) => ({ partition: p, value: `${tag}-${p}` })) });
  await c.until(() => c.records(id).length >= expected + partitions.length, 30_000, 'the markers');
  const values = c.records(id).map((r) => String(r.value));
  expect(values.slice(expected).sort()).toEqual(partitions.map((p) => `${tag}-${p}`).sort());
  return values.slice(0, expected);
}

describe('assign mode', () => {
  it('from an offset: that record and the ones after it', async () => {
    const c = await client();
    const sub = await c.subscribe({
      id: 'a',
      mode: 'assign',
      partitions: [{ topic, partition: 0 }],
      from: { offset: 4 },
      format: 'string',
    });
    expect(sub).toMatchObject({
      mode: 'assign',
      assignment: [{ topic, partition: 0 }],
      positions: [{ topic, partition: 0, offset: 4 }],
    });
    expect(await exactly(c, 'a', 6, [0])).toEqual(['p0-4', 'p0-5', 'p0-6', 'p0-7', 'p0-8', 'p0-9']);
    expect(
      c
        .records('a')
        .slice(0, 6)
        .map((r) => r.offset),
    ).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('from a time: the first record at or after it, per partition', async () => {
    const c = await client();
    await c.subscribe({
      id: 't',
      mode: 'assign',
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
      from: { timestamp: T0 + 2500 },
      format: 'string',
    });
    const values = await exactly(c, 't', 7 + 2, [0, 1]);
    expect(values.filter((v) => v.startsWith('p0-'))).toEqual(['p0-3', 'p0-4', 'p0-5', 'p0-6', 'p0-7', 'p0-8', 'p0-9']);
    expect(values.filter((v) => v.startsWith('p1-'))).toEqual(['p1-3', 'p1-4']);
    expect(c.records('t')[0]!.timestamp).toBe(T0 + 3000);
  });

  it('from earliest: everything, in order per partition', async () => {
    const c = await client();
    await c.subscribe({
      id: 'e',
      mode: 'assign',
      partitions: [{ topic, partition: 1 }],
      from: 'earliest',
      format: 'string',
    });
    expect(await exactly(c, 'e', 5, [1])).toEqual(['p1-0', 'p1-1', 'p1-2', 'p1-3', 'p1-4']);
  });

  it('from latest (the default): only records produced after `subscribed`', async () => {
    const c = await client();
    const sub = await c.subscribe({ id: 'l', mode: 'assign', partitions: [{ topic, partition: 1 }], format: 'string' });
    const start = sub.positions[0].offset;
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { partition: 1, value: 'after-1' },
        { partition: 1, value: 'after-2' },
      ],
    });
    expect(await exactly(c, 'l', 2, [1])).toEqual(['after-1', 'after-2']);
    expect(c.records('l')[0]!.offset).toBe(start);
  });

  it('the URL shortcut with partition and @time starts reading with no message sent', async () => {
    const c = await client(gw, `?topic=${topic}&partition=0&from=@${new Date(T0 + 8000).toISOString()}&format=string`);
    expect(await c.waitFor((f) => f.type === 'subscribed')).toMatchObject({ id: '0', mode: 'assign' });
    await c.until(() => c.records('0').length >= 2);
    expect(
      c
        .records('0')
        .slice(0, 2)
        .map((r) => r.value),
    ).toEqual(['p0-8', 'p0-9']);
  });

  it('an offset past the end waits for new records; an unknown partition is an error frame', async () => {
    const c = await client();
    const sub = await c.subscribe({
      id: 'x',
      mode: 'assign',
      partitions: [{ topic, partition: 1 }],
      from: { offset: 1_000_000 },
    });
    expect(sub.positions[0].offset).toBeLessThan(1_000_000);
    c.send({ type: 'subscribe', id: 'bad', mode: 'assign', partitions: [{ topic, partition: 7 }] });
    expect(await c.waitFor((f) => f.type === 'error' && f.id === 'bad')).toMatchObject({ code: 'UNKNOWN_PARTITION' });
  });
});

describe('flow control', () => {
  it('a client that never reads: the gateway stops pulling for it and its send buffer stays under the bound', async () => {
    const highWater = 16 * 1024;
    const g = await startWsGateway({ WS_SEND_HIGH_WATER_BYTES: String(highWater) });
    try {
      const t = uniqueTopic('wsflow');
      await createTopic(brokers, t, 1);
      const value = 'x'.repeat(32 * 1024);
      const total = 400; // ~13 MB: several times what the kernel socket buffers on both ends hold (~4 MB here)
      // Batches under the broker's 1 MB message limit.
      for (let i = 0; i < total; i += 25)
        await producer.send({ topic: t, acks: -1, messages: Array.from({ length: 25 }, () => ({ value })) });
      const c = await client(g);
      await c.subscribe({
        id: 'f',
        mode: 'assign',
        partitions: [{ topic: t, partition: 0 }],
        from: 'earliest',
        format: 'string',
      });
      c.ws.pause(); // stop reading: TCP backs up into the gateway's send buffer
      const stats = () => g.ws.stats().sockets[0]!;
      await expect.poll(() => stats().subscriptions[0]?.paused, { timeout: 30_000, interval: 50 }).toBe(true);
      // The gateway stopped pulling: the delivered count stays put while the client does not read.
      const before = stats().subscriptions[0]!.delivered;
      await quietPeriod(1500, 'a paused subscription delivers nothing more while its client does not read');
      const after = stats();
      expect(after.subscriptions[0]!.delivered).toBe(before);
      expect(after.subscriptions[0]!.paused).toBe(true);
      expect(before).toBeLessThan(total);
      // The bound itself: never more than high water + one frame queued in the gateway for this socket.
      const frameBytes = value.length + 512;
      expect(after.maxBufferedAmount).toBeLessThanOrEqual(highWater + frameBytes);
      expect(after.bufferedAmount).toBeLessThanOrEqual(highWater + frameBytes);
      expect(after.maxBufferedAmount).toBeGreaterThan(highWater);

      // Reading again drains the buffer, the partition resumes, and every record arrives in order.
      c.ws.resume();
      await c.until(() => c.records('f').length === total, 60_000, 'all records after resume');
      const offsets = c.records('f').map((r) => r.offset);
      expect(offsets).toEqual([...Array(total).keys()]);
    } finally {
      await g.close();
    }
  }, 120_000);
});
