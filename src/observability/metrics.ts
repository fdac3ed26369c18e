/**
 * Prometheus metrics, one registry per gateway (never prom-client's global one, so two gateways in one test
 * process do not clash), plus one shared registry for the process and Node.js runtime metrics. Everything else reports through the small typed `Metrics` object below and never
 * imports prom-client; `GET /metrics` renders the registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';

/** WebSocket session modes (docs/websocket.md). */
export type WsMode = 'group' | 'assign' | 'broadcast';

/** One partition's lag for a consumer group the gateway runs (WebSocket group sessions). */
export interface ConsumerLag {
  group: string;
  topic: string;
  partition: number;
  /** High watermark minus the group's committed offset (records). */
  lag: number;
}

/**
 * Asked at each scrape: the lag of the groups this process runs right now. Answer from state the consumers
 * already hold (or a short cache); a slow provider slows every scrape. A rejection is logged and the scrape
 * goes on without lag series.
 */
export type ConsumerLagProvider = () => readonly ConsumerLag[] | Promise<readonly ConsumerLag[]>;

/** Live values read at scrape time. */
export interface KafkaGauges {
  /** The cluster answers and the producer is connected. */
  up(): boolean;
  /** Bytes of records accepted but not yet answered by Kafka. */
  inflightBytes(): number;
}

/** The v2 HTTP consumer instances this process holds, read at scrape time. */
export interface ConsumerGauges {
  /** Instances held here. */
  instances(): number;
  /** `GET records` calls waiting for records right now (long polls). */
  pollsWaiting(): number;
}

export interface MetricsOptions {
  /**
   * Topics that get their own `topic` label value; later topics are counted under `(other)` (a value no
   * topic can have) so a gateway in front of thousands of topics keeps a bounded series count. 0 = no
   * per-topic series at all (everything under `(other)`).
   */
  maxTopicLabels?: number;
  /** Process and Node.js runtime metrics (CPU, RSS, heap, GC, event-loop lag). */
  defaultMetrics?: boolean;
  /** Event-loop delay sampling resolution in ms (perf_hooks.monitorEventLoopDelay). */
  eventLoopPrecisionMs?: number;
  /** Told when the consumer-lag provider fails. */
  logger?: Logger;
}

export const DEFAULT_MAX_TOPIC_LABELS = 100;
export const DEFAULT_EVENT_LOOP_PRECISION_MS = 10;
/** The `topic` label value for topics past `maxTopicLabels`; parentheses are illegal in topic names. */
export const OTHER_TOPIC = '(other)';

const HTTP_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_RECORD_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000];

export interface Metrics {
  /** This gateway's own series (the process metrics live in a shared registry; `render()` includes both). */
  readonly registry: Registry;
  /** Content-Type of `render()`'s output. */
  readonly contentType: string;
  render(): Promise<string>;
  /**
   * Every series of this process (the shared process metrics included) as plain data, for a pod of several
   * worker processes to merge (src/observability/pod-metrics.ts).
   */
  snapshot(): Promise<unknown[]>;

  /** One finished HTTP request; `route` is the route template (`/topics/:topic`), never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;

  /** Records Kafka acknowledged for a topic, with their key+value+header bytes. */
  produced(topic: string, records: number, bytes: number): void;
  /** Records that failed at Kafka, by the error_code reported to the client (50002, 50003). */
  produceErrors(code: number, records: number): void;
  /** Time from handing records to the producer until Kafka answered all of them. */
  produceDuration(seconds: number): void;
  /** One sendBatch to Kafka: how many records the producer gathered (the batching effect). */
  produceBatch(records: number): void;
  /** Read `up` and in-flight bytes from this source at each scrape. */
  watchKafka(source: KafkaGauges): void;
  /** Read the HTTP consumer gauges from this source at each scrape. */
  watchConsumers(source: ConsumerGauges): void;

  wsSocketOpened(): void;
  wsSocketClosed(): void;
  wsSubscribed(mode: WsMode): void;
  wsUnsubscribed(mode: WsMode): void;
  wsDelivered(mode: WsMode, records?: number): void;
  /** Set (or clear with undefined) where consumer lag comes from. */
  setConsumerLagProvider(provider: ConsumerLagProvider | undefined): void;
}

