// A local JWKS server for the gateway's callers (AUTH_JWKS_URL) that a test can rotate while the gateway runs, and a
// token signer for its keys. It counts every fetch, can be switched off (outage → 503 50303) and back on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public half as published in the JWKS (kid, alg, use=sig). */
  jwk: JWK;
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface TokenOptions {
  /** Claims merged over `{ sub, iat, exp: now + 1 h }`; pass `exp: undefined` to leave exp out. */
  claims?: JWTPayload & Record<string, unknown>;
  /** Extra protected-header fields (e.g. jku); kid and alg come from the key unless overridden here. */
  header?: Record<string, unknown>;
  /** Lifetime in seconds when claims.exp is not given (default 3600). */
  ttlS?: number;
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/** Signs a JWT with `key` (its kid and alg in the header). */
export async function signToken(
  key: SigningKey,
  { claims = {}, header = {}, ttlS = 3600 }: TokenOptions = {},
): Promise<string> {
  const payload: JWTPayload = { sub: 'alice', iat: nowS(), exp: nowS() + ttlS, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

export interface JwksServer {
  /** The key set URL (…/.well-known/jwks.json). */
  readonly url: string;
  /** Origin (http://127.0.0.1:port). */
  readonly origin: string;
  /** Requests for the key set so far. */
  fetches(): number;
  /** Replace the published keys (rotation). */
  publish(keys: SigningKey[]): void;
  /** Published kids. */
  kids(): string[];
  /** false: every request is answered 503 (an IdP outage); true: back to normal. */
  setUp(up: boolean): void;
  close(): Promise<void>;
}

/** Serves `{ keys: [...] }` of the published keys at `/.well-known/jwks.json` on 127.0.0.1 (free port). */
export async function startJwksServer(initial: SigningKey[] = []): Promise<JwksServer> {
  let keys = initial;
  let up = true;
  let fetches = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.split('?')[0] !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    if (!up) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/.well-known/jwks.json`,
    origin,
    fetches: () => fetches,
    publish: (k) => {
      keys = k;
    },
    kids: () => keys.map((k) => k.kid),
    setUp: (v) => {
      up = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A plain server that counts hits (the "attacker's" JWKS behind a `jku` header: it must never be fetched). */
export async function startCountingServer(
  body: unknown,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    url,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
