/**
 * Starts the gateway: config → logger → Kafka → hono app → node HTTP(S) server with deliberate limits, and
 * graceful shutdown. Used by main.ts (production) and by tests that want a real listening gateway.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createKafkaGateway, type KafkaGateway, type KafkaGatewayOptions } from './kafka/index.js';
import { buildApp } from './app.js';
import { createRateLimiter } from './auth/rate-limit.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { instrumentProducer } from './observability/instrument-producer.js';
import { startTracing, tracingSettings, type Tracing } from './observability/tracing.js';
import { attachWebSocket, upgradeAuth, type WebSocketGateway } from './ws/server.js';
import { clientErrorHandler, lingerOnEarlyAnswer } from './http/linger.js';
import { continueWhenRead } from './http/expect-continue.js';
import { InstanceRegistry } from './consumers/registry.js';
import type { WorkerLink } from './cluster/worker.js';
import { podMetrics } from './observability/pod-metrics.js';

export interface Gateway {
  server: Server;
  url: string;
  port: number;
  kafka: KafkaGateway;
  logger: Logger;
  /** This gateway's Prometheus registry and the counters WebSocket sessions report to. */
  metrics: Metrics;
  tracing: Tracing;
  /** The `/ws` door: stats() for tests and diagnostics. */
  ws: WebSocketGateway;
  /** Graceful: readiness off, stop accepting, finish in-flight requests, flush, disconnect. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  kafka?: KafkaGatewayOptions;
  /** Set when this process is one of WORKERS > 1 (src/cluster/worker.ts): siblings, pod metrics, a loopback door. */
  worker?: WorkerLink;
}

/** Names the worker that answered (WORKERS > 1): which process served a call, for operators and tests. */
export const WORKER_HEADER = 'kgw-worker';

