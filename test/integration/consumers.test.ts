// The v2 consumer API on one gateway against the real broker: lifecycle, formats, commits, seeks, assign mode and
// every error code of the API.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { request } from '../helpers/consumers.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, produce, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
const topic = uniqueTopic('cons');
const JSON_FMT = 'application/vnd.kafka.json.v2+json';
const BINARY_FMT = 'application/vnd.kafka.binary.v2+json';

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  await produce(
    brokers,
    topic,
    Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i }), partition: i % 2 })),
  );
  gw = await startTestGateway({ CONSUMER_MAX_INSTANCES_PER_CALLER: '5' });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await deleteTopics(brokers, [topic]);
});

const group = () => `g-${Math.random().toString(36).slice(2)}`;

async function readUntil(base: string, n: number, accept = JSON_FMT, deadlineMs = 20_000) {
  const out: any[] = [];
  const until = Date.now() + deadlineMs;
  while (out.length < n && Date.now() < until) {
    const r = await request(gw.url, 'GET', `${base}/records?timeout=500`, undefined, { accept });
    expect(r.status, r.text).toBe(200);
    out.push(...r.body);
  }
  return out;
}

describe('v2 consumers', () => {
  it('creates, subscribes, reads json records with headers and timestamps, commits, and deletes', async () => {
    const g = group();
    const created = await request(gw.url, 'POST', `/consumers/${g}`, {
      name: 'c1',
      format: 'json',
      'auto.offset.reset': 'earliest',
      'auto.commit.enable': 'false',
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body.instance_id).toBe('c1');
    expect(created.body.base_uri).toBe(`${gw.url}/consumers/${g}/instances/c1`);
    const base = `/consumers/${g}/instances/c1`;
    expect((await request(gw.url, 'POST', `${base}/subscription`, { topics: [topic] })).status).toBe(204);
    expect((await request(gw.url, 'GET', `${base}/subscription`)).body).toEqual({ topics: [topic] });
    const records = await readUntil(base, 10);
    expect(records).toHaveLength(10);
    expect(records.map((r) => r.value.n).sort((a: number, b: number) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(records[0]).toMatchObject({ topic, key: expect.stringMatching(/^k\d$/) });
    expect(typeof records[0].timestamp).toBe('number');
    expect(Array.isArray(records[0].headers)).toBe(true);

    const assignments = await request(gw.url, 'GET', `${base}/assignments`);
    expect(assignments.body.partitions).toHaveLength(2);

    // Commit the last record read on partition 0 → Kafka stores offset + 1.
    const last0 = Math.max(...records.filter((r) => r.partition === 0).map((r) => r.offset));
    const commit = await request(gw.url, 'POST', `${base}/offsets`, {
      offsets: [{ topic, partition: 0, offset: last0 }],
    });
    expect(commit.status, commit.text).toBe(200);
    // Empty body: everything fetched.
    expect((await request(gw.url, 'POST', `${base}/offsets`)).status).toBe(200);
    const committed = await request(gw.url, 'GET', `${base}/offsets`, {
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
    });
    expect(committed.status, committed.text).toBe(200);
    expect(committed.body.offsets).toEqual([
      { topic, partition: 0, offset: 5, metadata: '' },
      { topic, partition: 1, offset: 5, metadata: '' },
    ]);
    // Fuzz finding: no partitions asked → none answered (Kafka was asked for every topic and said NOT_COORDINATOR).
    const none = await request(gw.url, 'GET', `${base}/offsets`, { partitions: [] });
    expect([none.status, none.body]).toEqual([200, { offsets: [] }]);

    // Seek back to the beginning of partition 1: its records come again.
    expect(
      (await request(gw.url, 'POST', `${base}/positions/beginning`, { partitions: [{ topic, partition: 1 }] })).status,
    ).toBe(204);
    const again = await readUntil(base, 5);
    expect(again.map((r) => `${r.partition}:${r.offset}`)).toEqual(['1:0', '1:1', '1:2', '1:3', '1:4']);
    // An explicit position.
    expect(
      (await request(gw.url, 'POST', `${base}/positions`, { offsets: [{ topic, partition: 0, offset: 3 }] })).status,
    ).toBe(204);
    expect((await readUntil(base, 2)).map((r) => `${r.partition}:${r.offset}`)).toEqual(['0:3', '0:4']);

    expect((await request(gw.url, 'DELETE', base)).status).toBe(204);
    const gone = await request(gw.url, 'GET', `${base}/records`, undefined, { accept: JSON_FMT });
    expect([gone.status, gone.body.error_code]).toEqual([404, 40403]);
  }, 60_000);

  it('assign mode: chosen partitions from the group commit, binary format, commits outside the group', async () => {
    const g = group();
    const c = await request(gw.url, 'POST', `/consumers/${g}`, { format: 'binary', 'auto.offset.reset': 'earliest' });
    expect(c.status).toBe(200);
    expect(c.body.instance_id).toMatch(/^kgw-/);
    const base = `/consumers/${g}/instances/${c.body.instance_id}`;
    const a = await request(gw.url, 'POST', `${base}/assignments`, { partitions: [{ topic, partition: 1 }] });
    expect(a.status, a.text).toBe(204);
    const recs = await readUntil(base, 5, BINARY_FMT);
    expect(recs.map((r) => r.partition)).toEqual([1, 1, 1, 1, 1]);
    expect(Buffer.from(recs[0].value, 'base64').toString()).toBe('{"n":1}');
    // Mixing subscribe and assign → 409 40903.
    const mixed = await request(gw.url, 'POST', `${base}/subscription`, { topics: [topic] });
    expect([mixed.status, mixed.body.error_code]).toEqual([409, 40903]);
    // Accept naming another format → 406 40601.
    const wrong = await request(gw.url, 'GET', `${base}/records`, undefined, { accept: JSON_FMT });
    expect([wrong.status, wrong.body.error_code]).toEqual([406, 40601]);
    const commit = await request(gw.url, 'POST', `${base}/offsets`, { offsets: [{ topic, partition: 1, offset: 2 }] });
    expect(commit.status, commit.text).toBe(200);
    const committed = await request(gw.url, 'GET', `${base}/offsets`, { partitions: [{ topic, partition: 1 }] });
    expect(committed.body.offsets[0].offset).toBe(3);
    expect((await request(gw.url, 'DELETE', base)).status).toBe(204);
  }, 60_000);

  it('an assigned instance cannot commit into a group whose subscribed members run: 409 40903, nothing committed', async () => {
    const g = group();
    const create = async (name: string) =>
      (await request(gw.url, 'POST', `/consumers/${g}`, { name, format: 'binary', 'auto.offset.reset': 'earliest' }))
        .status;
    expect([await create('member'), await create('assigned')]).toEqual([200, 200]);
    const member = `/consumers/${g}/instances/member`;
    const assigned = `/consumers/${g}/instances/assigned`;
    expect((await request(gw.url, 'POST', `${member}/subscription`, { topics: [topic] })).status).toBe(204);
    // The member has joined once it holds both partitions.
    for (const until = Date.now() + 30_000; ; ) {
      const a = await request(gw.url, 'GET', `${member}/assignments`);
      if (a.body?.partitions?.length === 2) break;
      expect(Date.now() < until, a.text).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(
      (await request(gw.url, 'POST', `${assigned}/assignments`, { partitions: [{ topic, partition: 0 }] })).status,
    ).toBe(204);
    const commit = await request(gw.url, 'POST', `${assigned}/offsets`, {
      offsets: [{ topic, partition: 0, offset: 1 }],
    });
    expect([commit.status, commit.body?.error_code], commit.text).toEqual([409, 40903]);
    expect(commit.body.message).toMatch(/nothing was committed/);
    const committed = await request(gw.url, 'GET', `${member}/offsets`, { partitions: [{ topic, partition: 0 }] });
    expect(committed.body.offsets[0].offset).toBe(-1);
    for (const base of [member, assigned]) expect((await request(gw.url, 'DELETE', base)).status).toBe(204);
  }, 60_000);

  it('refuses duplicates (40902), bad configs (42204), unknown instances (40403) and topics (40401)', async () => {
    const g = group();
    expect((await request(gw.url, 'POST', `/consumers/${g}`, { name: 'dup' })).status).toBe(200);
    const dup = await request(gw.url, 'POST', `/consumers/${g}`, { name: 'dup' });
    expect([dup.status, dup.body.error_code]).toEqual([409, 40902]);
    for (const bad of [
      { format: 'avro' },
      { format: 'xml' },
      { 'auto.offset.reset': 'sometime' },
      { 'auto.commit.enable': 'maybe' },
      { 'fetch.min.bytes': 'lots' },
      { name: 'has space' },
      { name: 42 },
    ]) {
      const r = await request(gw.url, 'POST', `/consumers/${g}`, bad);
      expect([r.status, r.body?.error_code], JSON.stringify(bad)).toEqual([422, 42204]);
    }
    const missing = await request(gw.url, 'POST', `/consumers/${g}/instances/nobody/subscription`, { topics: [topic] });
    expect([missing.status, missing.body.error_code]).toEqual([404, 40403]);
    const noTopic = await request(gw.url, 'POST', `/consumers/${g}/instances/dup/subscription`, {
      topics: ['no-such-topic-here'],
    });
    expect([noTopic.status, noTopic.body.error_code]).toEqual([404, 40401]);
    const both = await request(gw.url, 'POST', `/consumers/${g}/instances/dup/subscription`, {
      topics: [topic],
      topic_pattern: 'x.*',
    });
    expect([both.status, both.body.error_code]).toEqual([409, 40903]);
    const seekUnassigned = await request(gw.url, 'POST', `/consumers/${g}/instances/dup/positions`, {
      offsets: [{ topic, partition: 0, offset: 0 }],
    });
    expect([seekUnassigned.status, seekUnassigned.body.error_code]).toEqual([409, 40903]);
    expect((await request(gw.url, 'DELETE', `/consumers/${g}/instances/dup`)).status).toBe(204);
  }, 60_000);

  it('subscribes by pattern', async () => {
    const g = group();
    await request(gw.url, 'POST', `/consumers/${g}`, { name: 'p', format: 'string', 'auto.offset.reset': 'earliest' });
    const base = `/consumers/${g}/instances/p`;
    const s = await request(gw.url, 'POST', `${base}/subscription`, { topic_pattern: `${topic.slice(0, -3)}.*` });
    expect(s.status, s.text).toBe(204);
    expect((await request(gw.url, 'GET', `${base}/subscription`)).body.topics).toContain(topic);
    const recs = await readUntil(base, 10, 'application/vnd.kafka.string.v2+json');
    expect(recs.filter((r) => r.topic === topic)).toHaveLength(10);
    expect(typeof recs[0].value).toBe('string');
    await request(gw.url, 'DELETE', base);
  }, 60_000);

  it('limits instances per caller (429 with Retry-After)', async () => {
    const g = group();
    const made: string[] = [];
    let refused: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const r = await request(gw.url, 'POST', `/consumers/${g}`, {});
      if (r.status === 200) made.push(r.body.instance_id);
      else refused = r;
    }
    expect(refused?.status).toBe(429);
    expect(refused?.headers['retry-after']).toBeDefined();
    expect(made.length).toBeLessThanOrEqual(5);
    for (const m of made) await request(gw.url, 'DELETE', `/consumers/${g}/instances/${m}`);
    expect((await request(gw.url, 'POST', `/consumers/${g}`, { name: 'after' })).status).toBe(200);
    await request(gw.url, 'DELETE', `/consumers/${g}/instances/after`);
  }, 60_000);
});
