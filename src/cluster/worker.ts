/**
 * A worker's side of the cluster (WORKERS > 1): tells the primary where its loopback door for siblings listens,
 * keeps the current list of its siblings' doors, answers the primary's metrics collections and asks for the pod's
 * metrics when /metrics is scraped here. Nothing here serves requests; server.ts wires it in.
 */
import cluster from 'node:cluster';
import { type MetricsJson, isKgwMessage, type PrimaryMessage, WORKER_ID_ENV, type WorkerMessage } from './messages.js';

/** A scrape waits this long for the primary's answer (it waits less for the workers: see primary.ts). */
const SCRAPE_TIMEOUT_MS = 5000;

export interface PodScrape {
  /** Workers whose registries are in `registries`. */
  workers: number;
  registries: MetricsJson[];
}

export interface WorkerLink {
  /** 1…WORKERS, stable across restarts of the same slot. */
  readonly id: number;
  /** Loopback base URLs of the other live workers of this pod. */
  siblings(): readonly string[];
  /** Announce this worker's loopback door (call once it listens). */
  ready(url: string): void;
  /** Every worker's registries (this one's included), collected by the primary. */
  scrape(): Promise<PodScrape>;
  /** What to send when the primary collects metrics. */
  onCollect(snapshot: () => Promise<MetricsJson[]>): void;
  /** Called once when the primary asks for a graceful shutdown, or is gone. */
  onShutdown(stop: () => void): void;
}

/** The link of this process when it is a cluster worker started by primary.ts, else undefined. */
export function workerLink(): WorkerLink | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  const id = Number(process.env[WORKER_ID_ENV]);
  let siblings: readonly string[] = [];
  let snapshot: (() => Promise<MetricsJson[]>) | undefined;
  let stop: (() => void) | undefined;
  let stopped = false;
  let nextScrape = 0;
  const scrapes = new Map<number, (s: PodScrape) => void>();
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send!(m);
  };
  const shutdown = () => {
    if (stopped) return;
    stopped = true;
    stop?.();
  };

  process.on('message', (m: unknown) => {
    if (!isKgwMessage<PrimaryMessage>(m)) return;
    switch (m.kgw) {
      case 'siblings':
        siblings = m.urls;
        break;
      case 'collect':
        void (snapshot?.() ?? Promise.resolve([])).then(
          (registries) => send({ kgw: 'snapshot', id: m.id, registries }),
          () => send({ kgw: 'snapshot', id: m.id, registries: [] }),
        );
        break;
      case 'scraped':
        scrapes.get(m.id)?.({ workers: m.workers, registries: m.registries });
        scrapes.delete(m.id);
        break;
      case 'shutdown':
        shutdown();
        break;
    }
  });
  // The primary died (SIGKILL, OOM): nobody restarts or stops us any more, and the port is no longer shared.
  process.on('disconnect', shutdown);

  return {
    id,
    siblings: () => siblings,
    ready: (url) => send({ kgw: 'ready', url }),
    scrape() {
      const id = nextScrape++;
      return new Promise<PodScrape>((resolve, reject) => {
        const timer = setTimeout(() => {
          scrapes.delete(id);
          reject(new Error('the primary did not answer the metrics collection'));
        }, SCRAPE_TIMEOUT_MS);
        scrapes.set(id, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
        send({ kgw: 'scrape', id });
      });
    },
    onCollect(fn) {
      snapshot = fn;
    },
    onShutdown(fn) {
      stop = fn;
      if (stopped) fn();
    },
  };
}
