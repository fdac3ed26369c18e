// Group mode across gateway processes (a second gateway spawned as `tsx src/main.ts`), and graceful shutdown:
// acknowledged offsets committed, sockets closed with 1001, groups left.
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { type Replica, spawnReplica } from '../helpers/replicas.js';
import { FAST_CONSUMERS, startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
let admin: Admin;
let producer: Producer;
const open: WsClient[] = [];

beforeAll(async () => {
  admin = kafkaClient(brokers).admin();
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([admin.connect(), producer.connect()]);
});
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await Promise.allSettled([admin?.disconnect(), producer?.disconnect()]);
});

async function client(base: Gateway | string, query = ''): Promise<WsClient> {
  const c = await WsClient.open(wsUrl(base, `/ws${query}`));
  open.push(c);
  return c;
}

const partitionsOf = (c: WsClient, id: string) => c.assignment(id).map((tp) => tp.partition);

describe('group mode across gateway processes', () => {
  let gw: Gateway;
  let second: Replica | undefined;
  beforeAll(async () => {
    // The second gateway is its own process (what `npx tsx src/main.ts` runs), ready once it reached Kafka.
    [gw, second] = await Promise.all([
      startWsGateway(),
      spawnReplica({ ...FAST_CONSUMERS, KAFKA_BROKERS: brokers, AUTH_MODE: 'none' }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await gw?.close();
    await second?.stop();
  });

  it('sockets on two gateways in one group share the partitions; each record goes to exactly one', async () => {
    const topic = uniqueTopic('wsrep');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 3);
    const sub = { id: 's', mode: 'group', topics: [topic], group, from: 'earliest', format: 'string' };
    const x = await client(gw);
    await x.subscribe(sub);
    const y = await client(second!.url);
    await y.subscribe(sub);
    await expect
      .poll(() => [...partitionsOf(x, 's'), ...partitionsOf(y, 's')].sort(), { timeout: 30_000, interval: 50 })
      .toEqual([0, 1, 2]);
    expect(partitionsOf(x, 's').length).toBeGreaterThan(0);
    expect(partitionsOf(y, 's').length).toBeGreaterThan(0);

    const messages = [];
    for (let p = 0; p < 3; p++) for (let i = 0; i < 10; i++) messages.push({ partition: p, value: `p${p}-${i}` });
    await producer.send({ topic, acks: -1, messages });
    await expect.poll(() => x.records('s').length + y.records('s').length, { timeout: 30_000, interval: 50 }).toBe(30);
    const all = [...x.records('s'), ...y.records('s')].map((r) => `${r.partition}@${r.offset}`).sort();
    expect(new Set(all).size).toBe(30);
    expect(new Set(x.records('s').map((r) => r.partition))).toEqual(new Set(partitionsOf(x, 's')));
    expect(new Set(y.records('s').map((r) => r.partition))).toEqual(new Set(partitionsOf(y, 's')));
  }, 90_000);
});

describe('graceful shutdown', () => {
  let gw: Gateway | undefined;
  afterAll(() => gw?.close());

  it('commits acknowledged offsets, closes sockets with 1001 and leaves the group', async () => {
    gw = await startWsGateway();
    const topic = uniqueTopic('wsdown');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 1);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });
    const c = await client(gw);
    await c.subscribe({ id: 's', mode: 'group', topics: [topic], group, from: 'earliest', ack: 'manual' });
    const watcher = await client(gw, `?topic=${topic}`);
    await watcher.waitFor((f) => f.type === 'subscribed');
    await c.until(() => c.records('s').length === 10, 30_000, '10 records');
    c.ack('s', c.records('s')[4]!);
    // Let the ack reach the gateway (a ping round-trip after it), then shut down.
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    await gw.close();
    expect((await c.closed).code).toBe(1001);
    expect((await watcher.closed).code).toBe(1001);
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(Number(offsets[0]!.partitions[0]!.offset)).toBe(5);
    const described = await admin.describeGroups([group]);
    expect(described.groups[0]!.members).toEqual([]);
    expect(gw.kafka.consumers.stats()).toEqual({ groupSessions: 0, assignSessions: 0, broadcastConsumers: [] });
  }, 60_000);
});
