// A minimal OAuth 2 authorization server for the broker's OAUTHBEARER listener: a client-credentials token endpoint
// (RFC 6749 §4.4, client authentication by HTTP Basic or form fields) and the JWKS the broker verifies tokens with.
// Tokens are RS256 JWTs with sub = client id, iat, exp, iss and aud. Counts issued and refused requests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { signToken, signingKey, type SigningKey } from './jwks-server.js';

export interface OAuthServerOptions {
  /** client id → secret. */
  clients: Record<string, string>;
  issuer?: string;
  audience?: string;
  /** Token lifetime in seconds (expires_in); changeable later with setTokenTtl. Default 300. */
  tokenTtlS?: number;
}

export interface IssuedToken {
  clientId: string;
  scope: string | undefined;
  at: number;
  exp: number;
}

export interface OAuthServer {
  readonly origin: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** Tokens handed out, in order. */
  readonly issued: IssuedToken[];
  /** Token requests refused (bad client or secret). */
  refused(): number;
  setTokenTtl(seconds: number): void;
  close(): Promise<void>;
}

export async function startOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  const key: SigningKey = await signingKey('oauth-k1');
  const issued: IssuedToken[] = [];
  let refused = 0;
  let ttlS = opts.tokenTtlS ?? 300;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = opts.issuer ?? `${origin}/`;
  const audience = opts.audience ?? 'kafka-broker';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] }));
      return;
    }
    if (req.method !== 'POST' || path !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [u, p = ''] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(/:(.*)/s);
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(p);
    }
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (form.get('grant_type') !== 'client_credentials') return void json(400, { error: 'unsupported_grant_type' });
    if (!id || secret === null || opts.clients[id] === undefined || opts.clients[id] !== secret) {
      refused++;
      res.setHeader('www-authenticate', 'Basic realm="token"');
      return void json(401, { error: 'invalid_client' });
    }
    const scope = form.get('scope') ?? undefined;
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, {
      claims: { sub: id, iss: issuer, aud: audience, iat: now, exp: now + ttlS, ...(scope ? { scope } : {}) },
    });
    issued.push({ clientId: id, scope, at: Date.now(), exp: now + ttlS });
    json(200, { access_token: token, token_type: 'Bearer', expires_in: ttlS, ...(scope ? { scope } : {}) });
  }

  return {
    origin,
    tokenUrl: `${origin}/token`,
    jwksUrl: `${origin}/jwks.json`,
    issuer,
    audience,
    issued,
    refused: () => refused,
    setTokenTtl: (s) => {
      ttlS = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
