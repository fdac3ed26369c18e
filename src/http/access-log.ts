import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../observability/logger.js';
import type { AppEnv } from './deps.js';

/** One line per request: method, route template (never the query string: it may hold a token), status, time. */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  const log = logger.child({ component: 'http' });
  return async function accessLogMiddleware(c, next) {
    const start = performance.now();
    await next();
    if (!log.isLevelEnabled('debug') && c.res.status < 400) return;
    const entry = {
      reqId: c.get('requestId'),
      method: c.req.method,
      route: routePath(c),
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
    };
    if (c.res.status >= 500) log.warn(entry, 'request');
    else if (c.res.status >= 400) log.info(entry, 'request');
    else log.debug(entry, 'request');
  };
}
