// v3 cluster and topic admin against the real broker; every change is checked in Kafka itself.
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { call, eventually, post, startTestGateway, createTopicReady } from '../helpers/gateway.js';
import { kafkaClient, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let admin: Admin;
let clusterId: string;
let topicsPath: string;

beforeAll(async () => {
  admin = kafkaClient(brokers).admin();
  await admin.connect();
  clusterId = (await admin.describeCluster()).clusterId;
  topicsPath = `/v3/clusters/${clusterId}/topics`;
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
  await admin?.disconnect();
});

const create = (body: unknown) => post(gw, topicsPath, 'application/json', body);
const kafkaHas = async (t: string) => (await admin.listTopics()).includes(t);
async function topicConfig(t: string, name: string): Promise<string | undefined> {
  const res = await admin.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: t, configNames: [name] }],
    includeSynonyms: false,
  });
  return res.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
}

describe('clusters', () => {
  it('GET /v3/clusters lists exactly the one cluster, with its Kafka cluster id', async () => {
    const res = await call(gw, '/v3/clusters');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.kind).toBe('KafkaClusterList');
    expect(res.body.metadata).toEqual({ self: `${gw.url}/v3/clusters`, next: null });
    expect(res.body.data).toHaveLength(1);
    const c = res.body.data[0];
    expect(c.kind).toBe('KafkaCluster');
    expect(c.cluster_id).toBe(clusterId);
    expect(c.metadata.self).toBe(`${gw.url}/v3/clusters/${clusterId}`);
    expect(c.topics).toEqual({ related: `${gw.url}/v3/clusters/${clusterId}/topics` });
    const controller = (await admin.describeCluster()).controller;
    expect(c.controller).toEqual({ related: `${gw.url}/v3/clusters/${clusterId}/brokers/${controller}` });
  });

  it('GET /v3/clusters/{id} answers the cluster, and 404 for another id', async () => {
    const res = await call(gw, `/v3/clusters/${clusterId}`);
    expect(res.status).toBe(200);
    expect(res.body.cluster_id).toBe(clusterId);
    const other = await call(gw, '/v3/clusters/not-this-cluster');
    expect(other.status).toBe(404);
    expect(other.body.error_code).toBe(404);
  });

  it('answers 406 to an Accept that v3 cannot satisfy', async () => {
    const res = await call(gw, '/v3/clusters', { headers: { Accept: 'application/vnd.kafka.v2+json' } });
    expect([res.status, res.body.error_code]).toEqual([406, 406]);
  });
});

