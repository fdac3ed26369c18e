/**
 * The WebSocket door: our own `WebSocketServer` (noServer, small maxPayload, no compression, our
 * handleProtocols) on the node server's `upgrade` event at `/ws`. Everything refusable is refused before the
 * upgrade as plain HTTP with the Confluent error body: path (404), origin (403), subprotocol and malformed
 * shortcut (400), token (401), the shortcut's rights (403) and topic/partition (404), Kafka down (503).
 */
import { STATUS_CODES, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions } from 'ws';
import { anonymousPrincipal, type Principal } from '../auth/principal.js';
import { tokenFromUpgrade } from '../auth/middleware.js';
import type { TokenVerifier } from '../auth/jwt.js';
import type { Config } from '../config.js';
import { ErrorCodes, GatewayError, errors, isGatewayError } from '../errors.js';
import type { ConsumersStats, KafkaGateway } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import { Connection, type ConnectionStats, type WsMetrics } from './connection.js';
import { parseShortcut, SUBPROTOCOL, type SubscribeFrame } from './protocol.js';

export type WebSocketConfig = Pick<
  Config,
  | 'WS_ALLOWED_ORIGINS'
  | 'WS_MAX_FRAME_BYTES'
  | 'WS_MAX_SUBSCRIPTIONS'
  | 'WS_SEND_HIGH_WATER_BYTES'
  | 'WS_SLOW_CLIENT_MS'
  | 'WS_PING_INTERVAL_MS'
>;

export interface WebSocketDeps {
  config: WebSocketConfig;
  kafka: Pick<KafkaGateway, 'consumers' | 'metadata' | 'availability'>;
  logger: Logger;
  /**
   * Who is calling: the principal of an upgrade request, or a rejection with a GatewayError (401 no/bad token,
   * 503 key set unreachable). AUTH_MODE=none: `async () => anonymousPrincipal`. See `upgradeAuth()`.
   */
  authenticate(req: IncomingMessage): Promise<Principal>;
  /** Verifies a `reauth` frame's token (rejects with a GatewayError). Absent when auth is off: reauth is a no-op. */
  verifyToken?: ((token: string) => Promise<Principal>) | undefined;
  /** The gateway's WebSocket counters (sockets, subscriptions by mode, records delivered). */
  metrics?: WsMetrics | undefined;
  /** The HTTP request listener, for upgrade requests that are not WebSocket (served as plain HTTP). */
  httpFallback?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** MAX_BODY_BYTES, for bodies of those requests. */
  maxBodyBytes?: number | undefined;
}

export interface WebSocketStats {
  connections: number;
  subscriptions: { group: number; assign: number; broadcast: number };
  consumers: ConsumersStats;
  sockets: ConnectionStats[];
}

export interface WebSocketGateway {
  /** Graceful: refuse new upgrades, commit acknowledged offsets, close sockets with 1001, leave groups. */
  close(): Promise<void>;
  stats(): WebSocketStats;
}

export const WS_PATH = '/ws';
/** After the 1001 close frames, how long shutdown waits for clients to answer before dropping the TCP connections. */
const CLOSE_HANDSHAKE_WAIT_MS = 2_000;

/** `authenticate`/`verifyToken` from a token verifier (null = AUTH_MODE=none). */
export function upgradeAuth(
  verifier: TokenVerifier | null,
  config: Pick<Config, 'WS_QUERY_TOKEN'>,
): Pick<WebSocketDeps, 'authenticate' | 'verifyToken'> {
  if (verifier === null) return { authenticate: async () => anonymousPrincipal };
  return {
    async authenticate(req) {
      const { token } = tokenFromUpgrade(req, config);
      if (token === undefined)
        throw errors.unauthorized(
          "Missing token: offer the subprotocol 'bearer.<jwt>' or send Authorization: Bearer <jwt>.",
        );
      return verifier.verify(token);
    },
    verifyToken: (token) => verifier.verify(token),
  };
}

function serveAsHttp(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  maxBodyBytes: number,
): void {
  socket.on('error', () => socket.destroy());
  const bare = (status: number) =>
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // Node's parser stops at an upgrade request's headers and ends the request stream, so its Content-Length body is
  // collected here and handed over as `rawBody`, which @hono/node-server reads as the body.
  const length = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] || !Number.isSafeInteger(length) || length < 0) return void bare(400);
  if (length > maxBodyBytes) return void bare(413);
  const chunks: Buffer[] = [];
  let got = 0;
  const serve = () => {
    socket.off('data', feed);
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks, got).subarray(0, length);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    listener(req, res);
  };
  const feed = (chunk: Buffer) => {
    chunks.push(chunk);
    got += chunk.length;
    if (got >= length) serve();
  };
  if (head.length > 0) chunks.push(head);
  got = head.length;
  if (got >= length) serve();
  else socket.on('data', feed);
}

