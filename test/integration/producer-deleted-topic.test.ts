// KNOWN BUG (found by bad-input.test.ts, not fixed: it lives in src/kafka/). kafkajs keeps every topic a producer has
// sent to in its metadata targets and refreshes them all together; once one of them is deleted, each refresh fails
// with UNKNOWN_TOPIC_OR_PARTITION, so the gateway's sends to any topic it has not sent to before fail (per-record
// 50003) until the process restarts. kafkajs has no public way to drop a target topic (admin.deleteTopics does it for
// the admin client only). A fix could replace the kafkajs producer when a send fails with UNKNOWN_TOPIC_OR_PARTITION
// for a topic the admin metadata says exists. `it.fails` passes while the bug is there: make it `it` once fixed.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, post, startTestGateway, type ProduceReply } from '../helpers/gateway.js';
import { createTopic, deleteTopics, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
const a = uniqueTopic('deleted-a');
const b = uniqueTopic('deleted-b');

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
  await deleteTopics(brokers, [a, b]).catch(() => {});
});

it.fails('after a topic the gateway produced to is deleted, producing to a new topic still works', async () => {
  await createTopic(brokers, a, 1);
  const first = await post<ProduceReply>(gw, `/topics/${a}`, JSON_V2, { records: [{ value: 1 }] });
  expect(first.body.offsets[0]!.error_code).toBeNull();
  await deleteTopics(brokers, [a]);
  await createTopic(brokers, b, 1);
  const second = await post<ProduceReply>(gw, `/topics/${b}`, JSON_V2, { records: [{ value: 2 }] });
  expect(second.status).toBe(200);
  expect(second.body.offsets[0]).toMatchObject({ error_code: null, offset: 0 });
});
