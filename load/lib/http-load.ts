/**
 * HTTP load with autocannon's programmatic API. autocannon's own latency histogram keeps whole milliseconds;
 * we record every 2xx response time ourselves (sub-millisecond, from its 'response' events) so p99 overheads
 * of a millisecond or two can be read.
 */
import autocannon from 'autocannon';
import { Samples, summarize, type LatencySummary } from './stats.js';

export interface HttpLoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationS: number;
  /** Open-loop rate across all connections (requests/s); absent = as fast as possible. */
  rate?: number;
}

export interface HttpLoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  durationS: number;
  requestsPerS: number;
  latencyMs: LatencySummary;
}

export function httpLoad(o: HttpLoadOptions): Promise<HttpLoadResult> {
  const latencies = new Samples();
  let ok = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        method: o.method ?? 'POST',
        headers: o.headers ?? {},
        ...(o.body !== undefined ? { body: o.body } : {}),
        connections: o.connections,
        duration: o.durationS,
        timeout: 30,
        ...(o.rate ? { overallRate: o.rate } : {}),
      },
      (err, result) => {
        if (err) return reject(err);
        const durationS = (performance.now() - started) / 1000;
        resolve({
          ok,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          durationS,
          requestsPerS: ok / durationS,
          latencyMs: summarize(latencies.values()),
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) {
        ok++;
        latencies.push(ms);
      }
    });
  });
}
