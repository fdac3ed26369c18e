/**
 * `GET /metrics`: Prometheus text format. Open without a token when AUTH_PUBLIC_METRICS (the default; the auth
 * middleware skips the path); otherwise it needs a token with the admin right, since series carry topic and
 * consumer-group names a caller may have no rights on.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { authorizeAdmin } from '../../auth/authorize.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { errorResponses, route } from '../openapi-common.js';

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['health'],
  summary: 'Prometheus metrics (text exposition format)',
  // Open by default; a bearer JWT with the admin right when AUTH_PUBLIC_METRICS=false.
  security: [{}, { bearerAuth: [] }],
  description:
    'HTTP requests by route template, produce counters, batch sizes, in-flight bytes, Kafka availability, WebSocket gauges, consumer lag, and Node.js process metrics. Public unless AUTH_PUBLIC_METRICS=false (then admin only).',
  responses: {
    200: {
      description: 'Prometheus text format 0.0.4',
      content: {
        'text/plain': {
          schema: z
            .string()
            .openapi({ example: 'http_requests_total{method="POST",route="/topics/:topic",status="200"} 42' }),
        },
      },
    },
    ...errorResponses([401, 403]),
  },
});

export function metricsRoutes(deps: AppDeps & { metrics: Metrics }) {
  const { config, metrics } = deps;
  const app = new OpenAPIHono<AppEnv>();
  route(app, metricsRoute, async (c) => {
    if (!config.AUTH_PUBLIC_METRICS) authorizeAdmin(c.get('principal'));
    c.header('Content-Type', metrics.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(await metrics.render(), 200);
  });
  return app;
}
