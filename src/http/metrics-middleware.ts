import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../observability/metrics.js';
import type { AppEnv } from './deps.js';

/**
 * Counts and times every request by method, route template and status. The label is the template the
 * request matched (`/topics/:topic`), never the raw path, so topic names cannot blow up the series count;
 * a request no route matched (404/405) is labelled with the catch-all middleware path `/*`.
 */
export function metricsMiddleware(metrics: Metrics): MiddlewareHandler<AppEnv> {
  if (!metrics) throw new TypeError('metricsMiddleware: `metrics` is required');
  return async function httpMetrics(c, next) {
    const start = performance.now();
    try {
      await next();
    } finally {
      // -1: the last route the router matched (the handler's template even when a middleware answered first).
      metrics.httpRequest(c.req.method, routePath(c, -1) || '/*', c.res.status, (performance.now() - start) / 1000);
    }
  };
}
