// WebSocket broadcast mode against the real broker: many sockets watch a topic through ONE shared consumer,
// each gets every new record in order per partition, filters work, and a stalled socket is closed with 4408
// without slowing the others.
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { TOO_SLOW_CLOSE_MS } from '../../src/ws/connection.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let producer: Producer;
const open: WsClient[] = [];

beforeAll(async () => {
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  gw = await startWsGateway();
});
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await gw?.close();
  await producer?.disconnect();
});

async function client(g: Gateway, query = ''): Promise<WsClient> {
  const c = await WsClient.open(wsUrl(g, `/ws${query}`));
  open.push(c);
  return c;
}

function inOrderPerPartition(offsets: Array<{ partition: number; offset: number }>): boolean {
  const last = new Map<number, number>();
  for (const r of offsets) {
    if ((last.get(r.partition) ?? -1) >= r.offset) return false;
    last.set(r.partition, r.offset);
  }
  return true;
}

describe('broadcast mode', () => {
  it('200 sockets each receive every new record, in order per partition, through one shared consumer', async () => {
    const topic = uniqueTopic('wsfan');
    await createTopic(brokers, topic, 3);
    // Records from before the sockets joined are not broadcast.
    await producer.send({ topic, acks: -1, messages: [{ value: 'old' }] });
    const sockets = await Promise.all(Array.from({ length: 200 }, () => client(gw, `?topic=${topic}&format=string`)));
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'subscribed')));
    expect(gw.kafka.consumers.stats().broadcastConsumers).toEqual([{ topic, watchers: 200 }]);

    const n = 150;
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({ partition: i % 3, value: `v${i}` })),
    });
    await Promise.all(sockets.map((s) => s.until(() => s.records('0').length >= n, 60_000, `${n} records`)));
    const expected = [...Array(n).keys()].map((i) => `v${i}`).sort();
    for (const s of sockets) {
      const recs = s.records('0');
      expect(recs).toHaveLength(n);
      expect(recs.map((r) => String(r.value)).sort()).toEqual(expected);
      expect(inOrderPerPartition(recs)).toBe(true);
    }

    // The last socket out stops the shared consumer.
    await Promise.all(sockets.map((s) => s.close()));
    await expect.poll(() => gw.kafka.consumers.stats().broadcastConsumers, { timeout: 10_000 }).toEqual([]);
  }, 120_000);

  it('filters by key or key prefix, and reads several topics in one subscription', async () => {
    const t1 = uniqueTopic('wsfilt');
    const t2 = uniqueTopic('wsfilt');
    await Promise.all([createTopic(brokers, t1, 1), createTopic(brokers, t2, 1)]);
    const c = await client(gw);
    const sub = await c.subscribe({ id: 'p', mode: 'broadcast', topics: [t1, t2], filter: { keyPrefix: 'EUR' } });
    expect(sub.assignment).toEqual([
      { topic: t1, partition: 0 },
      { topic: t2, partition: 0 },
    ]);
    await c.subscribe({ id: 'k', mode: 'broadcast', topics: [t1], filter: { key: 'EURUSD' }, format: 'base64' });
    const messages = [
      { key: 'EURUSD', value: '{"bid":1.1}' },
      { key: 'GBPUSD', value: '{"bid":1.3}' },
      { key: null, value: '{"bid":0}' },
      { key: 'EURGBP', value: 'not json' },
    ];
    await producer.send({ topic: t1, acks: -1, messages });
    await producer.send({ topic: t2, acks: -1, messages: [{ key: 'EURCHF', value: '1' }] });
    await c.until(() => c.records('p').length === 3 && c.records('k').length === 1);
    expect(c.records('p').map((r) => [r.topic, r.key, r.value])).toEqual(
      expect.arrayContaining([
        [t1, 'EURUSD', { bid: 1.1 }],
        [t1, 'EURGBP', 'not json'],
        [t2, 'EURCHF', 1],
      ]),
    );
    expect(c.records('k')[0]).toMatchObject({
      key: Buffer.from('EURUSD').toString('base64'),
      value: Buffer.from('{"bid":1.1}').toString('base64'),
    });
    // The two subscriptions on t1 share one consumer.
    expect(gw.kafka.consumers.stats().broadcastConsumers.find((b) => b.topic === t1)).toEqual({
      topic: t1,
      watchers: 2,
    });
  });

  it('a stalled socket is closed with 4408 (queue overflow) and the others get every record', async () => {
    const g = await startWsGateway({ WS_SEND_HIGH_WATER_BYTES: String(64 * 1024), WS_SLOW_CLIENT_MS: '60000' });
    let watch: ReturnType<typeof setInterval> | undefined;
    try {
      const topic = uniqueTopic('wsslow');
      await createTopic(brokers, topic, 1);
      const fine = await Promise.all(Array.from({ length: 5 }, () => client(g, `?topic=${topic}&format=string`)));
      const stalled = await client(g, `?topic=${topic}&format=string`);
      await Promise.all([...fine, stalled].map((s) => s.waitFor((f) => f.type === 'subscribed')));
      stalled.ws.pause();
      const value = 'x'.repeat(32 * 1024);
      const total = 300; // ~10 MB: more than the kernel buffers (~4 MB) plus the gateway's bounds
      // The gateway may close it while the loop below still produces: watch from now on, and take the gateway's own
      // clock of the close (CI once saw the close only after producing, ~5 s late, just before the drop).
      let closedAt: number | undefined;
      watch = setInterval(() => {
        closedAt ??= g.ws.stats().sockets.find((s) => s.closeCode === 4408)?.closedAt ?? undefined;
      }, 20);
      for (let i = 0; i < total; i += 25)
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 25 }, () => ({ value })) });
      // The gateway closes it with 4408 (the client would read the close frame only once it read again)...
      await expect.poll(() => closedAt, { timeout: 30_000, interval: 50 }).toBeTypeOf('number');
      // ...and as its client does not read up to it, drops the connection after TOO_SLOW_CLOSE_MS, freeing what
      // was buffered for it (instead of holding it for ws' 30 s close timeout).
      await expect
        .poll(() => g.ws.stats().sockets.length, { timeout: TOO_SLOW_CLOSE_MS + 10_000, interval: 50 })
        .toBe(fine.length);
      expect(Date.now() - (closedAt as number)).toBeGreaterThanOrEqual(TOO_SLOW_CLOSE_MS - 100);
      await Promise.all(fine.map((s) => s.until(() => s.records('0').length === total, 60_000, 'every record')));
      stalled.ws.resume();
      expect((await stalled.closed).code).toBe(1006); // the connection ended without a close frame read
      expect(stalled.records('0').length).toBeLessThan(total);
      for (const s of fine) expect(s.records('0').map((r) => r.offset)).toEqual([...Array(total).keys()]);
    } finally {
      clearInterval(watch);
      await g.close();
    }
  }, 90_000);

  it(`a socket that stays over its bound for WS_SLOW_CLIENT_MS is closed with 4408 (read by a client that reads again)`, async () => {
    const highWater = 1024 * 1024;
    const g = await startWsGateway({ WS_SEND_HIGH_WATER_BYTES: String(highWater), WS_SLOW_CLIENT_MS: '800' });
    try {
      const topic = uniqueTopic('wsslow2');
      await createTopic(brokers, topic, 1);
      const fine = await client(g, `?topic=${topic}&format=string`);
      const stalled = await client(g, `?topic=${topic}&format=string`);
      await Promise.all([fine, stalled].map((s) => s.waitFor((f) => f.type === 'subscribed')));
      stalled.ws.pause();
      const value = 'y'.repeat(32 * 1024);
      // Fill the pipe in steps of 512 KB until broadcast frames queue up (below the queue bound), then stop.
      let produced = 0;
      const queued = () => g.ws.stats().sockets.some((s) => s.queuedBytes > 0);
      while (!queued() && produced < 2000) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 16 }, () => ({ value })) });
        produced += 16;
        await fine.until(() => fine.records('0').length === produced, 30_000, 'the fine socket to keep up');
      }
      expect(queued()).toBe(true);
      // Nothing more is produced: only the timer can close it now.
      const started = Date.now();
      await expect
        .poll(() => g.ws.stats().sockets.filter((s) => s.closeCode === 4408).length, { timeout: 10_000, interval: 20 })
        .toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
      stalled.ws.resume();
      expect((await stalled.closed).code).toBe(4408);
      expect(fine.ws.readyState).toBe(fine.ws.OPEN);
    } finally {
      await g.close();
    }
  }, 90_000);

  it('a client pause drops records until resume; a broadcast subscription can be unsubscribed', async () => {
    const topic = uniqueTopic('wspause');
    await createTopic(brokers, topic, 1);
    const c = await client(gw);
    // A second socket on the same topic never pauses: it shows when the shared consumer has passed a record.
    const watcher = await client(gw);
    await c.subscribe({ id: 'b', mode: 'broadcast', topics: [topic], format: 'string' });
    await watcher.subscribe({ id: 'w', mode: 'broadcast', topics: [topic], format: 'string' });
    await producer.send({ topic, acks: -1, messages: [{ value: 'one' }] });
    await c.until(() => c.records('b').length === 1);
    c.send({ type: 'pause', id: 'b' });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    await expect
      .poll(
        () => gw.ws.stats().sockets.find((s) => s.subscriptions.some((x) => x.id === 'b' && x.paused)) !== undefined,
      )
      .toBe(true);
    await producer.send({ topic, acks: -1, messages: [{ value: 'skipped' }] });
    // The shared consumer delivered it (to the watcher) while 'b' was paused: 'b' dropped it.
    await watcher.until(() => watcher.records('w').length === 2, 30_000, 'the skipped record at the watcher');
    c.send({ type: 'resume', id: 'b' });
    c.send({ type: 'ping' });
    await c.until(() => c.frames.filter((f) => f.type === 'pong').length === 2);
    await producer.send({ topic, acks: -1, messages: [{ value: 'three' }] });
    await c.until(() => c.records('b').length === 2);
    expect(c.records('b').map((r) => r.value)).toEqual(['one', 'three']);
    await watcher.until(() => watcher.records('w').length === 3, 30_000, 'three records at the watcher');
    expect(watcher.records('w').map((r) => r.value)).toEqual(['one', 'skipped', 'three']);
    await watcher.close();
    c.send({ type: 'unsubscribe', id: 'b' });
    await expect.poll(() => gw.kafka.consumers.stats().broadcastConsumers.some((b) => b.topic === topic)).toBe(false);
  });
});
