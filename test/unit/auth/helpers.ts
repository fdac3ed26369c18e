/**
 * Shared pieces for the auth tests: a real Config from env-like overrides, a tiny hono app behind the auth
 * middleware, token signing, and a local JWKS server that counts hits and can rotate keys.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { loadConfig, type Config } from '../../../src/config.js';
import { createErrorHandler } from '../../../src/http/errors.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../../../src/auth/jwt.js';
import { authMiddleware, publicPathMatcher } from '../../../src/auth/middleware.js';
import { silentLogger, type Logger } from '../../../src/observability/logger.js';

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export function testConfig(env: Record<string, string>): Config {
  return loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092', ...env }, 'prod');
}

export interface TestApp {
  app: Hono;
  /** How many times the protected handler ran. */
  handlerRuns: () => number;
}

/** `GET /protected` answers the caller's sub; errors go through the gateway's one error mapper. */
export function appFor(config: Config, options: { logger?: Logger; verifier?: TokenVerifierOptions } = {}): TestApp {
  const verifier =
    config.AUTH_MODE === 'jwt' ? createTokenVerifier(config, options.logger ?? silentLogger, options.verifier) : null;
  const app = new Hono();
  let runs = 0;
  app.onError(createErrorHandler(silentLogger));
  app.use(
    '*',
    authMiddleware({ verifier, publicPaths: publicPathMatcher(config), maxTokenBytes: config.AUTH_MAX_TOKEN_BYTES }),
  );
  app.get('/protected', (c) => {
    runs++;
    return c.json({ sub: c.get('principal').sub });
  });
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/metrics', (c) => c.text('metrics'));
  app.get('/docs/*', (c) => c.text('docs'));
  return { app, handlerRuns: () => runs };
}

export function call(app: Hono, token?: string, path = '/protected'): Promise<Response> | Response {
  return app.request(path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

/** Asserts the 401 shape docs/security.md describes. */
export async function expect401(
  res: Response,
  expectFn: typeof import('vitest').expect,
  reason?: RegExp,
): Promise<void> {
  expectFn(res.status).toBe(401);
  expectFn(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  const body = (await res.json()) as { error_code: number; message: string };
  expectFn(body.error_code).toBe(40101);
  expectFn(typeof body.message).toBe('string');
  if (reason) expectFn(body.message).toMatch(reason);
}

export const nowS = () => Math.floor(Date.now() / 1000);

export interface SignOptions {
  alg?: string;
  kid?: string;
  header?: Record<string, unknown>;
  /** Claims; `exp` defaults to now+1h unless set to undefined explicitly via `noExp`. */
  claims?: JWTPayload;
  noExp?: boolean;
}

export async function sign(
  key: CryptoKey | KeyObject | Uint8Array,
  { alg = 'RS256', kid, header = {}, claims = {}, noExp }: SignOptions = {},
) {
  const payload: JWTPayload = { sub: 'alice', ...(noExp ? {} : { exp: nowS() + 3600 }), ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg, ...(kid ? { kid } : {}), ...header }).sign(key);
}

export interface KeyPair {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function keyPair(kid: string, alg = 'RS256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** An HTTP server on 127.0.0.1:0 whose handler can be swapped; counts every request. */
export interface LocalServer {
  url: string;
  hits: () => number;
  handle: (h: (req: IncomingMessage, res: ServerResponse) => void) => void;
  close: () => Promise<void>;
}

export async function localServer(
  initial: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end(),
): Promise<LocalServer> {
  let handler = initial;
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    hits: () => hits,
    handle: (h) => {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JWKS server whose key list can be changed while it runs. */
export async function jwksServer(keys: JWK[]): Promise<LocalServer & { setKeys: (k: JWK[]) => void }> {
  let current = keys;
  const s = await localServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: current }));
  });
  return { ...s, url: `${s.url}.well-known/jwks.json`, setKeys: (k) => (current = k) };
}
