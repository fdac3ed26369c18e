/**
 * The WebSocket upgrade: everything refusable is refused here, before the upgrade, as plain HTTP with the Confluent
 * error body — path (404), shutting down (503), origin (403), subprotocol and malformed shortcut (400), token (401),
 * the shortcut's rights (403) and topic/partition (404), Kafka down (503). What passes becomes a WebSocket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { originRefused } from '../auth/authorize.js';
import { normalizeOrigin, originAllowed } from '../auth/origin.js';
import type { TokenVerifier } from '../auth/jwt.js';
import { tokenFromUpgrade } from '../auth/middleware.js';
import { anonymousPrincipal, type Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { ErrorCodes, GatewayError, errors } from '../errors.js';
import type { KafkaGateway } from '../kafka/index.js';
import { refuseUpgrade } from './plain-http.js';
import { parseShortcut, SUBPROTOCOL, type SubscribeFrame } from './protocol.js';
import { checkReadable } from './subscriptions/types.js';

export const WS_PATH = '/ws';

/** How a caller is authenticated at the upgrade, and on a `reauth` frame. */
export interface UpgradeAuth {
  /**
   * Who is calling: the principal of an upgrade request, or a rejection with a GatewayError (401 no/bad token,
   * 503 key set unreachable). AUTH_MODE=none: `async () => anonymousPrincipal`. See `upgradeAuth()`.
   */
  authenticate(req: IncomingMessage): Promise<Principal>;
  /** Verifies a `reauth` frame's token (rejects with a GatewayError). Absent when auth is off: reauth is a no-op. */
  verifyToken?: ((token: string) => Promise<Principal>) | undefined;
}

/** `authenticate`/`verifyToken` from a token verifier (null = AUTH_MODE=none). */
export function upgradeAuth(verifier: TokenVerifier | null, config: Pick<Config, 'WS_QUERY_TOKEN'>): UpgradeAuth {
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

export interface UpgradeDeps {
  auth: Pick<UpgradeAuth, 'authenticate'>;
  kafka: Pick<KafkaGateway, 'metadata' | 'availability'>;
  /** WS_ALLOWED_ORIGINS. */
  allowedOrigins: readonly string[];
  wss: WebSocketServer;
  /** True once shutdown began: new upgrades are refused with 503. */
  closing(): boolean;
  /** A WebSocket that passed every check; `shortcut` is the subscription its URL names, if any. */
  accepted(ws: WebSocket, principal: Principal, shortcut: SubscribeFrame | undefined): void;
}

/** The handler of one upgrade request (`Upgrade: websocket`); it answers every refusal itself. */
export function upgradeHandler(deps: UpgradeDeps) {
  const { kafka, wss } = deps;
  const allowedOrigins = deps.allowedOrigins.map(normalizeOrigin);

  const lookup = { metadata: kafka.metadata, kafkaUp: () => kafka.availability.isUp };

  return async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    if (url.pathname !== WS_PATH)
      return refuseUpgrade(socket, new GatewayError(404, ErrorCodes.NOT_FOUND, 'HTTP 404 Not Found'));
    if (deps.closing()) return refuseUpgrade(socket, errors.overloaded('The gateway is shutting down.'));
    if (!originAllowed(req.headers, allowedOrigins)) return refuseUpgrade(socket, originRefused());
    const offered = offeredProtocols(req);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL))
      return refuseUpgrade(socket, errors.badRequest(`Unsupported subprotocol: offer '${SUBPROTOCOL}'.`));
    let shortcut: SubscribeFrame | undefined;
    let principal: Principal;
    try {
      shortcut = parseShortcut(url.searchParams);
      principal = await deps.auth.authenticate(req);
      if (shortcut) await checkReadable(shortcut, principal, lookup);
    } catch (e) {
      return refuseUpgrade(socket, e);
    }
    if (socket.destroyed) return;
    if (deps.closing()) return refuseUpgrade(socket, errors.overloaded('The gateway is shutting down.'));
    wss.handleUpgrade(req, socket, head, (ws) => deps.accepted(ws, principal, shortcut));
  };
}

function offeredProtocols(req: IncomingMessage): string[] {
  const v = req.headers['sec-websocket-protocol'];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}
