// /metrics for a pod of worker processes: two real metrics objects (as two workers hold them) merged into one
// Prometheus text — counters and histogram buckets summed, gauges summed, kafka_up the minimum, consumer lag the
// maximum, every series once, and the number of workers merged.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/observability/metrics.js';
import { mergeSnapshots, podMetrics } from '../../../src/observability/pod-metrics.js';

function worker(up: boolean, lag: number) {
  const m = createMetrics({ defaultMetrics: false });
  m.watchKafka({ up: () => up, inflightBytes: () => 100 });
  m.setConsumerLagProvider(() => [{ group: 'g', topic: 't', partition: 0, lag }]);
  return m;
}

describe('mergeSnapshots', () => {
  it('reads like one process: sums, histogram buckets, min of kafka_up, max of lag', async () => {
    const a = worker(true, 7);
    const b = worker(false, 9);
    a.httpRequest('GET', '/topics', 200, 0.003);
    a.httpRequest('GET', '/topics', 200, 0.2);
    b.httpRequest('GET', '/topics', 200, 0.003);
    b.httpRequest('POST', '/topics/:topic', 500, 1);
    a.wsSocketOpened();
    b.wsSocketOpened();
    b.wsSocketOpened();
    b.produced('orders', 5, 50);
    const text = await mergeSnapshots({ workers: 2, registries: [await a.snapshot(), await b.snapshot()] });
    expect(text).toMatch(/^kafka_gateway_workers 2$/m);
    expect(text).toContain('http_requests_total{method="GET",route="/topics",status="200"} 3');
    expect(text).toContain('http_requests_total{method="POST",route="/topics/:topic",status="500"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/topics"} 2');
    expect(text).toContain('http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/topics"} 3');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/topics"} 3');
    expect(text).toMatch(/^kafka_gateway_ws_open_sockets 3$/m);
    expect(text).toMatch(/^kafka_gateway_inflight_produce_bytes 200$/m);
    expect(text).toMatch(/^kafka_gateway_kafka_up 0$/m);
    expect(text).toContain('kafka_gateway_consumer_lag{group="g",topic="t",partition="0"} 9');
    expect(text).toContain('kafka_gateway_records_produced_total{topic="orders"} 5');
    expect(text.match(/^# TYPE http_requests_total counter$/gm)).toHaveLength(1);
  });

  it('includes the process metrics of every worker, summed', async () => {
    const m = createMetrics();
    // The CPU counters count from the registry's creation, and Linux accounts CPU time in scheduler ticks: on a busy
    // machine no tick may land before the snapshot (CI once read 0). Run until this process has used CPU since.
    const before = process.cpuUsage().user;
    while (process.cpuUsage().user - before < 20_000);
    // As it crosses the IPC channel: JSON (prom-client's objects are live and move at the next collection).
    const one = JSON.parse(JSON.stringify(await m.snapshot())) as unknown[];
    const text = await mergeSnapshots({ workers: 2, registries: [one, one] });
    const single = Number(/^process_cpu_user_seconds_total (\S+)$/m.exec(await m.render())?.[1]);
    const merged = Number(/^process_cpu_user_seconds_total (\S+)$/m.exec(text)?.[1]);
    expect(single).toBeGreaterThan(0);
    // The same snapshot twice: exactly double (the live render may have moved on a little since).
    const snapValue = (one as { name: string; values: { value: number }[] }[]).find(
      (x) => x.name === 'process_cpu_user_seconds_total',
    )!.values[0]!.value;
    expect(merged).toBeCloseTo(2 * snapValue, 6);
  });
});

describe('podMetrics', () => {
  it('renders what collect() gathers, and keeps everything else of the worker’s metrics', async () => {
    const local = worker(true, 1);
    const other = worker(true, 1);
    other.wsSocketOpened();
    const pod = podMetrics(local, async () => ({
      workers: 2,
      registries: [await local.snapshot(), await other.snapshot()],
    }));
    pod.wsSocketOpened();
    expect(await local.render()).toMatch(/^kafka_gateway_ws_open_sockets 1$/m);
    expect(await pod.render()).toMatch(/^kafka_gateway_ws_open_sockets 2$/m);
    expect(pod.contentType).toBe(local.contentType);
  });
});
