/**
 * What the primary and its workers say to each other over the cluster's IPC channel (WORKERS > 1). Every message
 * carries `kgw` so anything else on the channel (node's own cluster traffic) is ignored.
 */

/** A metrics registry as prom-client's `getMetricsAsJSON()` gives it (plain data, so it crosses IPC as JSON). */
export type MetricsJson = unknown[];

export type WorkerMessage =
  /** The worker serves: its public door listens and its loopback door for siblings is at `url`. */
  | { kgw: 'ready'; url: string }
  /** A scrape of /metrics on this worker: please collect every worker's registries. */
  | { kgw: 'scrape'; id: number }
  /** This worker's registries, for the primary's collection `id`. */
  | { kgw: 'snapshot'; id: number; registries: MetricsJson[] };

export type PrimaryMessage =
  /** The loopback URLs of the other live workers (sent again whenever one comes or goes). */
  | { kgw: 'siblings'; urls: string[] }
  /** Send your registries for collection `id`. */
  | { kgw: 'collect'; id: number }
  /** The answer to a worker's `scrape`: every worker's registries that answered in time. */
  | { kgw: 'scraped'; id: number; workers: number; registries: MetricsJson[] }
  /** Shut down gracefully (the primary got SIGTERM/SIGINT). */
  | { kgw: 'shutdown' };

/** One of ours (either direction); the caller narrows by `kgw`. */
export function isKgwMessage<T extends WorkerMessage | PrimaryMessage>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { kgw?: unknown }).kgw === 'string';
}

/** Environment variables the primary gives each worker (never a setting a user writes). */
export const WORKER_ID_ENV = 'KGW_WORKER_ID';
