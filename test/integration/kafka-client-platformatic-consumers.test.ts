// KAFKA_CLIENT=platformatic on the consumer side, against the real broker. The shared WebSocket, SSE, HTTP consumer,
// metadata and admin files run on it too (KGW_TEST_KAFKA_CLIENT=platformatic, docs/performance.md "The Kafka
// client"); this file checks what only this client has to prove: that every part says it runs on
// @platformatic/kafka, that its group members share one group with kafkajs members (a rolling change of
// KAFKA_CLIENT across replicas: same protocol name and wire format), each partition read by exactly one of them, and
// that a group socket rides out a restart of the only broker (own cluster: clusterLock; KAFKA_CLUSTER_TESTS=0 skips).
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TopicPartition, TopicPartitionOffset } from '../../src/kafka/consumer-types.js';
import { PlatformaticGroupSession } from '../../src/kafka/platformatic-group-session.js';
import type { Gateway } from '../../src/server.js';
import { createTopicReady, ready, startTestGateway } from '../helpers/gateway.js';
import { createTopic, kafkaClient, startKafka, uniqueTopic } from '../helpers/kafka.js';
import { clusterLock } from '../helpers/produce-history.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { FAST_CONSUMERS, WsClient, wsUrl } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let logs: CapturedLog;
let producer: Producer;
let kafkajsMember: Consumer | undefined;
const sockets: WsClient[] = [];

beforeAll(async () => {
  logs = captureLog('info');
  gw = await startTestGateway(
    { ...FAST_CONSUMERS, KAFKA_CLIENT: 'platformatic' },
    { waitReady: false, options: { logger: logs.logger } },
  );
  await ready(gw);
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
});
afterAll(async () => {
  await Promise.allSettled(sockets.map((s) => s.close()));
  await kafkajsMember?.disconnect();
  await producer?.disconnect();
  await gw?.close();
});

describe('KAFKA_CLIENT=platformatic consumers', () => {
  it('says at start-up that every part runs on @platformatic/kafka', () => {
    const line = logs.lines.find((l) => l.msg === 'kafka client libraries');
    expect(line).toMatchObject({
      producer: '@platformatic/kafka',
      groupConsumers: '@platformatic/kafka',
      assignAndBroadcastReaders: '@platformatic/kafka',
      metadataAndAdmin: '@platformatic/kafka',
    });
  });

  it('a seek made while a new assignment is positioned is not overwritten by the positions read', async () => {
    const topic = uniqueTopic('plt-seek');
    await createTopicReady(brokers, topic, 1);
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    // The seek lands after the read of the start positions began and before they are used: as an HTTP consumer's
    // `positions` call can during a rebalance. The read is wrapped so the seek comes exactly then.
    const proto = PlatformaticGroupSession.prototype as unknown as {
      position(next: TopicPartition[]): Promise<TopicPartitionOffset[]>;
    };
    const read = proto.position;
    proto.position = async function (this: PlatformaticGroupSession, next) {
      const positions = await read.call(this, next);
      this.seek({ topic, partition: 0, offset: 6 });
      return positions;
    };
    const offsets: number[] = [];
    try {
      const session = await gw.kafka.consumers.group(
        { group: uniqueTopic('g'), topics: [topic], from: 'earliest' },
        { onRecord: (r) => offsets.push(r.offset) > 0 },
      );
      try {
        await expect.poll(() => offsets.includes(9), { timeout: 20_000 }).toBe(true);
        expect(offsets).toEqual([6, 7, 8, 9]);
      } finally {
        await session.close();
      }
    } finally {
      proto.position = read;
    }
  });

  it('shares one consumer group with a kafkajs member: the partitions are split, each record read once', async () => {
    const topic = uniqueTopic('plt-mixed');
    const group = uniqueTopic('g');
    await createTopicReady(brokers, topic, 4);

    // The kafkajs member joins first and owns all four partitions.
    const seenByKafkajs: string[] = [];
    const member = kafkaClient(brokers).consumer({
      groupId: group,
      sessionTimeout: Number(FAST_CONSUMERS.KAFKA_CONSUMER_SESSION_TIMEOUT_MS),
      heartbeatInterval: Number(FAST_CONSUMERS.KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS),
      maxWaitTimeInMs: 100,
    });
    kafkajsMember = member;
    let kafkajsPartitions: number[] = [];
    member.on(member.events.GROUP_JOIN, (e) => {
      kafkajsPartitions = [...(e.payload.memberAssignment[topic] ?? [])].sort();
    });
    await member.connect();
    await member.subscribe({ topics: [topic], fromBeginning: true });
    await member.run({
      eachMessage: async ({ partition, message }) => {
        seenByKafkajs.push(`${partition}:${message.value?.toString()}`);
      },
    });
    await expect.poll(() => kafkajsPartitions.length, { timeout: 30_000 }).toBe(4);

    // A socket of the gateway on @platformatic/kafka joins the same group: the two split the partitions.
    const ws = await WsClient.open(wsUrl(gw));
    sockets.push(ws);
    await ws.subscribe({ id: 's', mode: 'group', topics: [topic], group, from: 'earliest', format: 'string' });
    await expect
      .poll(() => ws.assignment('s').length + kafkajsPartitions.length, { timeout: 30_000, interval: 50 })
      .toBe(4);
    const gatewayPartitions = ws
      .assignment('s')
      .map((tp: { partition: number }) => tp.partition)
      .sort();
    expect(gatewayPartitions.length).toBeGreaterThan(0);
    expect(kafkajsPartitions.length).toBeGreaterThan(0);
    expect([...gatewayPartitions, ...kafkajsPartitions].sort()).toEqual([0, 1, 2, 3]);

    // Records on every partition reach the member that owns it, and only that one.
    const messages = [];
    for (let p = 0; p < 4; p++) for (let i = 0; i < 5; i++) messages.push({ partition: p, value: `p${p}-${i}` });
    await producer.send({ topic, acks: -1, messages });
    const byGateway = () => ws.records('s').map((r) => `${r.partition}:${r.value}`);
    await expect.poll(() => byGateway().length + seenByKafkajs.length, { timeout: 30_000, interval: 50 }).toBe(20);
    for (const k of byGateway()) expect(gatewayPartitions).toContain(Number(k.split(':')[0]));
    for (const k of seenByKafkajs) expect(kafkajsPartitions).toContain(Number(k.split(':')[0]));
    expect(new Set([...byGateway(), ...seenByKafkajs]).size).toBe(20);
  }, 90_000);
});

