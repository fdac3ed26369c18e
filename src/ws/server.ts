/**
 * The WebSocket door's lifecycle: our own `WebSocketServer` (noServer, small maxPayload, no compression, our
 * handleProtocols) on the node server's `upgrade` event, the open sockets (heartbeat, stats) and a graceful
 * shutdown. Which upgrades pass is decided in upgrade.ts; the plain-HTTP answers on an upgrade socket are in
 * plain-http.ts; one socket's life is connection.ts.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ServerOptions, WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import type { ConsumersStats, KafkaGateway } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import { Connection, type ConnectionStats, type WsMetrics } from './connection.js';
import { refuseUpgrade, serveAsHttp } from './plain-http.js';
import { selectSubprotocol } from './protocol.js';
import { type BudgetStats, SendBudget } from './send-budget.js';
import { type UpgradeAuth, upgradeHandler } from './upgrade.js';

export { upgradeAuth, WS_PATH } from './upgrade.js';

export type WebSocketConfig = Pick<
  Config,
  | 'WS_ALLOWED_ORIGINS'
  | 'WS_MAX_FRAME_BYTES'
  | 'WS_MAX_SUBSCRIPTIONS'
  | 'WS_SEND_HIGH_WATER_BYTES'
  | 'WS_SLOW_CLIENT_MS'
  | 'WS_PING_INTERVAL_MS'
  | 'WS_SEND_BUDGET_BYTES'
>;

export interface WebSocketDeps extends UpgradeAuth {
  config: WebSocketConfig;
  kafka: Pick<KafkaGateway, 'consumers' | 'metadata' | 'availability'>;
  logger: Logger;
  /** The gateway's WebSocket counters (sockets, subscriptions by mode, records delivered). */
  metrics?: WsMetrics | undefined;
  /** The HTTP request listener, for upgrade requests that are not WebSocket (served as plain HTTP). */
  httpFallback?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** MAX_BODY_BYTES, for bodies of those requests. */
  maxBodyBytes?: number | undefined;
}

export interface WebSocketStats {
  connections: number;
  /** The process-wide send budget: bytes queued to all sockets now, sockets held, sockets evicted (4408). */
  budget: BudgetStats;
  subscriptions: { group: number; assign: number; broadcast: number };
  consumers: ConsumersStats;
  sockets: ConnectionStats[];
}

export interface WebSocketGateway {
  /** Graceful: refuse new upgrades, commit acknowledged offsets, close sockets with 1001, leave groups. */
  close(): Promise<void>;
  stats(): WebSocketStats;
}

/** How often the send budget evicts and releases held sockets (holding itself happens at once, on a send). */
const BUDGET_CHECK_MS = 250;

/** After the 1001 close frames, how long shutdown waits for clients to answer before dropping the TCP connections. */
const CLOSE_HANDSHAKE_WAIT_MS = 2_000;

export function attachWebSocket(server: HttpServer | HttpsServer, deps: WebSocketDeps): WebSocketGateway {
  const { config, kafka } = deps;
  const log = deps.logger.child({ component: 'ws' });
  const options: ServerOptions & { closeTimeout?: number } = {
    noServer: true,
    maxPayload: config.WS_MAX_FRAME_BYTES,
    // Compression costs memory per socket and invites compression attacks; records are often compressed already.
    perMessageDeflate: false,
    handleProtocols: selectSubprotocol,
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

  // Sockets held by the budget get WS_SLOW_CLIENT_MS to drain, as a slow broadcast socket does, before 4408.
  const budget = new SendBudget(config.WS_SEND_BUDGET_BYTES, config.WS_SLOW_CLIENT_MS);
  const budgetCheck = setInterval(() => budget.check(), BUDGET_CHECK_MS);
  budgetCheck.unref();

  const handleUpgrade = upgradeHandler({
    auth: deps,
    kafka,
    allowedOrigins: config.WS_ALLOWED_ORIGINS,
    wss,
    closing: () => closing,
    accepted(ws, principal, shortcut) {
      const conn = new Connection(nextId++, ws, principal, {
        config,
        consumers: kafka.consumers,
        metadata: kafka.metadata,
        kafkaUp: () => kafka.availability.isUp,
        verifyToken: deps.verifyToken,
        logger: log,
        metrics: deps.metrics,
        budget,
      });
      connections.add(conn);
      deps.metrics?.wsSocketOpened();
      ws.on('close', () => {
        connections.delete(conn);
        deps.metrics?.wsSocketClosed();
      });
      conn.start(shortcut);
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Only `Upgrade: websocket` is ours; other upgrades are served as ordinary HTTP (plain-http.ts).
    if (deps.httpFallback && req.headers.upgrade?.toLowerCase() !== 'websocket')
      return serveAsHttp(req, socket, head, deps.httpFallback, deps.maxBodyBytes ?? 8 * 1024 * 1024);
    handleUpgrade(req, socket, head).catch((e: unknown) => {
      log.error({ err: e }, 'upgrade failed');
      refuseUpgrade(socket, e);
    });
  };
  server.on('upgrade', onUpgrade);

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(ping);
        clearInterval(budgetCheck);
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
      return {
        connections: connections.size,
        budget: budget.stats(),
        subscriptions,
        consumers: kafka.consumers.stats(),
        sockets,
      };
    },
  };
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