describe('topics', () => {
  it('lists topics as KafkaTopicList with partitions_count and replication_factor', async () => {
    const t = uniqueTopic('v3-list');
    await createTopicReady(brokers, t, 3);
    const res = await call(gw, topicsPath);
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe('KafkaTopicList');
    expect(res.body.metadata).toEqual({ self: `${gw.url}${topicsPath}`, next: null });
    const mine = res.body.data.find((d: { topic_name: string }) => d.topic_name === t);
    expect(mine).toMatchObject({
      kind: 'KafkaTopic',
      cluster_id: clusterId,
      topic_name: t,
      is_internal: false,
      replication_factor: 1,
      partitions_count: 3,
      metadata: { self: `${gw.url}${topicsPath}/${t}` },
    });
  });

  it('creates a topic: 201, Location naming it, and Kafka has its partitions and configs', async () => {
    const t = uniqueTopic('v3-create');
    const res = await create({
      topic_name: t,
      partitions_count: 3,
      replication_factor: 1,
      configs: [{ name: 'retention.ms', value: '123456' }],
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${gw.url}${topicsPath}/${t}`);
    expect(res.body).toMatchObject({
      kind: 'KafkaTopic',
      topic_name: t,
      partitions_count: 3,
      replication_factor: 1,
      is_internal: false,
    });
    const md = await admin.fetchTopicMetadata({ topics: [t] });
    expect(md.topics[0]!.partitions).toHaveLength(3);
    expect(await topicConfig(t, 'retention.ms')).toBe('123456');
  });

  it("creates with the broker's default partition count when none is given", async () => {
    const t = uniqueTopic('v3-default');
    const res = await create({ topic_name: t });
    expect(res.status).toBe(201);
    expect(res.body.partitions_count).toBe(1);
    expect((await admin.fetchTopicMetadata({ topics: [t] })).topics[0]!.partitions).toHaveLength(1);
  });

  it('answers 400 40002 when the topic exists', async () => {
    const t = uniqueTopic('v3-exists');
    await createTopicReady(brokers, t, 1);
    const res = await create({ topic_name: t, partitions_count: 2 });
    expect([res.status, res.body.error_code]).toEqual([400, 40002]);
    expect((await admin.fetchTopicMetadata({ topics: [t] })).topics[0]!.partitions).toHaveLength(1);
  });

  it.each([
    ['spaces and punctuation', 'bad name!'],
    ['a slash', 'a/b'],
    ['250 characters', 'a'.repeat(250)],
    ['"."', '.'],
    ['".."', '..'],
    ['empty', ''],
  ])('answers 422 42206 for an illegal name (%s), before asking Kafka', async (_why, name) => {
    const res = await create({ topic_name: name, partitions_count: 1 });
    expect([res.status, res.body.error_code]).toEqual([422, 42206]);
    expect(res.body.message).toMatch(/Illegal topic name/);
    expect(await admin.listTopics()).not.toContain(name);
  });

  it('answers 400 40002 when Kafka refuses a config value, and creates nothing', async () => {
    const t = uniqueTopic('v3-badcfg');
    const res = await create({
      topic_name: t,
      partitions_count: 1,
      configs: [{ name: 'cleanup.policy', value: 'shred' }],
    });
    expect([res.status, res.body.error_code]).toEqual([400, 40002]);
    expect(await kafkaHas(t)).toBe(false);
  });

  it('answers 400 40002 for a replication factor larger than the cluster', async () => {
    const t = uniqueTopic('v3-badrf');
    const res = await create({ topic_name: t, partitions_count: 1, replication_factor: 5 });
    expect([res.status, res.body.error_code]).toEqual([400, 40002]);
    expect(await kafkaHas(t)).toBe(false);
  });

  it.each([
    ['partitions_count 0', { partitions_count: 0 }],
    ['a string partitions_count', { partitions_count: '3' }],
    ['a missing topic_name', { topic_name: undefined }],
  ])('answers 400 for %s', async (_name, patch) => {
    const res = await create({ topic_name: uniqueTopic('v3-bad'), ...patch });
    expect([res.status, res.body.error_code]).toEqual([400, 400]);
  });

  it('answers 422 for an empty body and 415 for a non-JSON content type', async () => {
    const empty = await call(gw, topicsPath, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '',
    });
    expect([empty.status, empty.body.error_code]).toEqual([422, 422]);
    const text = await post(gw, topicsPath, 'text/plain', JSON.stringify({ topic_name: uniqueTopic('v3-ct') }));
    expect([text.status, text.body.error_code]).toEqual([415, 415]);
  });

  it('validate_only checks without creating: 200, no Location, nothing in Kafka', async () => {
    const t = uniqueTopic('v3-validate');
    const res = await create({ topic_name: t, partitions_count: 2, validate_only: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.body).toMatchObject({ kind: 'KafkaTopic', topic_name: t, partitions_count: 2 });
    expect(await kafkaHas(t)).toBe(false);
  });

  it('validate_only still reports what creating would refuse', async () => {
    const existing = uniqueTopic('v3-validate-exists');
    await createTopicReady(brokers, existing, 1);
    const exists = await create({ topic_name: existing, validate_only: true });
    expect([exists.status, exists.body.error_code]).toEqual([400, 40002]);
    const badCfg = await create({
      topic_name: uniqueTopic('v3-validate-cfg'),
      configs: [{ name: 'cleanup.policy', value: 'shred' }],
      validate_only: true,
    });
    expect([badCfg.status, badCfg.body.error_code]).toEqual([400, 40002]);
  });

  it('GET /v3/clusters/{c}/topics/{t} describes one topic, 404 when missing', async () => {
    const t = uniqueTopic('v3-get');
    await createTopicReady(brokers, t, 2);
    const res = await call(gw, `${topicsPath}/${t}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      kind: 'KafkaTopic',
      cluster_id: clusterId,
      topic_name: t,
      partitions_count: 2,
      replication_factor: 1,
      partitions: { related: `${gw.url}${topicsPath}/${t}/partitions` },
      configs: { related: `${gw.url}${topicsPath}/${t}/configs` },
    });
    const missing = await call(gw, `${topicsPath}/${uniqueTopic('v3-none')}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(40401);
  });

  it('deletes a topic: 204 with no body, and Kafka no longer has it', async () => {
    const t = uniqueTopic('v3-delete');
    await createTopicReady(brokers, t, 1);
    const res = await call(gw, `${topicsPath}/${t}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(
      await eventually(
        () => kafkaHas(t),
        (has) => !has,
      ),
    ).toBe(false);
    expect(
      (
        await eventually(
          () => call(gw, `${topicsPath}/${t}`),
          (r) => r.status === 404,
        )
      ).status,
    ).toBe(404);
  });

  it('answers 404 to deleting a topic that does not exist', async () => {
    const res = await call(gw, `${topicsPath}/${uniqueTopic('v3-nodelete')}`, { method: 'DELETE' });
    expect([res.status, res.body.error_code]).toEqual([404, 40401]);
  });

  it('answers 404 for topics of another cluster id', async () => {
    const res = await call(gw, '/v3/clusters/other/topics');
    expect(res.status).toBe(404);
    const made = await post(gw, '/v3/clusters/other/topics', 'application/json', {
      topic_name: uniqueTopic('v3-other'),
    });
    expect(made.status).toBe(404);
  });
});
