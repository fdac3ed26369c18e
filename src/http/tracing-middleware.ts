import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './deps.js';

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * A SERVER span per request (installed only when tracing is on). It continues the caller's W3C `traceparent`
 * and is the active context while the handler runs, so produce spans (and the trace headers written into
 * records) hang below it. Named by route template; the query string (it may hold a token) is never recorded.
 */
export function tracingMiddleware(tracer: Tracer): MiddlewareHandler<AppEnv> {
  if (!tracer) throw new TypeError('tracingMiddleware: `tracer` is required');
  return async function httpTracing(c, next) {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const route = routePath(c, -1) || '/*';
    const span = tracer.startSpan(
      `${c.req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': c.req.method, 'http.route': route, 'url.path': c.req.path },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const status = c.res.status;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      const reqId = c.get('requestId');
      if (reqId) span.setAttribute('http.request.id', reqId);
      span.end();
    }
  };
}
