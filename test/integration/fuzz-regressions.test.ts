// What schemathesis (schemathesis.test.ts) found, each kept as a test against the live gateway and a real broker.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApiDocument } from '../../scripts/openapi.js';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, readAll, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
type Schemas = Record<string, { properties: Record<string, Record<string, unknown>> }>;
const schemas = (openApiDocument() as unknown as { components: { schemas: Schemas } }).components.schemas;

describe('schemathesis findings', () => {
  let gw: Gateway;
  let clusterId: string;
  const topic = uniqueTopic('fuzzreg');

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTopic(brokers, topic, 2);
    clusterId = ((await (await fetch(`${gw.url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }).data[0]!
      .cluster_id;
  });

  afterAll(async () => {
    await gw?.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  });

  const createTopicCall = (body: unknown) =>
    fetch(`${gw.url}/v3/clusters/${clusterId}/topics`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  // Found: 500 {"error_code":50002,"message":"Invalid configEntries ... must have a valid \"value\" property"} —
  // kafkajs refuses a null config value before sending. A null value now means the broker's default.
  it('v3 create topic with a null config value is not a server error (null = the default)', async () => {
    const name = uniqueTopic('fuzzreg-cfg');
    const res = await createTopicCall({
      topic_name: name,
      partitions_count: 1,
      validate_only: true,
      configs: [{ name: 'retention.ms', value: null }],
    });
    expect(res.status).toBe(200);
    const real = await createTopicCall({
      topic_name: name,
      partitions_count: 1,
      configs: [
        { name: 'retention.ms', value: null },
        { name: 'cleanup.policy', value: 'compact' },
      ],
    });
    expect(real.status).toBe(201);
    const described = await fetch(`${gw.url}/topics/${name}`);
    const configs = ((await described.json()) as { configs: Record<string, string | null> }).configs;
    expect(configs['cleanup.policy']).toBe('compact');
    expect(configs['retention.ms']).toBe('604800000'); // the broker default
    await deleteTopics(brokers, [name]);
  });

  // Found: 200 for validate_only was not a documented status (only 201 was).
  it('v3 create topic with validate_only answers 200 and the document lists it', async () => {
    const res = await createTopicCall({
      topic_name: uniqueTopic('fuzzreg-vo'),
      partitions_count: 1,
      validate_only: true,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    const doc = openApiDocument() as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths['/v3/clusters/{cluster_id}/topics']!.post!.responses)).toEqual(
      expect.arrayContaining(['200', '201']),
    );
  });

  // Found: `"partition": null` in a record is accepted (no override), but the document said integer only.
  it('a record with "partition": null is accepted, and the document says the field is nullable', async () => {
    const res = await fetch(`${gw.url}/topics/${topic}/partitions/1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.kafka.json.v2+json' },
      body: JSON.stringify({ records: [{ key: 'somekey', value: { hello: 'kafka' }, partition: null, headers: [] }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { offsets: { partition: number; error_code: number | null }[] };
    expect(body.offsets[0]).toMatchObject({ partition: 1, error_code: null });
    expect(schemas.JsonRecord!.properties.partition!.type).toEqual(['integer', 'null']);
    expect(schemas.BinaryRecord!.properties.partition!.type).toEqual(['integer', 'null']);
    const records = await readAll(brokers, topic, 1, 20_000);
    expect(records.map((r) => r.partition)).toEqual([1]);
  });

  // Most generated binary-format records were refused (random strings are rarely base64): the document now says
  // these strings carry base64 (`contentEncoding`), so generators produce valid ones.
  it('binary keys, values and header values are documented as base64', () => {
    expect(schemas.BinaryRecord!.properties.key!.contentEncoding).toBe('base64');
    expect(schemas.BinaryRecord!.properties.value!.contentEncoding).toBe('base64');
    expect(schemas.RecordHeader!.properties.value!.contentEncoding).toBe('base64');
  });
});
