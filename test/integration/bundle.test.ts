// The gateway as it ships: `npm run build`'s bundle (scripts/bundle/bundle.mjs; the container image and `npm start`
// run dist/bundle/main.js). Every other test runs the sources. Built here from this checkout into test/artifacts,
// then started as a process: each part that is loaded late or found at run time must work from the bundle — the
// Kafka client libraries (@platformatic/kafka bundled, its WebAssembly codecs loaded on first use, kafkajs loaded by
// path with its patches), the chunks loaded when first needed (AsyncAPI document, JWT) and yaml from node_modules,
// the files found next to the code (public/ui, swagger-ui-dist) and node:cluster forking the bundle (WORKERS=2).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleGateway } from '../../scripts/bundle/bundle.mjs';
import { request } from '../helpers/consumers.js';
import { createTopic, deleteTopics, readAll, uniqueTopic } from '../helpers/kafka.js';
import { type Replica, spawnReplica } from '../helpers/replicas.js';
import { FAST_CONSUMERS, WsClient } from '../helpers/ws.js';
import { waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILD = path.join(ROOT, 'test/artifacts', `bundle-build-${process.pid}`);
const topic = uniqueTopic('bundle');
const JSON_V2 = 'application/vnd.kafka.json.v2+json';
const SECRET = 'bundle-test-jwt-secret-of-at-least-32-bytes';
let entry: string;
const replicas: Replica[] = [];

beforeAll(async () => {
  const tsc = spawnSync(
    path.join(ROOT, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', BUILD, '--sourceMap', 'false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  entry = await bundleGateway(BUILD);
  await createTopic(brokers, topic, 2);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(replicas.map((r) => r.stop()));
  await deleteTopics(brokers, [topic]);
  rmSync(BUILD, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<Replica> {
  const r = await spawnReplica({ ...FAST_CONSUMERS, KAFKA_BROKERS: brokers, ...env }, 60_000, entry);
  replicas.push(r);
  return r;
}

describe('the bundle (what the image runs)', () => {
  it('on @platformatic/kafka: produces, delivers over WebSocket and the v2 consumer API, serves its documents and pages', async () => {
    const gw = await start({ AUTH_MODE: 'none', KAFKA_CLIENT: 'platformatic' });
    expect(gw.logs.find((l) => l.msg === 'gateway listening')).toBeDefined();

    const produced = await request(
      gw.url,
      'POST',
      `/topics/${topic}`,
      { records: [{ key: 'k1', value: { n: 1 } }] },
      {
        'content-type': JSON_V2,
      },
    );
    expect(produced.status, produced.text).toBe(200);
    const { partition, offset } = produced.body.offsets[0];
    expect(offset).toBeGreaterThanOrEqual(0);
    const inKafka = await readAll(brokers, topic, 1);
    expect(inKafka.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([['"k1"', '{"n":1}']]);

    const ws = await WsClient.open(`${gw.url.replace('http', 'ws')}/ws`);
    try {
      await ws.subscribe({ id: 'a', mode: 'assign', partitions: [{ topic, partition }], from: { offset } });
      const record = await ws.waitFor((f) => f.type === 'record' && f.id === 'a', 30_000, 'the record');
      expect(record).toMatchObject({ topic, partition, offset, key: 'k1', value: { n: 1 } });
    } finally {
      await ws.close();
    }

    // lz4 and snappy batches: the library's WebAssembly codecs, which the bundle loads on first use
    // (scripts/bundle/lazy-wasm-utils.mjs).
    const lib = await import('@platformatic/kafka');
    const plt = new lib.Producer({
      clientId: 'bundle-codecs',
      bootstrapBrokers: brokers.split(','),
      autocreateTopics: false,
    });
    const codecTopic = uniqueTopic('bundle-codecs');
    await createTopic(brokers, codecTopic, 1);
    try {
      for (const compression of ['lz4', 'snappy'] as const)
        await plt.send({
          messages: [0, 1].map((i) => ({
            topic: codecTopic,
            partition: 0,
            value: Buffer.from(`${compression}-${i}`.repeat(50)),
          })),
          compression,
          acks: -1,
        });
    } finally {
      await plt.close();
    }
    const codecs = await WsClient.open(`${gw.url.replace('http', 'ws')}/ws`);
    try {
      await codecs.subscribe({
        id: 'c',
        mode: 'assign',
        partitions: [{ topic: codecTopic, partition: 0 }],
        from: { offset: 0 },
        format: 'string',
      });
      await codecs.until(() => codecs.records('c').length === 4, 30_000, 'the lz4 and snappy records');
      expect(codecs.records('c').map((r) => r.value)).toEqual(
        ['lz4-0', 'lz4-1', 'snappy-0', 'snappy-1'].map((v) => v.repeat(50)),
      );
    } finally {
      await codecs.close();
      await deleteTopics(brokers, [codecTopic]);
    }

    const created = await request(gw.url, 'POST', '/consumers/bundle-group', {
      format: 'json',
      'auto.offset.reset': 'earliest',
    });
    expect(created.status, created.text).toBe(200);
    const base = new URL(created.body.base_uri as string).pathname;
    expect((await request(gw.url, 'POST', `${base}/subscription`, { topics: [topic] })).status).toBe(204);
    let records: Array<{ key: unknown; value: unknown }> = [];
    for (let i = 0; i < 40 && records.length === 0; i++) {
      const r = await request(gw.url, 'GET', `${base}/records?timeout=1000`, undefined, { accept: JSON_V2 });
      expect(r.status, r.text).toBe(200);
      records = r.body;
    }
    expect(records.map((r) => [r.key, r.value])).toEqual([['k1', { n: 1 }]]);
    expect((await request(gw.url, 'DELETE', base)).status).toBe(204);

    // Late chunks and files found at run time.
    const get = async (p: string) => {
      const res = await fetch(`${gw.url}${p}`);
      return { status: res.status, text: await res.text() };
    };
    const yaml = await get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toMatch(/^openapi: 3\./m);
    const asyncapi = await get('/asyncapi.yaml');
    expect(asyncapi.status).toBe(200);
    expect(asyncapi.text).toMatch(/^asyncapi: /m);
    expect((await get('/docs')).status).toBe(200);
    const css = await get('/docs/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.text.length).toBeGreaterThan(1000);
    const ui = await get('/ui');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('<html');
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('process_resident_memory_bytes');
  }, 120_000);

  it('on kafkajs, with JWT and two workers: produces with a token and refuses without one', async () => {
    const gw = await start({ AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET, KAFKA_CLIENT: 'kafkajs', WORKERS: '2' });
    // /readyz answers once one worker listens; the other may still be starting (CI once saw only one).
    await waitFor('the primary to see both workers listening', () =>
      gw.logs.some((l) => l.msg === 'all workers listening'),
    );
    const token = await new SignJWT({ sub: 'bundle', kafka: { produce: [topic] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    // New connections: the cluster spreads them over both workers.
    for (let i = 0; i < 4; i++) {
      const r = await request(
        gw.url,
        'POST',
        `/topics/${topic}`,
        { records: [{ key: `w${i}`, value: i }] },
        {
          'content-type': JSON_V2,
          authorization: `Bearer ${token}`,
          connection: 'close',
        },
      );
      expect(r.status, r.text).toBe(200);
    }
    const refused = await request(
      gw.url,
      'POST',
      `/topics/${topic}`,
      { records: [{ value: 1 }] },
      {
        'content-type': JSON_V2,
      },
    );
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error_code: 40101 });
    const workers = new Set(gw.logs.filter((l) => l.msg === 'gateway listening').map((l) => l.worker));
    workers.delete(undefined);
    expect(workers.size).toBe(2);
    const keys = (await readAll(brokers, topic, 5)).map((r) => r.key?.toString());
    expect(keys).toEqual(expect.arrayContaining(['"w0"', '"w1"', '"w2"', '"w3"']));
  }, 120_000);
});
