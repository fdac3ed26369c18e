// SIGTERM: a replica's HTTP consumer instances commit what auto-commit owes (every record `GET records` returned)
// and leave their groups before the process exits; a `GET records` waiting at that moment answers at once.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { request } from '../helpers/consumers.js';
import { createTopic, deleteTopics, kafkaClient, produce, uniqueTopic } from '../helpers/kafka.js';
import { type Replica, spawnReplica } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const topic = uniqueTopic('cons-term');
const group = `term-${Date.now()}`;
let replica: Replica;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replica = await spawnReplica({ KAFKA_BROKERS: brokers, AUTH_MODE: 'none' });
}, 90_000);
afterAll(async () => {
  await replica?.stop();
  await deleteTopics(brokers, [topic]);
});

it('commits what auto-commit owes and leaves the group on SIGTERM', async () => {
  const base = `/consumers/${group}/instances/auto`;
  const c = await request(replica.url, 'POST', `/consumers/${group}`, {
    name: 'auto',
    'auto.offset.reset': 'earliest',
  });
  expect(c.status, c.text).toBe(200);
  expect((await request(replica.url, 'POST', `${base}/subscription`, { topics: [topic] })).status).toBe(204);
  await produce(
    brokers,
    topic,
    Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
  );
  let read = 0;
  const until = Date.now() + 30_000;
  while (read < 20 && Date.now() < until) {
    const r = await request(replica.url, 'GET', `${base}/records?timeout=500`, undefined, {
      accept: 'application/vnd.kafka.binary.v2+json',
    });
    expect(r.status).toBe(200);
    read += r.body.length;
  }
  expect(read).toBe(20);
  // The last batch is owed (auto-commit commits a batch at the next call): only the shutdown can commit it now.
  // Meanwhile another instance's long poll is in flight: it answers at once instead of holding the shutdown.
  const waiter = `/consumers/${group}-w/instances/w`;
  expect((await request(replica.url, 'POST', `/consumers/${group}-w`, { name: 'w' })).status).toBe(200);
  expect((await request(replica.url, 'POST', `${waiter}/subscription`, { topics: [topic] })).status).toBe(204);
  const waiting = request(replica.url, 'GET', `${waiter}/records?timeout=25000`, undefined, {
    accept: 'application/vnd.kafka.binary.v2+json',
  });
  // The shutdown must meet the long poll in flight: wait until the replica reports it waiting.
  await waitFor('the long poll to wait on the replica', async () =>
    /^kafka_gateway_consumer_polls_waiting 1$/m.test(await (await fetch(`${replica.url}/metrics`)).text()),
  );
  const t0 = Date.now();
  await replica.stop();
  expect(Date.now() - t0).toBeLessThan(20_000);
  // Answered by the shutdown, with what it had (nothing), not cut off.
  const answered = await waiting;
  expect(answered.status).toBe(200);
  expect(answered.body).toEqual([]);

  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(offsets[0]!.partitions.map((p) => [p.partition, Number(p.offset)]).sort()).toEqual([
      [0, 10],
      [1, 10],
    ]);
    const described = await admin.describeGroups([group]);
    expect(described.groups[0]!.members).toEqual([]);
  } finally {
    await admin.disconnect();
  }
}, 120_000);
