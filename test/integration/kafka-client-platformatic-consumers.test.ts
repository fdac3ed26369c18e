// KAFKA_CLIENT=platformatic on the consumer side, against the real broker. The shared WebSocket, SSE, HTTP consumer,
// metadata and admin files run on it too (KGW_TEST_KAFKA_CLIENT=platformatic, docs/performance.md "The Kafka
// client"); this file checks what only this client has to prove: that every part says it runs on
// @platformatic/kafka, that its group members share one group with kafkajs members (a rolling change of
// KAFKA_CLIENT across replicas: same protocol name and wire format), each partition read by exactly one of them, and
// that its own decoding of fetch responses (platformatic-fetch-decoder.ts) reads compressed batches and transactions
// as Kafka wrote them, and that a group socket rides out a restart of the only broker (own cluster: clusterLock;
// KAFKA_CLUSTER_TESTS=0 skips).
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TopicPartition, TopicPartitionOffset } from '../../src/kafka/consumer-types.js';
import { type CommitFence, isStaleCommit } from '../../src/kafka/commit-fence.js';
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
  logs = captureLog('debug');
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
      position(next: TopicPartition[], carried: ReadonlyMap<string, number>): Promise<TopicPartitionOffset[]>;
    };
    const read = proto.position;
    proto.position = async function (this: PlatformaticGroupSession, next, carried) {
      const positions = await read.call(this, next, carried);
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

  it("a commit goes out in the generation it was asked in: the library's resend in another one is stopped on the wire", async () => {
    const topic = uniqueTopic('plt-fence');
    const group = uniqueTopic('g');
    await createTopicReady(brokers, topic, 1);
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    const session = await gw.kafka.consumers.group(
      { group, topics: [topic], from: 'earliest' },
      { onRecord: () => true },
    );
    const committed = async () => {
      const admin = kafkaClient(brokers).admin();
      await admin.connect();
      try {
        return Number((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions[0]!.offset);
      } finally {
        await admin.disconnect();
      }
    };
    try {
      await expect.poll(() => session.assignment.length, { timeout: 20_000 }).toBe(1);
      await session.commitNow([{ topic, partition: 0, offset: 3 }]);
      expect(await committed()).toBe(3);
      // What @platformatic/kafka does after a commit met a rebalance: it rejoins and sends the same offsets again,
      // now in a later generation. Here the offsets are asked in an earlier one, and the library's own commit sends
      // them in the current one: through its real OffsetCommit call, which the fence must read right.
      const inside = session as unknown as {
        fence: CommitFence;
        joinedGeneration: number;
        consumer: { commit(o: object): Promise<void> };
      };
      const stale = inside.fence.around([{ topic, partition: 0, offset: 7 }], inside.joinedGeneration - 1, () =>
        inside.consumer.commit({ offsets: [{ topic, partition: 0, offset: 7n, leaderEpoch: -1 }] }),
      );
      expect(isStaleCommit(await stale.catch((e: unknown) => e))).toBe(true);
      expect(await committed()).toBe(3);
    } finally {
      await session.close();
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

describe('KAFKA_CLIENT=platformatic: fetch responses decoded from one Buffer', () => {
  it('reads batches of every codec and transactions (aborted records skipped) as written, keys, values, headers, times', async () => {
    const topic = uniqueTopic('plt-fetch');
    await createTopicReady(brokers, topic, 1);
    const lib = await import('@platformatic/kafka');
    const T0 = Date.now() - 60_000;
    type Expected = {
      value: string;
      key: string | null;
      headers: { name: string; value: string }[];
      timestamp: number;
    };
    const expected: Expected[] = [];
    const bytes = (i: number) => Buffer.from(Array.from({ length: 300 + i }, (_, j) => (i * 31 + j) % 256));

    // One batch per codec the library can write here, from the library's own producer.
    const codecs = Object.entries(lib.compressionsAlgorithms)
      .filter(([name, a]) => name !== 'none' && a.available)
      .map(([name]) => name as 'gzip');
    const plt = new lib.Producer({
      clientId: 'test-codecs',
      bootstrapBrokers: brokers.split(','),
      autocreateTopics: false,
    });
    try {
      for (const [c, compression] of codecs.entries()) {
        const messages = [0, 1, 2].map((k) => {
          const i = c * 3 + k;
          const headers = new Map<Buffer, Buffer>([
            [Buffer.from('codec'), Buffer.from(compression)],
            [Buffer.from('n-ü'), bytes(i).subarray(0, 5)],
          ]);
          expected.push({
            value: bytes(i).toString('base64'),
            key: k === 1 ? null : Buffer.from(`k${i}`).toString('base64'),
            headers: [...headers].map(([n, v]) => ({ name: n.toString(), value: v.toString('base64') })),
            timestamp: T0 + i,
          });
          return {
            topic,
            partition: 0,
            key: k === 1 ? undefined : Buffer.from(`k${i}`),
            value: bytes(i),
            headers,
            timestamp: BigInt(T0 + i),
          };
        });
        await plt.send({ messages, compression, acks: -1 });
      }
    } finally {
      await plt.close();
    }

    // Transactions: one aborted (its records never reach a reader), one committed.
    const tx = kafkaClient(brokers).producer({
      transactionalId: uniqueTopic('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await tx.connect();
    try {
      for (const [outcome, values] of [
        ['abort', ['aborted-1', 'aborted-2']],
        ['commit', ['committed-1', 'committed-2']],
      ] as const) {
        const t = await tx.transaction();
        await t.send({
          topic,
          messages: values.map((v, k) => ({ partition: 0, value: v, timestamp: String(T0 + 100 + k) })),
        });
        await (outcome === 'abort' ? t.abort() : t.commit());
        if (outcome === 'commit')
          for (const [k, v] of values.entries())
            expected.push({
              value: Buffer.from(v).toString('base64'),
              key: null,
              headers: [],
              timestamp: T0 + 100 + k,
            });
      }
    } finally {
      await tx.disconnect();
    }

    const ws = await WsClient.open(wsUrl(gw));
    sockets.push(ws);
    await ws.subscribe({
      id: 'f',
      mode: 'assign',
      partitions: [{ topic, partition: 0 }],
      from: 'earliest',
      format: 'base64',
    });
    await expect.poll(() => ws.records('f').length, { timeout: 20_000, interval: 50 }).toBe(expected.length);
    const got = ws.records('f').map((r) => {
      const f = r as unknown as Expected & { key: string | null };
      return { value: f.value, key: f.key, headers: f.headers, timestamp: f.timestamp };
    });
    expect(got).toEqual(expected);
    // Offsets go up, past the aborted records and the transaction markers.
    const offsets = ws.records('f').map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const decoding = logs.lines.filter((l) => l.msg === 'fetch response decoding').map((l) => l.fetchDecoding);
    expect(decoding).toContainEqual(expect.stringMatching(/^one-buffer v(1[2-7])$/));
  }, 60_000);
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
