/**
 * Hono's typed context for authentication: after the auth middleware, `c.get('principal')` is the caller.
 * (On public paths under AUTH_MODE=jwt the middleware sets nothing: those handlers must not read it.)
 */
import type { Principal } from './principal.js';

export type AuthVariables = { principal: Principal };

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}
