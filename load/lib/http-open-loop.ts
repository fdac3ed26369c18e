/**
 * A steady open-loop HTTP client: one request every 1/rate seconds on keep-alive connections, never waiting for
 * earlier answers (a late answer does not delay the next request, so queueing shows up in the latency).
 * autocannon's `overallRate` is not steady: each connection sends its per-second quota back to back, then
 * pauses until the next second, which turns "200 requests/s" into bursts.
 */
import http from 'node:http';
import { Samples, summarize } from './stats.js';
import type { HttpLoadResult } from './http-load.js';

export interface OpenLoopOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  rate: number;
  durationS: number;
  /** Keep-alive connections available (more requests than this in flight wait for one). */
  connections: number;
}

export async function openLoopHttp(o: OpenLoopOptions): Promise<HttpLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const url = new URL(o.url);
  const body = Buffer.from(o.body);
  const headers = { ...o.headers, 'content-length': String(body.length) };
  const latencies = new Samples();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const one = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode! >= 200 && res.statusCode! < 300) {
              ok++;
              latencies.push(performance.now() - t);
            } else non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const interval = 1000 / o.rate;
  const start = performance.now();
  const end = start + o.durationS * 1000;
  let due = start;
  while (performance.now() < end) {
    while (due <= performance.now() && due < end) {
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
      due += interval;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(due - performance.now(), 5))));
  }
  await Promise.all(inflight);
  agent.destroy();
  const durationS = (performance.now() - start) / 1000;
  return { ok, non2xx, errors, durationS, requestsPerS: ok / o.durationS, latencyMs: summarize(latencies.values()) };
}
