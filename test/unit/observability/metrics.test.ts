// The metrics object and the HTTP middleware, in-process: bounded topic labels, route templates as labels,
// and separate registries per gateway.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../../src/http/deps.js';
import { metricsMiddleware } from '../../../src/http/metrics-middleware.js';
import { createMetrics, OTHER_TOPIC, topicLabeler } from '../../../src/observability/metrics.js';

describe('topic labels', () => {
  it('gives the first N topics their own label and counts the rest under (other)', () => {
    const label = topicLabeler(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map(label)).toEqual(['a', 'b', OTHER_TOPIC, 'a', OTHER_TOPIC, 'b']);
    expect(topicLabeler(0)('a')).toBe(OTHER_TOPIC);
  });

  it('keeps the series count bounded whatever the number of topics', async () => {
    const m = createMetrics({ defaultMetrics: false, maxTopicLabels: 3 });
    for (let i = 0; i < 50; i++) m.produced(`topic-${i}`, 2, 10);
    const text = await m.render();
    const series = text.split('\n').filter((l) => l.startsWith('kafka_gateway_records_produced_total{'));
    expect(series).toHaveLength(4);
    expect(text).toContain(`kafka_gateway_records_produced_total{topic="${OTHER_TOPIC}"} 94`);
    expect(text).toContain('kafka_gateway_produced_bytes_total 500');
  });

  it('refuses bad options at construction', () => {
    expect(() => createMetrics({ maxTopicLabels: -1 })).toThrow(/maxTopicLabels/);
    expect(() => createMetrics({ eventLoopPrecisionMs: 0 })).toThrow(/eventLoopPrecisionMs/);
  });
});

describe('metrics object', () => {
  it('counts WebSocket sockets, subscriptions and deliveries by mode, and produce errors by code', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.wsSocketOpened();
    m.wsSocketOpened();
    m.wsSocketClosed();
    m.wsSubscribed('group');
    m.wsDelivered('group', 5);
    m.wsDelivered('broadcast');
    m.produceErrors(50003, 2);
    m.produceBatch(100);
    m.watchKafka({ up: () => true, inflightBytes: () => 1234 });
    m.watchConsumers({ instances: () => 3, pollsWaiting: () => 2 });
    const text = await m.render();
    expect(text).toContain('kafka_gateway_ws_open_sockets 1');
    expect(text).toContain('kafka_gateway_ws_subscriptions{mode="group"} 1');
    expect(text).toContain('kafka_gateway_ws_subscriptions{mode="assign"} 0');
    expect(text).toContain('kafka_gateway_ws_records_delivered_total{mode="group"} 5');
    expect(text).toContain('kafka_gateway_ws_records_delivered_total{mode="broadcast"} 1');
    expect(text).toContain('kafka_gateway_produce_errors_total{code="50003"} 2');
    expect(text).toContain('kafka_gateway_produce_batch_records_bucket{le="100"} 1');
    expect(text).toContain('kafka_gateway_kafka_up 1');
    expect(text).toContain('kafka_gateway_inflight_produce_bytes 1234');
    expect(text).toContain('kafka_gateway_consumer_instances 3');
    expect(text).toContain('kafka_gateway_consumer_polls_waiting 2');
  });

  it('survives a failing consumer-lag provider', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.setConsumerLagProvider(async () => {
      throw new Error('admin down');
    });
    expect(await m.render()).toContain('# TYPE kafka_gateway_consumer_lag gauge');
  });

  it('uses a registry per instance (two gateways in one process do not clash)', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.produced('t', 3, 3);
    expect(await b.render()).not.toContain('kafka_gateway_records_produced_total{topic="t"}');
    expect(await a.render()).toContain('process_cpu_seconds_total');
  });
});

describe('metrics middleware', () => {
  it('labels requests by route template, and unmatched ones as /*', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const app = new Hono<AppEnv>();
    app.use(metricsMiddleware(m));
    app.post('/topics/:topic', (c) => c.json({}));
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.onError((_e, c) => c.text('failed', 500));
    await app.request('/topics/secret-topic-name', { method: 'POST' });
    await app.request('/topics/another', { method: 'POST' });
    await app.request('/nowhere');
    await app.request('/boom');
    const text = await m.render();
    expect(text).toContain('http_requests_total{method="POST",route="/topics/:topic",status="200"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="/*",status="404"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/boom",status="500"} 1');
    expect(text).not.toContain('secret-topic-name');
    expect(text).toContain('http_request_duration_seconds_count{method="POST",route="/topics/:topic"} 2');
  });
});
