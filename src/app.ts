/**
 * Builds the hono app from its dependencies (testable in-process with `app.request()`, no socket needed).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { authMiddleware, publicPathMatcher } from './auth/middleware.js';
import type { AppDeps, AppEnv } from './http/deps.js';
import { createErrorHandler, methodNotAllowed, notFound } from './http/errors.js';
import { requestId } from './http/request-id.js';
import { accessLog } from './http/access-log.js';
import { produceRoutes } from './http/routes/produce.js';
import { topicRoutes } from './http/routes/topics.js';
import { adminRoutes } from './http/routes/admin-v3.js';
import { recordsV3Routes } from './http/routes/records-v3.js';
import { healthRoutes } from './http/routes/health.js';
import { docsRoutes } from './http/routes/docs.js';
import { uiRoutes } from './http/routes/ui.js';
import { asyncapiRoutes } from './http/routes/asyncapi.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { consumerRoutes } from './http/routes/consumers.js';
import { sseRoutes } from './http/routes/sse.js';
import { metricsMiddleware } from './http/metrics-middleware.js';
import { tracingMiddleware } from './http/tracing-middleware.js';
import { rootRoutes } from './http/routes/root.js';

export type { AppDeps, AppEnv };

export interface BuildAppOptions {
  /** Replaces the JWT middleware built from deps (tests). */
  auth?: MiddlewareHandler<AppEnv>;
}

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Kafka HTTP/WebSocket gateway',
    version: '0.1.0',
    description:
      'Confluent REST Proxy wire formats: v2 produce, metadata and the consumer API (any replica serves any consumer instance), v3 records (single, streamed, batch) and topic admin; Server-Sent Events at /sse. WebSocket subscriptions are described in asyncapi.yaml.',
  },
};

export function buildApp(deps: AppDeps, options: BuildAppOptions = {}) {
  const app = new OpenAPIHono<AppEnv>();
  // Generated at the first GET of /openapi.json or /openapi.yaml, then kept: the routes never change after start.
  let openapi: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  const openapiDocument = () => {
    openapi ??= app.getOpenAPI31Document(OPENAPI_INFO);
    return openapi;
  };
  // Outermost, so they time and see everything (auth refusals included).
  if (deps.metrics) app.use(metricsMiddleware(deps.metrics));
  if (deps.tracing?.enabled) app.use(tracingMiddleware(deps.tracing.tracer));
  app.use(requestId());
  app.use(accessLog(deps.logger));
  // /docs sets its own stricter CSP; these are the standard headers for every JSON response.
  app.use(secureHeaders({ contentSecurityPolicy: undefined, crossOriginResourcePolicy: false, xFrameOptions: 'DENY' }));
  if (deps.config.CORS_ORIGINS.length > 0)
    app.use(
      cors({
        origin: deps.config.CORS_ORIGINS,
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-Id'],
        exposeHeaders: ['X-Request-Id', 'Retry-After', 'Location', 'WWW-Authenticate'],
        maxAge: 600,
      }),
    );
  // /sse authenticates itself (EventSource sends no headers: ?access_token= like /ws), so it comes before the bearer check.
  app.route('/', sseRoutes(deps));
  app.use(
    options.auth ??
      (authMiddleware({
        verifier: deps.verifier ?? null,
        publicPaths: publicPathMatcher(deps.config),
        maxTokenBytes: deps.config.AUTH_MAX_TOKEN_BYTES,
      }) as unknown as MiddlewareHandler<AppEnv>),
  );

  const routers = [
    healthRoutes(deps),
    produceRoutes(deps),
    topicRoutes(deps),
    adminRoutes(deps),
    recordsV3Routes(deps),
    consumerRoutes(deps, deps.consumerInstances ? { registry: deps.consumerInstances } : {}).app,
    docsRoutes(deps, { document: openapiDocument }),
    uiRoutes(deps),
    asyncapiRoutes({ version: OPENAPI_INFO.info.version }),
    rootRoutes({ version: OPENAPI_INFO.info.version, metrics: Boolean(deps.metrics) }),
  ];
  if (deps.metrics) routers.push(metricsRoutes({ ...deps, metrics: deps.metrics }));
  for (const r of routers) app.route('/', r);

  app.get('/openapi.json', (c) => c.json(openapiDocument()));

  // 405 for a known path with another method; 404 for everything else.
  const known = routers.flatMap((r) =>
    r.openAPIRegistry.definitions.flatMap((d) =>
      d.type === 'route' ? [{ method: d.route.method.toUpperCase(), pattern: templateToRegExp(d.route.path) }] : [],
    ),
  );
  app.notFound((c) => {
    const allowed = known.filter((k) => k.pattern.test(c.req.path)).map((k) => k.method);
    // A method the path does allow landing here (e.g. a trailing slash) is a plain 404, never "405, Allow: <it>".
    return allowed.length > 0 && !allowed.includes(c.req.method)
      ? methodNotAllowed(c, [...new Set(allowed)])
      : notFound(c);
  });
  app.onError(createErrorHandler(deps.logger));
  return app;
}

function templateToRegExp(path: string): RegExp {
  const src = path
    .split(/\{[^}]+\}/)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${src}/?$`);
}