export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config);
  if (config.AUTH_MODE === 'none')
    logger.warn(
      'AUTH_MODE=none: every caller may produce, read and administer every topic. Use AUTH_MODE=jwt in production.',
    );
  const metrics = createMetrics({ logger });
  // Tracing follows the standard OTEL_* variables (off unless an OTLP endpoint is set).
  const tracing = await startTracing(tracingSettings(process.env), logger);
  const kafka = instrumentKafka(
    createKafkaGateway(config, logger, { ...options.kafka, onBatch: metrics.produceBatch }),
    metrics,
    tracing,
  );
  metrics.watchKafka({ up: () => kafka.ready(), inflightBytes: () => kafka.producer.inflightBytes });
  let accepting = true;
  // Built once at start-up: a bad key or secret stops the process here, never at the first request. Loaded only
  // for AUTH_MODE=jwt: jose is ~1 MiB of heap an unauthenticated gateway never uses (docs/performance.md, M1).
  const verifier =
    config.AUTH_MODE === 'jwt' ? (await import('./auth/jwt.js')).createTokenVerifier(config, logger) : null;
  const rateLimiter =
    config.RATE_LIMIT_RECORDS_PER_S > 0
      ? createRateLimiter({ recordsPerS: config.RATE_LIMIT_RECORDS_PER_S })
      : undefined;
  const consumerInstances = new InstanceRegistry(kafka, config, logger.child({ component: 'http-consumers' }));
  metrics.watchConsumers({
    instances: () => consumerInstances.size,
    pollsWaiting: () => consumerInstances.pollsWaiting(),
  });
  const worker = options.worker;
  // A worker answers /metrics for the whole pod; the primary collects every worker's series for it.
  worker?.onCollect(async () => [await metrics.snapshot()]);
  const app = buildApp({
    consumerInstances,
    config,
    kafka,
    logger,
    accepting: () => accepting,
    metrics: worker ? podMetrics(metrics, () => worker.scrape()) : metrics,
    tracing,
    verifier,
    ...(rateLimiter ? { rateLimiter } : {}),
    ...(worker ? { siblings: worker.siblings } : {}),
  });

  // server.close() closes only idle keep-alive connections: a busy one would carry new requests until
  // SHUTDOWN_TIMEOUT_MS and then be cut, maybe mid-request. So once closing, every response that has not started
  // (those of requests in flight included) says `Connection: close`: each connection ends with the answer it owes.
  const unanswered = new Set<ServerResponse>();
  const handle = getRequestListener(app.fetch);
  // An answer given before the body is in (a refusal) must still reach the client: see src/http/linger.ts.
  const drainLimits = { maxBytes: config.REFUSAL_DRAIN_BYTES, maxMs: config.REFUSAL_DRAIN_MS };
  const workerId = worker ? String(worker.id) : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (workerId) res.setHeader(WORKER_HEADER, workerId);
    lingerOnEarlyAnswer(req, res, drainLimits);
    if (!accepting) res.shouldKeepAlive = false;
    else {
      unanswered.add(res);
      res.once('close', () => unanswered.delete(res));
    }
    return handle(req, res);
  };
  // Limits set deliberately (docs/security.md "Limits on every input"): slow clients cannot hold the server.
  const headersTimeout = Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS);
  const limits = {
    maxHeaderSize: config.MAX_HEADER_BYTES,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    headersTimeout,
    // Node checks both timeouts only this often (default 30 s, which would let a slow-loris client stay twice as long).
    connectionsCheckingInterval: Math.min(1000, headersTimeout),
  };
  const server: Server =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? createHttpsServer(
          { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), ...limits },
          listener,
        )
      : createHttpServer(limits, listener);
  server.keepAliveTimeout = config.KEEP_ALIVE_TIMEOUT_MS;
  server.maxHeadersCount = 100;
  // 431 (headers over MAX_HEADER_BYTES), 400 (unparsable), 408 (too slow): a whole JSON answer, then a drained close.
  server.on('clientError', clientErrorHandler(drainLimits, config.MAX_HEADER_BYTES));
  // `Expect: 100-continue`: 100 only once the app reads the body, so an early refusal is the answer instead.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    continueWhenRead(req, res);
    listener(req, res);
  });

  // Connect, then listen: the process takes connections only once its first probe of Kafka concluded (reachable or
  // not; the probe gives up after 10 s). Until then it could only refuse what needs Kafka (503 "no broker reachable")
  // without having asked a broker. A balancer tries a refused connection on another replica (nginx does by default)
  // but passes a 503 on to the client; and with WORKERS > 1 the primary hands connections to any listening worker,
  // while a sibling may answer the pod's /readyz (docs/observability.md, "Start-up").
  await kafka.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // A worker's second door, for its siblings only: loopback, a port of its own (`exclusive`: not the cluster's
  // shared one), told to the siblings through the primary. Siblings reach the worker that holds a consumer instance
  // through it; clients never learn it.
  let siblingDoor: Server | undefined;
  if (worker) {
    const door = createHttpServer(limits, listener);
    siblingDoor = door;
    door.keepAliveTimeout = config.KEEP_ALIVE_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      door.once('error', reject);
      door.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        door.off('error', reject);
        resolve();
      });
    });
    worker.ready(`http://127.0.0.1:${(door.address() as AddressInfo).port}`);
  }
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ws = attachWebSocket(server, {
    config,
    kafka,
    logger,
    metrics,
    httpFallback: listener,
    maxBodyBytes: config.MAX_BODY_BYTES,
    ...upgradeAuth(verifier, config),
  });

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= (async () => {
      accepting = false;
      consumerInstances.interrupt();
      for (const res of unanswered) {
        if (!res.headersSent) res.shouldKeepAlive = false;
        else {
          // Already answering (headers out): end the connection once this answer is complete.
          const socket = res.socket;
          res.once('finish', () => socket?.end());
        }
      }
      unanswered.clear();
      const deadline = new Promise<void>((r) => setTimeout(r, config.SHUTDOWN_TIMEOUT_MS).unref());
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Siblings may still forward to this worker's consumer instances until they are closed below.
      const siblingDoorStopped = siblingDoor
        ? new Promise<void>((resolve) => siblingDoor.close(() => resolve()))
        : Promise.resolve();
      // WebSockets: commit acknowledged offsets, close 1001, leave groups (upgraded sockets also hold `stopped`).
      await Promise.race([Promise.all([stopped, kafka.producer.flush(), ws.close()]), deadline]);
      server.closeAllConnections();
      // HTTP consumer instances commit what auto-commit owes and leave their groups before Kafka closes.
      await Promise.race([consumerInstances.close(), deadline]);
      siblingDoor?.closeAllConnections();
      await Promise.race([siblingDoorStopped, deadline]);
      await Promise.race([kafka.close(), deadline]);
      await Promise.race([tracing.shutdown(), deadline]);
    })();
    return closing;
  }

  return { server, url, port, kafka, logger, metrics, tracing, ws, close };
}

/** The same gateway with its producer counted (and traced when tracing is on); everything else delegates. */
function instrumentKafka(kafka: KafkaGateway, metrics: Metrics, tracing: Tracing): KafkaGateway {
  const producer = instrumentProducer(kafka.producer, {
    metrics,
    tracer: tracing.enabled ? tracing.tracer : undefined,
  });
  return Object.create(kafka, { producer: { value: producer, enumerable: true } }) as KafkaGateway;
}
