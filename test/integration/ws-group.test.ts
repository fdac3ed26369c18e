// WebSocket group mode against the real broker: sockets are members of one Kafka consumer group, share a
// 3-partition topic's partitions, and commit only what their clients acknowledged (at-least-once).
import { createRequire } from 'node:module';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { startWsGateway, WsClient, wsUrl, type RecordFrame } from '../helpers/ws.js';
import { eventually, quietPeriod } from '../helpers/wait.js';

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

/** Produces `perPartition` records to each partition; values are `p<partition>-<i>`. */
async function produceEach(topic: string, partitions: number, perPartition: number, tag = ''): Promise<void> {
  const messages = [];
  for (let p = 0; p < partitions; p++)
    for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `${tag}p${p}-${i}` });
  await producer.send({ topic, acks: -1, messages });
}

const pkey = (r: { partition: number; offset: number }) => `${r.partition}@${r.offset}`;
const partitionsOf = (c: WsClient, id: string) =>
  c
    .assignment(id)
    .map((tp) => tp.partition)
    .sort();

async function committed(group: string, topic: string): Promise<Record<number, number>> {
  const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries(res[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
}

describe('group mode', () => {
  it('splits a 3-partition topic between sockets, idles the extra one, moves partitions on close, loses no acknowledged record', async () => {
    const topic = uniqueTopic('wsgroup');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 3);
    const sub = { id: 's', mode: 'group', topics: [topic], group, from: 'earliest', ack: 'manual', format: 'string' };

    // A alone owns all three partitions.
    const a = await client();
    expect((await a.subscribe(sub)).assignment).toHaveLength(3);

    // B joins: the two split the partitions, each partition exactly once.
    const b = await client();
    await b.subscribe(sub);
    await eventuallySettled([a, b], () => partitionsOf(a, 's').length + partitionsOf(b, 's').length === 3);
    expect([...partitionsOf(a, 's'), ...partitionsOf(b, 's')].sort()).toEqual([0, 1, 2]);
    expect(partitionsOf(b, 's').length).toBeGreaterThan(0);
    const revokedFromA = a.frames.find((f) => f.type === 'assignment');
    expect(revokedFromA).toMatchObject({ id: 's', assigned: [] });
    expect(revokedFromA!.revoked.length).toBeGreaterThan(0);

    // 10 records per partition. A acknowledges everything; B only the first 5 of each of its partitions.
    await produceEach(topic, 3, 10);
    // Every acknowledged record (any socket), and what each socket acknowledged already.
    const acked = new Set<string>();
    const ackedBy = new Map<WsClient, Set<string>>();
    const ack = (c: WsClient, r: RecordFrame) => {
      const mine = ackedBy.get(c) ?? new Set<string>();
      ackedBy.set(c, mine);
      if (mine.has(`${pkey(r)}#${c.records('s').indexOf(r)}`)) return;
      mine.add(`${pkey(r)}#${c.records('s').indexOf(r)}`);
      c.ack('s', r);
      acked.add(pkey(r));
    };
    const ackAll = (c: WsClient) => {
      for (const r of c.records('s')) ack(c, r);
    };
    const bHeld: RecordFrame[] = [];
    const bPartial = () => {
      for (const r of b.records('s')) {
        const i = Number(String(r.value).split('-')[1]);
        if (i < 5) ack(b, r);
        else if (!bHeld.some((h) => pkey(h) === pkey(r))) bHeld.push(r);
      }
    };
    const aParts = partitionsOf(a, 's');
    const bParts = partitionsOf(b, 's');
    await a.until(() => a.records('s').length >= aParts.length * 10, 30_000, 'A to get its records');
    await b.until(() => b.records('s').length >= bParts.length * 10, 30_000, 'B to get its records');
    ackAll(a);
    bPartial();
    // Each record went to the owner of its partition, and only there.
    expect(new Set(a.records('s').map((r) => r.partition))).toEqual(new Set(aParts));
    expect(new Set(b.records('s').map((r) => r.partition))).toEqual(new Set(bParts));
    expect(a.records('s')).toHaveLength(aParts.length * 10);
    expect(b.records('s')).toHaveLength(bParts.length * 10);
    expect(bHeld).toHaveLength(bParts.length * 5);
    // In order per partition.
    for (const c of [a, b])
      for (const p of [0, 1, 2]) {
        const offs = c
          .records('s')
          .filter((r) => r.partition === p)
          .map((r) => r.offset);
        expect(offs).toEqual([...offs].sort((x, y) => x - y));
      }

    // The acknowledged offsets reach Kafka: A's partitions at 10, B's at 5.
    const want = Object.fromEntries([...aParts.map((p) => [p, 10]), ...bParts.map((p) => [p, 5])]);
    await expect.poll(() => committed(group, topic), { timeout: 15_000, interval: 100 }).toEqual(want);

    // C and D join: four members, three partitions → exactly one idles with an empty assignment.
    const c = await client();
    const d = await client();
    const [sc, sd] = await Promise.all([c.subscribe(sub), d.subscribe(sub)]);
    const members = [a, b, c, d];
    const settled = () => {
      const parts = members.flatMap((m) => partitionsOf(m, 's'));
      return parts.length === 3 && new Set(parts).size === 3;
    };
    await eventuallySettled(members, settled);
    expect(members.filter((m) => partitionsOf(m, 's').length === 0)).toHaveLength(1);
    const idle = members.find((m) => partitionsOf(m, 's').length === 0)!;
    if (idle === c || idle === d) expect((idle === c ? sc : sd).assignment).toEqual([]);

    // Close B (it never acknowledged its last 5 per partition): its partitions move to the others.
    await b.close();
    const rest = [a, c, d];
    const settled3 = () => {
      const parts = rest.flatMap((m) => partitionsOf(m, 's'));
      return parts.length === 3 && new Set(parts).size === 3;
    };
    await eventuallySettled(rest, settled3);
    expect(rest.every((m) => partitionsOf(m, 's').length === 1)).toBe(true);

    // Everyone left acknowledges all it gets; every record B held unacknowledged is redelivered to someone.
    await eventuallySettled(rest, () => {
      for (const m of rest) ackAll(m);
      return bHeld.every((h) => rest.some((m) => m.records('s').some((r) => pkey(r) === pkey(h))));
    });
    // No acknowledged record was lost: all 30 were acknowledged and the group's commits say so. (Keep
    // acknowledging: a partition that moved again is redelivered to its newest owner from the last commit.)
    await expect
      .poll(
        () => {
          for (const m of rest) ackAll(m);
          return committed(group, topic);
        },
        { timeout: 15_000, interval: 100 },
      )
      .toEqual({ 0: 10, 1: 10, 2: 10 });
    expect(acked.size).toBe(30);
  }, 120_000);

  it('a socket that reconnects to the group resumes after its last acknowledged record', async () => {
    const topic = uniqueTopic('wsgroup-re');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 1);
    await produceEach(topic, 1, 10);
    const sub = { id: 'r', mode: 'group', topics: [topic], group, from: 'earliest', ack: 'manual', format: 'string' };

    const first = await client();
    await first.subscribe(sub);
    await first.until(() => first.records('r').length === 10, 30_000, '10 records');
    // Acknowledge up to offset 6 (cumulative: 0..6), then leave.
    first.ack('r', first.records('r')[6]!);
    await first.close();

    const again = await client();
    await again.subscribe(sub);
    await again.until(() => again.records('r').length >= 3, 30_000, 'the 3 unacknowledged records');
    expect(again.records('r').map((r) => r.offset)).toEqual([7, 8, 9]);
    // Auto-ack from here on: records written to the socket are committed.
    await again.close();
    const auto = await client();
    await auto.subscribe({ ...sub, ack: 'auto' });
    await auto.until(() => auto.records('r').length === 3, 30_000, 'the same 3 again (none was acknowledged)');
    await produceEach(topic, 1, 2, 'new-');
    await auto.until(() => auto.records('r').length === 5, 30_000, '2 new records');
    await expect.poll(() => committed(group, topic), { timeout: 15_000, interval: 100 }).toEqual({ 0: 12 });
    await auto.close();
    const last = await client();
    await last.subscribe(sub);
    await produceEach(topic, 1, 1, 'last-');
    const r = await last.waitFor((f) => f.type === 'record', 30_000);
    expect(r).toMatchObject({ offset: 12, value: 'last-p0-0' });
  }, 90_000);

  it('a full ack window pauses the partitions until acknowledgements make room', async () => {
    const topic = uniqueTopic('wsgroup-win');
    await createTopic(brokers, topic, 1);
    await produceEach(topic, 1, 20);
    const c = await client();
    await c.subscribe({
      id: 'w',
      mode: 'group',
      topics: [topic],
      group: uniqueTopic('g'),
      from: 'earliest',
      ack: 'manual',
      window: 5,
    });
    await c.until(() => c.records('w').length === 5, 30_000, '5 records');
    await expect
      .poll(
        () => gw.ws.stats().sockets.find((s) => s.subscriptions.some((x) => x.id === 'w'))?.subscriptions[0]?.paused,
      )
      .toBe(true);
    // Nothing more while the window is full (15 more records wait in Kafka).
    await quietPeriod(1000, 'no record beyond a full window of 5 unacknowledged ones');
    expect(c.records('w')).toHaveLength(5);
    c.ack('w', c.records('w')[2]!);
    await c.until(() => c.records('w').length === 8, 30_000, '3 more after acking 3');
    c.ack('w', c.records('w')[7]!);
    await c.until(() => c.records('w').length === 13, 30_000, '5 more');
    expect(c.records('w').map((r) => r.offset)).toEqual([...Array(13).keys()]);
  }, 60_000);

  it('a new group from latest (the default) starts after `subscribed`; the URL shortcut joins a group with no message sent', async () => {
    const t1 = uniqueTopic('wsgroup-latest');
    const t2 = uniqueTopic('wsgroup-latest');
    await Promise.all([createTopic(brokers, t1, 2), createTopic(brokers, t2, 1)]);
    await produceEach(t1, 2, 3, 'old-');
    const c = await client();
    const sub = await c.subscribe({
      id: 'l',
      mode: 'group',
      topics: [t1, t2],
      group: uniqueTopic('g'),
      format: 'string',
    });
    expect(sub.assignment).toHaveLength(3);
    expect(sub.assignment).toEqual(
      expect.arrayContaining([
        { topic: t1, partition: 0 },
        { topic: t1, partition: 1 },
        { topic: t2, partition: 0 },
      ]),
    );
    await produceEach(t1, 2, 1, 'new-');
    await producer.send({ topic: t2, acks: -1, messages: [{ value: 'new-t2' }] });
    await c.until(() => c.records('l').length === 3, 30_000, '3 new records');
    expect(
      c
        .records('l')
        .map((r) => r.value)
        .sort(),
    ).toEqual(['new-p0-0', 'new-p1-0', 'new-t2']);

    const group = uniqueTopic('g');
    const s = await WsClient.open(wsUrl(gw, `/ws?topic=${t1}&group=${group}&from=earliest&format=string`));
    open.push(s);
    expect(await s.waitFor((f) => f.type === 'subscribed')).toMatchObject({ id: '0', mode: 'group' });
    await s.until(() => s.records('0').length === 8, 30_000, 'all 8 records of t1');
    await expect.poll(() => committed(group, t1), { timeout: 15_000, interval: 100 }).toEqual({ 0: 4, 1: 4 });
  }, 60_000);

  it('survives a kafkajs-internal crash: the member is replaced and goes on after what the socket already got', async () => {
    // kafkajs's fetch loop is what fails here: a gateway of its own on kafkajs, whatever library the run chose.
    const own = await startWsGateway({ KAFKA_CLIENT: 'kafkajs' });
    onTestFinished(() => own.close());
    const topic = uniqueTopic('wsgroup-crash');
    const group = uniqueTopic('g');
    await createTopic(brokers, topic, 1);
    await produceEach(topic, 1, 5);
    const c = await WsClient.open(wsUrl(own));
    open.push(c);
    await c.subscribe({
      id: 'c',
      mode: 'group',
      topics: [topic],
      group,
      from: 'earliest',
      ack: 'manual',
      format: 'string',
    });
    await c.until(() => c.records('c').length === 5, 30_000, '5 records');
    c.ack('c', c.records('c')[2]!);
    await expect.poll(() => committed(group, topic), { timeout: 15_000, interval: 100 }).toEqual({ 0: 3 });

    // Fault injection: kafkajs's fetch loop throws the TypeError its rebalance races produce (kafkajs#558).
    const Runner = createRequire(import.meta.url)('kafkajs/src/consumer/runner.js') as {
      prototype: Record<string, any>;
    };
    const original = Runner.prototype.fetch;
    let fired = false;
    Runner.prototype.fetch = function (this: { consumerGroup: { groupId: string } }, ...args: unknown[]) {
      if (!fired && this.consumerGroup.groupId === group) {
        fired = true;
        throw new TypeError("Cannot read properties of undefined (reading '0')");
      }
      return original.apply(this, args);
    };
    try {
      await expect.poll(() => fired, { timeout: 10_000, interval: 20 }).toBe(true);
    } finally {
      Runner.prototype.fetch = original;
    }
    await produceEach(topic, 1, 2, 'after-');
    // The replacement member goes on after what this socket already got: 3 and 4 were delivered and are still the
    // client's to acknowledge, so they are not sent to it a second time; then the new ones.
    await c.until(() => c.records('c').some((r) => r.value === 'after-p0-1'), 30_000, 'records after the crash');
    const after = c
      .records('c')
      .slice(5)
      .map((r) => r.offset);
    expect(after).toEqual([5, 6]);
    expect(c.errors()).toEqual([]);
    // Acknowledging still commits through the replaced member.
    c.ack('c', c.records('c').at(-1)!);
    await expect.poll(() => committed(group, topic), { timeout: 15_000, interval: 100 }).toEqual({ 0: 7 });
    expect(own.kafka.consumers.stats().groupSessions).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('refuses a group socket for an unknown topic with an error frame and keeps the socket', async () => {
    const c = await client();
    c.send({ type: 'subscribe', id: 'x', mode: 'group', topics: [uniqueTopic('nope')], group: 'g' });
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ id: 'x', code: 'UNKNOWN_TOPIC' });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
  });
});

/** Waits (polling, since idle members get no frames) until `cond` holds. */
async function eventuallySettled(clients: WsClient[], cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  if (!(await eventually(cond, Boolean, { timeoutMs })))
    throw new Error(`group did not settle: ${clients.map((c) => JSON.stringify(c.assignment('s'))).join(' | ')}`);
}
