/**
 * Production entry (`npm start`): needs KAFKA_BROKERS, never starts a broker. With WORKERS > 1 this process is the
 * primary of a node:cluster (src/cluster/primary.ts) and every worker it forks runs this file again as a gateway.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './observability/logger.js';
import { runPrimary } from './cluster/primary.js';
import { workerLink } from './cluster/worker.js';
import { perWorker } from './cluster/limits.js';
import { releaseStartupMemory } from './startup-memory.js';
import { youngGenerationWarning } from './young-generation.js';
import v8 from 'node:v8';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kafka-gateway: bad configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (config.WORKERS > 1 && cluster.isPrimary) {
    runPrimary(config, createLogger(config));
    return;
  }
  const worker = workerLink();
  const logger = worker ? createLogger(config).child({ worker: worker.id, pid: process.pid }) : undefined;
  // Loaded only here: the primary of a cluster never loads the gateway (Kafka clients, hono, ws).
  const { startGateway } = await import('./server.js');
  const gw = await startGateway(worker ? perWorker(config) : config, {
    ...(logger ? { logger } : {}),
    ...(worker ? { worker } : {}),
  });
  gw.logger.info({ url: gw.url, brokers: config.KAFKA_BROKERS, auth: config.AUTH_MODE }, 'gateway listening');
  const young = youngGenerationWarning({
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
    heapSizeLimit: v8.getHeapStatistics().heap_size_limit,
  });
  if (young) gw.logger.warn(young);
  // A moment after listening the start-up's garbage is dead (the first Kafka connections are made by then).
  setTimeout(() => {
    const before = process.memoryUsage.rss();
    if (releaseStartupMemory())
      gw.logger.debug({ rssBefore: before, rssAfter: process.memoryUsage.rss() }, 'start-up memory released');
  }, 1000).unref();

  let closing = false;
  const close = () => {
    closing = true;
    gw.close().then(
      () => process.exit(0),
      (e: unknown) => {
        gw.logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      gw.logger.warn('second signal: exiting now');
      process.exit(1);
    }
    gw.logger.info({ signal }, 'shutting down');
    close();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A worker is told by its primary (its SIGTERM, or the primary is gone); a signal of its own may come too (Ctrl-C
  // reaches the whole process group): one graceful shutdown either way.
  worker?.onShutdown(() => {
    if (closing) return;
    gw.logger.info('shutting down (asked by the primary)');
    close();
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`kafka-gateway: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
