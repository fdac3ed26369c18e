/**
 * Which limits a worker keeps whole and which it shares with its siblings (docs/workers.md, "Limits").
 *
 * The pod-wide bounds protect the pod's memory and are sized against its memory limit, so each of N workers gets
 * its share (rounded up): the pod as a whole holds what the setting says. The per-caller limits stay whole in every
 * worker: a client's keep-alive connection stays on one worker, so dividing them would cut a client with one
 * connection to 1/N of what it was given.
 */
import type { Config } from '../config.js';

/** Settings that bound the whole pod: divided among the workers. */
export const SHARED_LIMITS = [
  'MAX_INFLIGHT_PRODUCE_BYTES',
  'WS_SEND_BUDGET_BYTES',
  'CONSUMER_MAX_INSTANCES',
  'SSE_MAX_STREAMS',
  'SSE_MAX_READERS',
] as const satisfies readonly (keyof Config)[];

/** This worker's settings: `config` with each pod-wide bound divided by the number of workers. */
export function perWorker(config: Config): Config {
  const n = config.WORKERS;
  if (n <= 1) return config;
  const out = { ...config };
  for (const k of SHARED_LIMITS) out[k] = Math.max(1, Math.ceil(config[k] / n));
  return out;
}
