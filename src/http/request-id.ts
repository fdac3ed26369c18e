import type { MiddlewareHandler } from 'hono';
import { randomUUID } from 'node:crypto';
import type { AppEnv } from './deps.js';

/** Inbound ids are kept only when short and safe (≤ 255 of [\w-=]); anything else gets a fresh one. */
const SAFE_ID = /^[\w\-=]{1,255}$/;

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const inbound = c.req.header('x-request-id');
    const id = inbound && SAFE_ID.test(inbound) ? inbound : randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
