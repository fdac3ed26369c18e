// Regression: kafkajs keeps every topic a producer (or an admin client reading offsets) has used in its metadata
// targets and refreshes them all together; once one of them is deleted, each refresh fails with
// UNKNOWN_TOPIC_OR_PARTITION and every later call fails, whatever its topic. Fixed in src/kafka/: the batching
// producer renews its kafkajs producer and sends the batch once more (producer.ts), and the admin client is replaced
// and the call retried when the topic does exist (renewing-admin.ts).
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, call, post, startTestGateway, type ProduceReply } from '../helpers/gateway.js';
import { createTopic, deleteTopics, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
const a = uniqueTopic('deleted-a');
const b = uniqueTopic('deleted-b');
const c = uniqueTopic('deleted-c');
const d = uniqueTopic('deleted-d');

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
  await deleteTopics(brokers, [a, b, c, d]).catch(() => {});
});

it('after a topic the gateway produced to is deleted, producing to a new topic still works', async () => {
  await createTopic(brokers, a, 1);
  const first = await post<ProduceReply>(gw, `/topics/${a}`, JSON_V2, { records: [{ value: 1 }] });
  expect(first.body.offsets[0]!.error_code).toBeNull();
  await deleteTopics(brokers, [a]);
  await createTopic(brokers, b, 1);
  const second = await post<ProduceReply>(gw, `/topics/${b}`, JSON_V2, { records: [{ value: 2 }] });
  expect(second.status).toBe(200);
  expect(second.body.offsets[0]).toMatchObject({ error_code: null, offset: 0 });
});

// The admin client behind metadata (fetchTopicOffsets keeps its own targets). A separate gateway, with a fresh admin.
it('after a topic the gateway described is deleted elsewhere, offsets of a new topic still work', async () => {
  const fresh = await startTestGateway();
  try {
    await createTopic(brokers, c, 1);
    expect((await call(fresh, `/topics/${c}/partitions/0/offsets`)).status).toBe(200);
    await deleteTopics(brokers, [c]);
    await createTopic(brokers, d, 1);
    const res = await call(fresh, `/topics/${d}/partitions/0/offsets`);
    expect(res.status, res.text).toBe(200);
  } finally {
    await fresh.close();
  }
});
