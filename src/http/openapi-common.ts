import { ErrorSchema } from './schemas.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON, a JSON type that does not fit, bad base64 (error_code 400), or Kafka refused an admin request (40002)',
  401: 'Missing or invalid bearer token (40101)',
  403: 'Not allowed for this caller (40301)',
  404: 'Topic (40401) or partition (40402) not found',
  405: 'Method not allowed',
  406: 'Cannot satisfy Accept',
  409: 'Conflict',
  413: 'Body over MAX_BODY_BYTES, or a record over the topic max.message.bytes (nothing written)',
  415: 'Unsupported Content-Type',
  422: 'Well-formed but invalid: empty records, negative partition, too many records, illegal topic name (42206)',
  429: 'Rate limited (Retry-After)',
  500: 'Unhandled error (500), Kafka error (50002) or retriable Kafka error (50003)',
  503: 'No broker reachable (50302), overloaded (50301, Retry-After), or JWKS unavailable (50303)',
};

/** OpenAPI entries for the Confluent-shaped error responses a route can return (500 always: any route can fail). */
export function errorResponses(statuses: number[]) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> =
    {};
  for (const s of [...statuses, 500])
    out[s] = { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } };
  return out;
}

/** The security scheme of every route that does not say otherwise (AUTH_MODE=jwt: a bearer JWT). */
export const BEARER_AUTH = 'bearerAuth';
const registered = new WeakSet<object>();

import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { Handler } from 'hono';
import type { AppEnv } from './deps.js';

/**
 * Declare a route in the OpenAPI document and serve it with a plain handler. We parse and validate bodies
 * ourselves (vendor media types, the body limit, exact big integers, Confluent-shaped errors), so the
 * generated validators of `app.openapi()` would only get in the way.
 */
export function route(app: OpenAPIHono<AppEnv>, config: RouteConfig, handler: Handler<AppEnv>): void {
  if (!registered.has(app.openAPIRegistry)) {
    registered.add(app.openAPIRegistry);
    app.openAPIRegistry.registerComponent('securitySchemes', BEARER_AUTH, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'With AUTH_MODE=jwt: a JWT whose claims grant the rights (docs/configuration.md). With AUTH_MODE=none: not needed.',
    });
  }
  app.openAPIRegistry.registerPath({ security: [{ [BEARER_AUTH]: [] }], ...config });
  app.on(config.method.toUpperCase(), config.path.replaceAll(/\/{(.+?)}/g, '/:$1'), handler);
}
