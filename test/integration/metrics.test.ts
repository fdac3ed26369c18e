// /metrics against the real broker: after real produce requests the counters hold the right values, labelled by
// route template (never a raw topic path), and two gateways in one process keep separate registries.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { createTopic, uniqueTopic } from '../helpers/kafka.js';
import { testKafkaClientEnv } from '../helpers/gateway.js';

const JSON_V2 = 'application/vnd.kafka.json.v2+json';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format 0.0.4 (enough for our own output: no escaped quotes in label values). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

async function start(): Promise<Gateway> {
  const gw = await startGateway(
    loadConfig({
      KAFKA_BROKERS: inject('kafkaBrokers'),
      PORT: '0',
      HOST: '127.0.0.1',
      ...testKafkaClientEnv(),
      AUTH_MODE: 'none',
      LOG_LEVEL: 'silent',
    }),
  );
  if (!gw.kafka.ready()) await once(gw.kafka.availability, 'up', { signal: AbortSignal.timeout(30_000) });
  return gw;
}

async function scrape(gw: Gateway): Promise<{ samples: Sample[]; text: string; contentType: string | null }> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { samples: parseMetrics(text), text, contentType: res.headers.get('content-type') };
}

function produce(gw: Gateway, path: string, records: unknown[]): Promise<Response> {
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': JSON_V2 },
    body: JSON.stringify({ records }),
  });
}

describe('/metrics', () => {
  const brokers = inject('kafkaBrokers');
  const topic = uniqueTopic('metrics');
  let gw: Gateway;
  let other: Gateway | undefined;

  beforeAll(async () => {
    await createTopic(brokers, topic, 3);
    gw = await start();
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), other?.close()]);
  });

  it('counts produce requests, records and bytes by route template after real produces', async () => {
    const requests = 5;
    const perRequest = 4;
    const value = { n: 1, s: 'xx' }; // {"n":1,"s":"xx"} = 16 bytes
    const valueBytes = Buffer.byteLength(JSON.stringify(value));
    for (let i = 0; i < requests; i++) {
      const res = await produce(
        gw,
        `/topics/${topic}`,
        Array.from({ length: perRequest }, () => ({ value })),
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { offsets: { error_code: number | null }[] };
      expect(body.offsets.every((o) => o.error_code === null)).toBe(true);
    }
    const keyed = await produce(gw, `/topics/${topic}/partitions/1`, [{ key: 'k', value }]);
    expect(keyed.status).toBe(200);
    const missing = await produce(gw, `/topics/${uniqueTopic('no-such-topic')}`, [{ value }]);
    expect(missing.status).toBe(404);
    expect((await fetch(`${gw.url}/no/such/path`)).status).toBe(404);
    // Block this process's event loop (the gateway runs in it) for 150 ms; the overdue delay monitor then records it.
    const blockUntil = performance.now() + 150;
    while (performance.now() < blockUntil);
    await new Promise((r) => setTimeout(r, 0));

    const { samples, text, contentType } = await scrape(gw);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(metric(samples, 'http_requests_total', { method: 'POST', route: '/topics/:topic', status: '200' })).toBe(
      requests,
    );
    expect(
      metric(samples, 'http_requests_total', {
        method: 'POST',
        route: '/topics/:topic/partitions/:partition',
        status: '200',
      }),
    ).toBe(1);
    expect(metric(samples, 'http_requests_total', { method: 'POST', route: '/topics/:topic', status: '404' })).toBe(1);
    expect(metric(samples, 'http_requests_total', { method: 'GET', route: '/*', status: '404' })).toBe(1);
    expect(metric(samples, 'http_request_duration_seconds_count', { method: 'POST', route: '/topics/:topic' })).toBe(
      requests + 1,
    );
    // Route labels are templates: no topic name and no raw path ever appears in them.
    const routes = new Set(samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route));
    for (const r of routes) expect(r === '/*' || r!.startsWith('/')).toBe(true);
    expect([...routes].some((r) => r!.includes(topic) || r!.includes('no-such-topic') || r!.includes('/no/such'))).toBe(
      false,
    );

    const records = requests * perRequest + 1;
    expect(metric(samples, 'kafka_gateway_records_produced_total', { topic })).toBe(records);
    expect(metric(samples, 'kafka_gateway_produced_bytes_total')).toBe(records * valueBytes + Buffer.byteLength('"k"'));
    expect(metric(samples, 'kafka_gateway_produce_duration_seconds_count')).toBe(requests + 1);
    expect(metric(samples, 'kafka_gateway_produce_batch_records_sum')).toBe(records);
    const batches = metric(samples, 'kafka_gateway_produce_batch_records_count')!;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(requests + 1);
    expect(text).not.toMatch(/kafka_gateway_produce_errors_total\{/);

    expect(metric(samples, 'kafka_gateway_kafka_up')).toBe(1);
    expect(metric(samples, 'kafka_gateway_inflight_produce_bytes')).toBe(0);
    expect(metric(samples, 'kafka_gateway_ws_open_sockets')).toBe(0);
    expect(metric(samples, 'kafka_gateway_ws_subscriptions', { mode: 'broadcast' })).toBe(0);
    // Process metrics and event-loop lag from prom-client's default collectors.
    expect(metric(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metric(samples, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.1);
  });

  it('keeps a registry per gateway: a second gateway in the same process starts from zero', async () => {
    other = await start();
    const res = await produce(other, `/topics/${topic}`, [{ value: 'one' }]);
    expect(res.status).toBe(200);
    const mine = (await scrape(other)).samples;
    expect(metric(mine, 'kafka_gateway_records_produced_total', { topic })).toBe(1);
    expect(metric(mine, 'http_requests_total', { method: 'POST', route: '/topics/:topic', status: '200' })).toBe(1);
    const first = (await scrape(gw)).samples;
    expect(metric(first, 'kafka_gateway_records_produced_total', { topic })).toBe(21);
  });

  it('reports consumer lag from the provider the WebSocket side registers', async () => {
    gw.metrics.setConsumerLagProvider(() => [{ group: 'g1', topic, partition: 2, lag: 7 }]);
    const { samples } = await scrape(gw);
    expect(metric(samples, 'kafka_gateway_consumer_lag', { group: 'g1', topic, partition: '2' })).toBe(7);
    gw.metrics.setConsumerLagProvider(undefined);
    expect((await scrape(gw)).samples.some((s) => s.name === 'kafka_gateway_consumer_lag')).toBe(false);
  });
});
