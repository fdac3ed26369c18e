import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../deps.js';
import { errorBody } from '../errors.js';
import { ErrorCodes } from '../../errors.js';
import { errorResponses, route } from '../openapi-common.js';
import { HealthSchema, ErrorSchema } from '../schemas.js';

/** `/healthz`: the process is up. `/readyz`: Kafka answers and the producer is connected (and not shutting down). */
export function healthRoutes({ kafka, accepting }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  route(
    app,
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['health'],
      summary: 'Liveness: the process is up',
      security: [],
      responses: {
        200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } },
        ...errorResponses([]),
      },
    }),
    (c) => c.json({ status: 'ok' }),
  );
  route(
    app,
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      summary: 'Readiness: Kafka reachable and the producer connected',
      security: [],
      responses: {
        ...errorResponses([]),
        200: { description: 'Ready', content: { 'application/json': { schema: HealthSchema } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: ErrorSchema } } },
      },
    }),
    (c) => {
      if (accepting && !accepting()) return c.json(errorBody(ErrorCodes.KAFKA_UNAVAILABLE, 'Shutting down.'), 503);
      if (!kafka.ready())
        return c.json(
          errorBody(ErrorCodes.KAFKA_UNAVAILABLE, `Kafka not reachable: ${kafka.availability.lastError}`),
          503,
        );
      return c.json({ status: 'ready' });
    },
  );
  return app;
}
