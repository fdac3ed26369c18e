/**
 * `/metrics` for a pod of several worker processes (WORKERS > 1): whichever worker is scraped answers for all of
 * them. Each worker's series are merged by prom-client's aggregator: counters and histograms (bucket by bucket)
 * summed, gauges summed unless the metric says otherwise (`kafka_gateway_kafka_up` the minimum,
 * `kafka_gateway_consumer_lag` the maximum, the event-loop lag averaged), so the pod reads like one process.
 */
import { AggregatorRegistry } from 'prom-client';
import type { Metrics } from './metrics.js';

export interface PodSnapshot {
  /** Workers whose series are in `registries` (one that did not answer in time is left out of the scrape). */
  workers: number;
  registries: unknown[][];
}

/** How many workers the scrape covers: a scrape that missed one is visible, not silently short. */
const WORKERS_METRIC = 'kafka_gateway_workers';

/** Merges every worker's series into one Prometheus text. */
export async function mergeSnapshots(snapshot: PodSnapshot): Promise<string> {
  const workers = {
    name: WORKERS_METRIC,
    help: 'Worker processes whose series this scrape merged (WORKERS; fewer when one did not answer in time).',
    type: 'gauge',
    values: [{ value: snapshot.workers, labels: {} }],
    aggregator: 'sum',
  };
  // The aggregator's types want prom-client's MetricObjectWithValues; the snapshots are exactly that, as data.
  const merged = AggregatorRegistry.aggregate([...snapshot.registries, [workers]] as Parameters<
    typeof AggregatorRegistry.aggregate
  >[0]);
  return merged.metrics();
}

/** `metrics` whose `render()` answers for the whole pod, from `collect()` (the primary asks every worker). */
export function podMetrics(metrics: Metrics, collect: () => Promise<PodSnapshot>): Metrics {
  return Object.create(metrics, {
    render: { value: async () => mergeSnapshots(await collect()), enumerable: true },
  }) as Metrics;
}
