// Tracing with an in-memory exporter: a PRODUCER span per produce call, its W3C trace context written into every
// record's headers, parented to the HTTP request's SERVER span, which continues the caller's traceparent.
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProduceRecord, Producer, RecordResult } from '../../../src/kafka/index.js';
import { instrumentProducer } from '../../../src/observability/instrument-producer.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { startTracing, tracingSettings, type Tracing } from '../../../src/observability/tracing.js';
import { tracingMiddleware } from '../../../src/http/tracing-middleware.js';
import type { AppEnv } from '../../../src/http/deps.js';

/** Remembers what it was asked to send; every record gets offset = its index. */
class FakeProducer implements Producer {
  sent: { topic: string; records: ProduceRecord[] }[] = [];
  inflightBytes = 0;
  async send(topic: string, records: ProduceRecord[]): Promise<RecordResult[]> {
    this.sent.push({ topic, records });
    return records.map((r, i) => ({ ok: true, partition: r.partition, offset: i }));
  }
  async flush() {}
}

const rec = (value: string, headers?: ProduceRecord['headers']): ProduceRecord => ({
  key: null,
  value: Buffer.from(value),
  partition: 0,
  ...(headers ? { headers } : {}),
});
const header = (r: ProduceRecord, name: string) => r.headers?.find((h) => h.name === name)?.value?.toString('latin1');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('tracing settings (standard OTEL_* variables)', () => {
  it('is off unless an OTLP endpoint is set (or the console exporter is asked for)', () => {
    expect(tracingSettings({}).enabled).toBe(false);
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled).toBe(true);
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).enabled).toBe(
      true,
    );
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ enabled: true, exporter: 'console' });
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled,
    ).toBe(false);
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(
      false,
    );
  });
  it('refuses bad values at start-up, naming the variable', () => {
    expect(() => tracingSettings({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => tracingSettings({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
  it('starts nothing when off', async () => {
    const t = await startTracing(tracingSettings({}), silentLogger);
    expect(t.enabled).toBe(false);
  });
});

describe('trace context in produced records', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(async () => {
    tracing = await startTracing({ ...tracingSettings({}), enabled: true }, silentLogger, { exporter });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('writes the produce span’s traceparent into every record, under the active span', async () => {
    const inner = new FakeProducer();
    const producer = instrumentProducer(inner, { tracer: tracing.tracer });
    const input = [rec('a'), rec('b', [{ name: 'x', value: Buffer.from('1') }])];
    await trace.getTracer('t').startActiveSpan('request', async (req) => {
      await producer.send('orders', input);
      req.end();
    });

    const spans = exporter.getFinishedSpans();
    const send = spans.find((s) => s.name === 'send orders')!;
    const request = spans.find((s) => s.name === 'request')!;
    expect(send).toBeDefined();
    expect(send.kind).toBe(3); // SpanKind.PRODUCER
    expect(send.attributes['messaging.destination.name']).toBe('orders');
    expect(send.attributes['messaging.batch.message_count']).toBe(2);
    expect(send.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);

    const sent = inner.sent[0]!.records;
    for (const r of sent) {
      const m = TRACEPARENT.exec(header(r, 'traceparent') ?? '');
      expect(m).not.toBeNull();
      expect(m![1]).toBe(send.spanContext().traceId);
      expect(m![2]).toBe(send.spanContext().spanId);
    }
    expect(header(sent[1]!, 'x')).toBe('1'); // the caller's headers stay, in order, before ours
    expect(sent[1]!.headers![0]!.name).toBe('x');
    expect(input[0]!.headers).toBeUndefined(); // the caller's records are not modified
  });

  it('keeps a traceparent the record already carries', async () => {
    const inner = new FakeProducer();
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await instrumentProducer(inner, { tracer: tracing.tracer }).send('t', [
      rec('a', [{ name: 'traceparent', value: Buffer.from(own) }]),
    ]);
    const r = inner.sent[0]!.records[0]!;
    expect(r.headers!.filter((h) => h.name === 'traceparent').map((h) => h.value!.toString())).toEqual([own]);
  });

  it('continues the caller’s traceparent: HTTP SERVER span → produce span → record header', async () => {
    const inner = new FakeProducer();
    const producer = instrumentProducer(inner, { tracer: tracing.tracer });
    const app = new Hono<AppEnv>();
    app.use(tracingMiddleware(tracing.tracer));
    app.post('/topics/:topic', async (c) => {
      await producer.send(c.req.param('topic'), [rec('v')]);
      return c.json({ ok: true });
    });
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await app.request('/topics/orders-eu?access_token=secret', {
      method: 'POST',
      headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    });
    expect(res.status).toBe(200);

    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'POST /topics/:topic')!;
    const send = spans.find((s) => s.name === 'send orders-eu')!;
    expect(server.kind).toBe(1); // SpanKind.SERVER
    expect(server.spanContext().traceId).toBe(callerTrace);
    expect(server.parentSpanContext?.spanId).toBe(callerSpan);
    expect(server.attributes['http.route']).toBe('/topics/:topic');
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(JSON.stringify(server.attributes)).not.toContain('secret');
    expect(send.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    const tp = header(inner.sent[0]!.records[0]!, 'traceparent')!;
    expect(tp).toBe(`00-${callerTrace}-${send.spanContext().spanId}-01`);
  });
});

describe('without tracing', () => {
  it('passes the records through untouched (no copy, no header)', async () => {
    const inner = new FakeProducer();
    const input = [rec('a')];
    await instrumentProducer(inner, {}).send('t', input);
    expect(inner.sent[0]!.records).toBe(input);
  });
});