export function createMetrics({
  maxTopicLabels = DEFAULT_MAX_TOPIC_LABELS,
  defaultMetrics = true,
  eventLoopPrecisionMs = DEFAULT_EVENT_LOOP_PRECISION_MS,
  logger,
}: MetricsOptions = {}): Metrics {
  if (!Number.isSafeInteger(maxTopicLabels) || maxTopicLabels < 0)
    throw new TypeError('createMetrics: `maxTopicLabels` must be a whole number ≥ 0');
  if (!Number.isSafeInteger(eventLoopPrecisionMs) || eventLoopPrecisionMs < 1)
    throw new TypeError('createMetrics: `eventLoopPrecisionMs` must be a whole number ≥ 1');

  const registry = new Registry();
  const shared = defaultMetrics ? processRegistry(eventLoopPrecisionMs) : undefined;
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request reaching the app to the response being ready, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers,
  });

  const recordsProduced = new Counter({
    name: 'kafka_gateway_records_produced_total',
    help: `Records acknowledged by Kafka, by topic (the first ${maxTopicLabels} topics seen; later ones as "${OTHER_TOPIC}").`,
    labelNames: ['topic'] as const,
    registers,
  });
  const producedBytes = new Counter({
    name: 'kafka_gateway_produced_bytes_total',
    help: 'Key, value and header bytes of records acknowledged by Kafka.',
    registers,
  });
  const produceErrorsTotal = new Counter({
    name: 'kafka_gateway_produce_errors_total',
    help: 'Records that failed at Kafka, by the error_code returned to the client (50002 Kafka error, 50003 retriable or timed out).',
    labelNames: ['code'] as const,
    registers,
  });
  const produceSeconds = new Histogram({
    name: 'kafka_gateway_produce_duration_seconds',
    help: 'Time from a request handing its records to the producer until Kafka answered all of them.',
    buckets: HTTP_SECONDS_BUCKETS,
    registers,
  });
  const batchRecords = new Histogram({
    name: 'kafka_gateway_produce_batch_records',
    help: 'Records per sendBatch to Kafka (concurrent requests gathered into one batch).',
    buckets: BATCH_RECORD_BUCKETS,
    registers,
  });

  let kafkaSource: KafkaGauges | undefined;
  new Gauge({
    name: 'kafka_gateway_inflight_produce_bytes',
    help: 'Bytes of records accepted but not yet answered by Kafka (limit: MAX_INFLIGHT_PRODUCE_BYTES).',
    registers,
    collect() {
      this.set(kafkaSource?.inflightBytes() ?? 0);
    },
  });
  new Gauge({
    name: 'kafka_gateway_kafka_up',
    help: '1 when the Kafka cluster answers and the producer is connected, else 0.',
    registers,
    // Over several workers: 1 only when every one of them is up.
    aggregator: 'min',
    collect() {
      this.set(kafkaSource?.up() ? 1 : 0);
    },
  });

  const wsSockets = new Gauge({
    name: 'kafka_gateway_ws_open_sockets',
    help: 'Open WebSocket connections.',
    registers,
  });
  const wsSubscriptions = new Gauge({
    name: 'kafka_gateway_ws_subscriptions',
    help: 'Active WebSocket subscriptions by mode.',
    labelNames: ['mode'] as const,
    registers,
  });
  const wsDelivered = new Counter({
    name: 'kafka_gateway_ws_records_delivered_total',
    help: 'Records sent to WebSocket clients by mode.',
    labelNames: ['mode'] as const,
    registers,
  });
  for (const mode of ['group', 'assign', 'broadcast'] as const) {
    wsSubscriptions.set({ mode }, 0);
    wsDelivered.inc({ mode }, 0);
  }

  let consumerSource: ConsumerGauges | undefined;
  new Gauge({
    name: 'kafka_gateway_consumer_instances',
    help: 'v2 HTTP consumer instances held (limit: CONSUMER_MAX_INSTANCES).',
    registers,
    collect() {
      this.set(consumerSource?.instances() ?? 0);
    },
  });
  new Gauge({
    name: 'kafka_gateway_consumer_polls_waiting',
    help: 'GET records calls of v2 HTTP consumers waiting for records (long polls) right now.',
    registers,
    collect() {
      this.set(consumerSource?.pollsWaiting() ?? 0);
    },
  });

  let lagProvider: ConsumerLagProvider | undefined;
  new Gauge({
    name: 'kafka_gateway_consumer_lag',
    help: "Records behind the high watermark, per consumer group the gateway runs and partition (the group's committed offset).",
    labelNames: ['group', 'topic', 'partition'] as const,
    registers,
    // The lag is the group's, not the process's: workers running members of one group report the same number.
    aggregator: 'max',
    async collect() {
      this.reset();
      if (!lagProvider) return;
      try {
        for (const l of await lagProvider())
          this.set({ group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag);
      } catch (e) {
        logger?.warn({ err: e }, 'consumer lag provider failed; scrape without lag');
      }
    },
  });

  const topicLabel = topicLabeler(maxTopicLabels);

  return {
    registry,
    contentType: registry.contentType,
    render: async () => (shared ? (await shared.metrics()) + (await registry.metrics()) : registry.metrics()),
    snapshot: async () => [...(shared ? await shared.getMetricsAsJSON() : []), ...(await registry.getMetricsAsJSON())],
    httpRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    produced(topic, records, bytes) {
      if (records > 0) recordsProduced.inc({ topic: topicLabel(topic) }, records);
      if (bytes > 0) producedBytes.inc(bytes);
    },
    produceErrors(code, records) {
      if (records > 0) produceErrorsTotal.inc({ code: String(code) }, records);
    },
    produceDuration: (seconds) => produceSeconds.observe(seconds),
    produceBatch: (records) => batchRecords.observe(records),
    watchKafka(source) {
      kafkaSource = source;
    },
    watchConsumers(source) {
      consumerSource = source;
    },
    wsSocketOpened: () => wsSockets.inc(),
    wsSocketClosed: () => wsSockets.dec(),
    wsSubscribed: (mode) => wsSubscriptions.inc({ mode }),
    wsUnsubscribed: (mode) => wsSubscriptions.dec({ mode }),
    wsDelivered: (mode, records = 1) => wsDelivered.inc({ mode }, records),
    setConsumerLagProvider(provider) {
      lagProvider = provider;
    },
  };
}

// Process and runtime metrics describe the process, not a gateway: one registry for them per process, shared by
// every gateway in it (their collectors, e.g. the event-loop delay monitor, cannot be stopped once started).
let processMetrics: Registry | undefined;
function processRegistry(eventLoopPrecisionMs: number): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, eventLoopMonitoringPrecision: eventLoopPrecisionMs });
  }
  return processMetrics;
}

/** The first `max` topics keep their name as the label value; the rest share OTHER_TOPIC. */
export function topicLabeler(max: number): (topic: string) => string {
  const named = new Set<string>();
  return function topicLabel(topic) {
    if (named.has(topic)) return topic;
    if (named.size >= max) return OTHER_TOPIC;
    named.add(topic);
    return topic;
  };
}
