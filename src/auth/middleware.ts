/**
 * Authentication at the edge: the hono middleware for HTTP routes and the token lookup for the WebSocket upgrade.
 * What a caller may then do is decided in authorize.ts. Routes and subscriptions only see a Principal.
 */
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { AuthVariables } from './context.js';
import type { TokenVerifier } from './jwt.js';
import { anonymousPrincipal } from './principal.js';

export type { AuthVariables } from './context.js';

/** AUTH_MAX_TOKEN_BYTES's default (docs/configuration.md). */
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
/** A browser's token rides as a second offered subprotocol: `bearer.<jwt>`. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

export interface AuthMiddlewareOptions {
  /** null = AUTH_MODE=none: every request runs as `anonymousPrincipal`. Required, so "off" is always explicit. */
  verifier: TokenVerifier | null;
  /** Paths that need no token (see publicPathMatcher). */
  publicPaths?: (path: string) => boolean;
  /** Longest accepted token; longer ones are refused before any parsing. */
  maxTokenBytes?: number;
}

export function authMiddleware({
  verifier,
  publicPaths = () => false,
  maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES,
}: AuthMiddlewareOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  if (verifier === undefined) throw new TypeError('authMiddleware: `verifier` is required (null for AUTH_MODE=none)');
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes <= 0)
    throw new TypeError('authMiddleware: `maxTokenBytes` must be a positive integer');

  return async function auth(c, next) {
    if (verifier === null) {
      c.set('principal', anonymousPrincipal);
      return next();
    }
    if (publicPaths(c.req.path)) return next();
    const token = bearerToken(c.req.header('authorization'), maxTokenBytes);
    c.set('principal', await verifier.verify(token));
    return next();
  };
}

// RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a token68.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token from an `Authorization: Bearer <jwt>` header; throws 401 when missing, malformed or too large. */
export function bearerToken(header: string | undefined | null, maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES): string {
  if (header === undefined || header === null || header.trim() === '')
    throw errors.unauthorized('Missing bearer token: send Authorization: Bearer <jwt>.');
  // The header is ASCII when valid; cap before the regex sees it.
  if (header.length > maxTokenBytes + 'Bearer '.length + 16) throw errors.unauthorized('Invalid token: too large.');
  const m = BEARER.exec(header);
  if (!m) throw errors.unauthorized('Malformed Authorization header: expected Bearer <jwt>.');
  return m[1]!;
}

/** Paths open without a token (docs/configuration.md): health always; metrics and docs unless turned off. */
export function publicPathMatcher(
  config: Pick<Config, 'AUTH_PUBLIC_METRICS' | 'AUTH_PUBLIC_DOCS'>,
): (path: string) => boolean {
  const exact = new Set(['/healthz', '/readyz']);
  const prefixes: string[] = [];
  if (config.AUTH_PUBLIC_METRICS) exact.add('/metrics');
  if (config.AUTH_PUBLIC_DOCS) {
    for (const p of ['/', '/openapi.json', '/openapi.yaml', '/asyncapi.yaml', '/docs', '/ui']) exact.add(p);
    prefixes.push('/docs/', '/ui/'); // a whole segment: `/docsXYZ` is not public
  }
  return function isPublicPath(path: string): boolean {
    return exact.has(path) || prefixes.some((p) => path.startsWith(p));
  };
}

/** What the WebSocket upgrade handler needs from the request (node's IncomingMessage fits). */
export interface UpgradeRequestLike {
  headers: Record<string, string | string[] | undefined>;
  url?: string | undefined;
}

export interface UpgradeToken {
  /** The caller's JWT, unverified; undefined when none was sent (→ 401 before the upgrade). */
  token?: string;
  /** Offered subprotocols other than the `bearer.<jwt>` one (that one is a secret, not a protocol). */
  offeredProtocols: string[];
}

/**
 * Where a WebSocket client put its token, in order: a `bearer.<jwt>` offered subprotocol (browsers), the
 * `Authorization: Bearer` header (services), `?access_token=` only when WS_QUERY_TOKEN. Never logs anything.
 */
export function tokenFromUpgrade(req: UpgradeRequestLike, config: Pick<Config, 'WS_QUERY_TOKEN'>): UpgradeToken {
  const offered = headerValues(req.headers['sec-websocket-protocol'])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  const offeredProtocols = offered.filter((p) => !p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (bearer !== undefined && bearer.length > BEARER_PROTOCOL_PREFIX.length)
    return { token: bearer.slice(BEARER_PROTOCOL_PREFIX.length), offeredProtocols };

  const authorization = headerValues(req.headers.authorization)[0];
  if (authorization !== undefined) {
    const m = BEARER.exec(authorization);
    if (m) return { token: m[1]!, offeredProtocols };
  }
  if (config.WS_QUERY_TOKEN && req.url !== undefined) {
    const token = new URL(req.url, 'http://gateway.invalid').searchParams.get('access_token');
    if (token) return { token, offeredProtocols };
  }
  return { offeredProtocols };
}

/**
 * The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `a=b; c=d`), unquoted; undefined when absent or
 * empty. The first of several same-named cookies wins: browsers send the one with the longest path first. Only
 * GET /sse reads it, and only when AUTH_COOKIE_NAME names it (docs/security.md: why the origin check must run too).
 */
export function tokenFromCookie(header: string | string[] | undefined, name: string): string | undefined {
  for (const line of headerValues(header))
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === '' ? undefined : value;
    }
  return undefined;
}

function headerValues(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