export function attachWebSocket(server: HttpServer | HttpsServer, deps: WebSocketDeps): WebSocketGateway {
  const { config, kafka } = deps;
  const log = deps.logger.child({ component: 'ws' });
  const allowedOrigins = config.WS_ALLOWED_ORIGINS.map(normalizeOrigin);
  const options: ServerOptions & { closeTimeout?: number } = {
    noServer: true,
    maxPayload: config.WS_MAX_FRAME_BYTES,
    // Compression costs memory per socket and invites compression attacks; records are often compressed already.
    perMessageDeflate: false,
    // Select kgw.v1 only, never ws's default (the first offered one could be a `bearer.<jwt>` token).
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    // We track sockets ourselves (Connection), for stats and a graceful shutdown.
    clientTracking: false,
  };
  const wss = new WebSocketServer(options);
  const connections = new Set<Connection>();
  let nextId = 1;
  let closing = false;

  const ping = setInterval(() => {
    for (const c of connections) c.heartbeat();
  }, config.WS_PING_INTERVAL_MS);
  ping.unref();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Only `Upgrade: websocket` is ours. Other upgrades (Java's HttpClient offers h2c on every plain-http request)
    // may be ignored (RFC 9110 §7.8): the request is served as ordinary HTTP/1.1, then the connection closes.
    if (deps.httpFallback && req.headers.upgrade?.toLowerCase() !== 'websocket')
      return serveAsHttp(req, socket, head, deps.httpFallback, deps.maxBodyBytes ?? 8 * 1024 * 1024);
    handleUpgrade(req, socket, head).catch((e: unknown) => {
      log.error({ err: e }, 'upgrade failed');
      refuse(socket, e);
    });
  };
  server.on('upgrade', onUpgrade);

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    if (url.pathname !== WS_PATH)
      return refuse(socket, new GatewayError(404, ErrorCodes.NOT_FOUND, 'HTTP 404 Not Found'));
    if (closing) return refuse(socket, errors.overloaded('The gateway is shutting down.'));
    if (!originAllowed(req, allowedOrigins)) return refuse(socket, errors.forbidden('Origin not allowed.'));
    const offered = offeredProtocols(req);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL))
      return refuse(socket, errors.badRequest(`Unsupported subprotocol: offer '${SUBPROTOCOL}'.`));
    let shortcut: SubscribeFrame | undefined;
    let principal: Principal;
    try {
      shortcut = parseShortcut(url.searchParams);
      principal = await deps.authenticate(req);
      if (shortcut) await checkShortcut(shortcut, principal);
    } catch (e) {
      return refuse(socket, e);
    }
    if (socket.destroyed) return;
    if (closing) return refuse(socket, errors.overloaded('The gateway is shutting down.'));
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(nextId++, ws, principal, {
        config,
        consumers: kafka.consumers,
        metadata: kafka.metadata,
        kafkaUp: () => kafka.availability.isUp,
        verifyToken: deps.verifyToken,
        logger: log,
        metrics: deps.metrics,
      });
      connections.add(conn);
      deps.metrics?.wsSocketOpened();
      ws.on('close', () => {
        connections.delete(conn);
        deps.metrics?.wsSocketClosed();
      });
      conn.start(shortcut);
    });
  }

  /** The shortcut's rights and existence, checked before the upgrade (WS_PROTOCOL.md: plain HTTP answers). */
  async function checkShortcut(s: SubscribeFrame, principal: Principal): Promise<void> {
    const topics = s.mode === 'assign' ? [...new Set(s.partitions.map((p) => p.topic))] : [...new Set(s.topics)];
    for (const t of topics)
      if (!principal.can('consume', t)) throw errors.forbidden(`Not authorized to consume from topic '${t}'.`);
    if (s.mode === 'group' && !principal.can('group', s.group))
      throw errors.forbidden(`Not authorized to use consumer group '${s.group}'.`);
    if (!kafka.availability.isUp) throw errors.kafkaUnavailable('No Kafka broker is reachable.');
    for (const t of topics) {
      const info = await kafka.metadata.topic(t);
      if (!info) throw errors.topicNotFound(t);
      if (s.mode === 'assign')
        for (const p of s.partitions)
          if (p.partition >= info.partitions) throw errors.partitionNotFound(t, p.partition);
    }
  }

  function refuse(socket: Duplex, e: unknown): void {
    if (socket.destroyed) return;
    const err = isGatewayError(e) ? e : new GatewayError(500, ErrorCodes.INTERNAL, 'Internal server error.');
    const body = JSON.stringify({ error_code: err.errorCode, message: err.message });
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
      ...err.headers,
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
  }

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(ping);
        const open = [...connections];
        await Promise.allSettled(open.map((c) => c.shutdown()));
        await waitUntil(() => connections.size === 0, CLOSE_HANDSHAKE_WAIT_MS);
        for (const c of connections) c.terminate();
        server.off('upgrade', onUpgrade);
        wss.close();
      })();
      return closed;
    },
    stats() {
      const sockets = [...connections].map((c) => c.stats());
      const subscriptions = { group: 0, assign: 0, broadcast: 0 };
      for (const s of sockets) for (const sub of s.subscriptions) subscriptions[sub.mode]++;
      return { connections: connections.size, subscriptions, consumers: kafka.consumers.stats(), sockets };
    },
  };
}

function offeredProtocols(req: IncomingMessage): string[] {
  const v = req.headers['sec-websocket-protocol'];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export function normalizeOrigin(o: string): string {
  return o.trim().toLowerCase().replace(/\/+$/, '');
}

/** No Origin (a non-browser client) passes to the token check; a browser's must be allowed (CSWSH). */
export function originAllowed(req: Pick<IncomingMessage, 'headers'>, allowed: string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.length > 0) return allowed.includes('*') || allowed.includes(normalizeOrigin(origin));
  // Default: the request's own origin (same host and port as the Host header).
  try {
    const host = req.headers.host?.toLowerCase();
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
