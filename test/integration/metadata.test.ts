// v2 metadata against the real broker, compared with what Kafka itself says (kafkajs admin).
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, V2, call, eventually, post, startTestGateway, createTopicReady } from '../helpers/gateway.js';
import { kafkaClient, readAll, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let admin: Admin;
let brokerIds: number[];

beforeAll(async () => {
  admin = kafkaClient(brokers).admin();
  await admin.connect();
  brokerIds = (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
  await admin?.disconnect();
});

async function topicWith(partitions: number, configs?: Record<string, string>): Promise<string> {
  const t = uniqueTopic('meta');
  await createTopicReady(brokers, t, partitions, configs);
  return t;
}

const get = (path: string) => call(gw, path);

describe('GET /topics', () => {
  it('lists topics as a JSON array of names with the v2 content type', async () => {
    const a = await topicWith(1);
    const b = await topicWith(2);
    const res = await get('/topics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(Array.isArray(res.body)).toBe(true);
    expect(res.body).toEqual(expect.arrayContaining([a, b]));
    expect(res.body.every((n: unknown) => typeof n === 'string')).toBe(true);
  });

  it('leaves out internal topics that Kafka has', async () => {
    // Reading with a consumer group makes sure __consumer_offsets exists.
    const t = await topicWith(1);
    await readAll(brokers, t, 0, 500);
    expect(await admin.listTopics()).toContain('__consumer_offsets');
    const res = await get('/topics');
    expect(res.body.filter((n: string) => n.startsWith('__'))).toEqual([]);
  });
});

describe('GET /topics/{topic}', () => {
  it('gives name, configs (defaults included, values as set) and partitions with leader and replicas', async () => {
    const t = await topicWith(3, { 'retention.ms': '3600000', 'cleanup.policy': 'compact' });
    const res = await get(`/topics/${t}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(Object.keys(res.body)).toEqual(['name', 'configs', 'partitions']);
    expect(res.body.name).toBe(t);
    // Set at creation.
    expect(res.body.configs['retention.ms']).toBe('3600000');
    expect(res.body.configs['cleanup.policy']).toBe('compact');
    // Broker defaults are listed too.
    expect(res.body.configs['max.message.bytes']).toBe('1048588');
    expect(res.body.configs['min.insync.replicas']).toBe('1');
    expect(res.body.configs).toHaveProperty('segment.bytes');
    expect(Object.keys(res.body.configs).length).toBeGreaterThan(20);
    for (const v of Object.values(res.body.configs)) expect(v === null || typeof v === 'string').toBe(true);

    const md = await admin.fetchTopicMetadata({ topics: [t] });
    const expected = md.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => ({
      partition: p.partitionId,
      leader: p.leader,
      replicas: p.replicas.map((r) => ({ broker: r, leader: r === p.leader, in_sync: p.isr.includes(r) })),
    }));
    expect(res.body.partitions).toEqual(expected);
    expect(res.body.partitions.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2]);
    for (const p of res.body.partitions) {
      expect(brokerIds).toContain(p.leader);
      expect(p.replicas).toEqual([{ broker: p.leader, leader: true, in_sync: true }]);
    }
  });

  it('shows the default cleanup.policy of a topic created without configs', async () => {
    const t = await topicWith(1);
    expect((await get(`/topics/${t}`)).body.configs['cleanup.policy']).toBe('delete');
  });

  it('answers 404 40401 for a topic that does not exist', async () => {
    const res = await get(`/topics/${uniqueTopic('missing')}`);
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe(40401);
  });
});

describe('partitions', () => {
  it('GET /topics/{t}/partitions lists every partition in order', async () => {
    const t = await topicWith(4);
    const res = await get(`/topics/${t}/partitions`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(res.body.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2, 3]);
    for (const p of res.body) {
      expect(Object.keys(p)).toEqual(['partition', 'leader', 'replicas']);
      expect(p.replicas[0]).toEqual({ broker: p.leader, leader: true, in_sync: true });
    }
  });

  it('GET /topics/{t}/partitions/{p} answers that one partition', async () => {
    const t = await topicWith(3);
    const all = (await get(`/topics/${t}/partitions`)).body;
    const res = await get(`/topics/${t}/partitions/2`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(all[2]);
    expect(res.body.partition).toBe(2);
  });

  it.each(['3', '99', '-1', 'abc', '2147483648'])(
    'answers 404 40402 for partition %s of a 3-partition topic',
    async (p) => {
      const t = await topicWith(3);
      const res = await get(`/topics/${t}/partitions/${p}`);
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe(40402);
    },
  );

  it('answers 404 40401 for a partition of a missing topic', async () => {
    const res = await get(`/topics/${uniqueTopic('missing')}/partitions/0`);
    expect([res.status, res.body.error_code]).toEqual([404, 40401]);
  });
});

describe('GET /topics/{t}/partitions/{p}/offsets', () => {
  it('gives beginning and end offsets after producing N records', async () => {
    const t = await topicWith(2);
    const before = await get(`/topics/${t}/partitions/0/offsets`);
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toBe(V2);
    expect(before.body).toEqual({ beginning_offset: 0, end_offset: 0 });

    const n = 7;
    const res = await post(gw, `/topics/${t}/partitions/0`, JSON_V2, {
      records: Array.from({ length: n }, (_, i) => ({ value: i })),
    });
    expect(res.status).toBe(200);
    expect((await get(`/topics/${t}/partitions/0/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: n });
    expect((await get(`/topics/${t}/partitions/1/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: 0 });
    const k = await admin.fetchTopicOffsets(t);
    expect(Number(k.find((p) => p.partition === 0)!.high)).toBe(n);
  });

  it('answers 404 40402 for a partition that does not exist', async () => {
    const t = await topicWith(1);
    const res = await get(`/topics/${t}/partitions/1/offsets`);
    expect([res.status, res.body.error_code]).toEqual([404, 40402]);
  });
});

describe('GET /brokers', () => {
  it('lists the broker ids Kafka reports', async () => {
    const res = await get('/brokers');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(res.body).toEqual({ brokers: brokerIds });
    expect(brokerIds.length).toBeGreaterThan(0);
  });
});

describe('freshness', () => {
  it('sees a topic created directly in Kafka right after the gateway answered 404 for it', async () => {
    const t = uniqueTopic('meta-late');
    expect((await get(`/topics/${t}`)).status).toBe(404);
    expect((await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] })).status).toBe(404);
    await createTopicReady(brokers, t, 2);
    const res = await get(`/topics/${t}`);
    expect(res.status).toBe(200);
    expect(res.body.partitions).toHaveLength(2);
    expect((await get('/topics')).body).toContain(t);
    const produced = await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] });
    expect(produced.status).toBe(200);
    expect(produced.body.offsets[0].error_code).toBeNull();
  });

  it('sees a topic created through the v3 API at once, and not after deleting it', async () => {
    const clusterId = (await call(gw, '/v3/clusters')).body.data[0].cluster_id;
    const t = uniqueTopic('meta-v3');
    const created = await post(gw, `/v3/clusters/${clusterId}/topics`, 'application/json', {
      topic_name: t,
      partitions_count: 3,
    });
    expect(created.status).toBe(201);
    expect((await get('/topics')).body).toContain(t);
    expect((await get(`/topics/${t}/partitions`)).body).toHaveLength(3);
    const deleted = await call(gw, `/v3/clusters/${clusterId}/topics/${t}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    // Kafka drops a deleted topic from its metadata a moment after answering; the gateway must not cache the
    // stale view (METADATA_CACHE_MS is 5 s, so a cached answer would outlast this bound).
    expect(
      (
        await eventually(
          () => get(`/topics/${t}`),
          (r) => r.status === 404,
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await eventually(
          () => get('/topics'),
          (r) => !r.body.includes(t),
        )
      ).body,
    ).not.toContain(t);
  });
});
