/**
 * Wraps our Producer interface (never kafkajs) to count what Kafka acknowledged and, when tracing is on, to
 * give each produce call a PRODUCER span whose W3C trace context (`traceparent`, `tracestate`) rides in every
 * record's headers, so consumers can continue the trace.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { ProduceRecord, Producer, RecordHeader, RecordResult } from '../kafka/index.js';
import type { Metrics } from './metrics.js';

export interface InstrumentOptions {
  metrics?: Metrics | undefined;
  /** Set only when tracing is on: without it no record is copied and no header is added. */
  tracer?: Tracer | undefined;
}

/** The header that marks a record as already carrying trace context (the caller's own is kept as sent). */
export const TRACEPARENT = 'traceparent';

export function instrumentProducer(inner: Producer, { metrics, tracer }: InstrumentOptions): Producer {
  if (!metrics && !tracer) return inner;
  return {
    get inflightBytes() {
      return inner.inflightBytes;
    },
    flush: () => inner.flush(),
    async send(topic: string, records: ProduceRecord[]): Promise<RecordResult[]> {
      const span = tracer?.startSpan(`send ${topic}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': topic,
          'messaging.batch.message_count': records.length,
        },
      });
      const sent = span ? withTraceHeaders(records, trace.setSpan(context.active(), span)) : records;
      const start = performance.now();
      const results = await inner.send(topic, sent);
      if (metrics) count(metrics, topic, sent, results, (performance.now() - start) / 1000);
      if (span) {
        const failed = results.find((r) => !r.ok);
        if (failed && !failed.ok) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: failed.message });
          span.setAttribute('error.type', String(failed.errorCode));
        }
        span.end();
      }
      return results;
    },
  };
}

function count(
  metrics: Metrics,
  topic: string,
  records: ProduceRecord[],
  results: RecordResult[],
  seconds: number,
): void {
  let ok = 0;
  let bytes = 0;
  let errors: Map<number, number> | undefined;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.ok) {
      ok++;
      bytes += payloadBytes(records[i]!);
    } else {
      errors ??= new Map();
      errors.set(r.errorCode, (errors.get(r.errorCode) ?? 0) + 1);
    }
  }
  metrics.produced(topic, ok, bytes);
  if (errors) for (const [code, n] of errors) metrics.produceErrors(code, n);
  metrics.produceDuration(seconds);
}

/** Key, value and header bytes (what the client sent, without Kafka's framing). */
export function payloadBytes(r: ProduceRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const h of r.headers) n += Buffer.byteLength(h.name) + (h.value?.length ?? 0);
  return n;
}

/**
 * Copies of the records with the span's propagation headers appended (the same Buffers for every record).
 * A record that already has a `traceparent` header is passed through untouched: its producer chose its trace.
 */
export function withTraceHeaders(records: ProduceRecord[], ctx: ReturnType<typeof context.active>): ProduceRecord[] {
  const injected: RecordHeader[] = [];
  propagation.inject(ctx, injected, {
    set(carrier, key, value) {
      carrier.push({ name: key, value: Buffer.from(value, 'latin1') });
    },
  });
  if (injected.length === 0) return records;
  return records.map((r) =>
    r.headers?.some((h) => h.name === TRACEPARENT)
      ? r
      : { ...r, headers: r.headers ? [...r.headers, ...injected] : injected },
  );
}