describe.skipIf(process.env.KAFKA_CLUSTER_TESTS === '0')('KAFKA_CLIENT=platformatic, the only broker restarted', () => {
  it('a group socket gets the records produced before and after the restart, with no error frame', async () => {
    const release = await clusterLock();
    const kafka = await startKafka({ nodes: 1, log: () => {} }).catch((e) => {
      release();
      throw e;
    });
    let own: Gateway | undefined;
    let ws: WsClient | undefined;
    let p: Producer | undefined;
    try {
      const brokers = kafka.bootstrap.PLAINTEXT;
      const topic = uniqueTopic('plt-restart');
      await createTopic(brokers, topic, 1);
      own = await startTestGateway({ ...FAST_CONSUMERS, KAFKA_CLIENT: 'platformatic', KAFKA_BROKERS: brokers });
      ws = await WsClient.open(wsUrl(own));
      await ws.subscribe({
        id: 's',
        mode: 'group',
        topics: [topic],
        group: uniqueTopic('g'),
        from: 'earliest',
        format: 'string',
      });
      p = kafkaClient(brokers, { retry: { retries: 20, initialRetryTime: 300, maxRetryTime: 2000 } }).producer();
      await p.connect();
      const values = () => new Set(ws!.records('s').map((r) => String(r.value)));
      await p.send({ topic, acks: -1, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `before-${i}` })) });
      await expect.poll(() => values().size, { timeout: 30_000, interval: 50 }).toBe(5);

      await kafka.killNode(1, 'SIGKILL');
      // Down from the kill until the restarted broker logged "started" (seconds on this machine).
      await kafka.startNode(1);
      await p.send({ topic, acks: -1, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `after-${i}` })) });
      // At least once: a record may come twice around the restart, none may be missing.
      await expect.poll(() => values().size, { timeout: 90_000, interval: 100 }).toBe(10);
      expect(ws.frames.filter((f) => f.type === 'error')).toEqual([]);
      expect(ws.closeCode).toBeUndefined();
    } finally {
      await ws?.close().catch(() => {});
      await p?.disconnect().catch(() => {});
      await own?.close().catch(() => {});
      await kafka.stop().catch(() => {});
      release();
    }
  }, 240_000);
});
