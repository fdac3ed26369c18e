/**
 * One WebSocket: frame dispatch, bad-frame counting (→ 4400), frame budgets (→ 4429, see frame-rate.ts), the send
 * buffer's water marks (→ pause or 4408),
 * the token's expiry (→ 4401 unless a `reauth` came), liveness (ping/pong), and its subscriptions' lifecycle.
 */
import type { WebSocket, RawData } from 'ws';
import { reauthRefusal } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { Consumers, Metadata } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import {
  CLOSE_REASONS,
  CloseCodes,
  PROTOCOL_VIOLATIONS,
  isInternal,
  toErrorFrame,
  type CloseCode,
} from './close-codes.js';
import { FrameRate } from './frame-rate.js';
import { SocketSender } from './sender.js';
import type { SendBudget } from './send-budget.js';
import { parseClientFrame, type ClientFrame, type ErrorFrame, type SubscribeFrame } from './protocol.js';
import { AssignSubscription } from './subscriptions/assign.js';
import { BroadcastSubscription } from './subscriptions/broadcast.js';
import { GroupSubscription } from './subscriptions/group.js';
import type { SubscriptionDeps, SocketPort, Subscription, SubscriptionStats } from './subscriptions/types.js';

/** The WebSocket counters of the gateway's metrics. */
export type WsMetrics = Pick<
  Metrics,
  'wsSocketOpened' | 'wsSocketClosed' | 'wsSubscribed' | 'wsUnsubscribed' | 'wsDelivered'
>;

export type ConnectionConfig = Pick<Config, 'WS_MAX_SUBSCRIPTIONS' | 'WS_SEND_HIGH_WATER_BYTES' | 'WS_SLOW_CLIENT_MS'>;

export interface ConnectionDeps {
  config: ConnectionConfig;
  consumers: Consumers;
  metadata: Pick<Metadata, 'topic'>;
  kafkaUp: () => boolean;
  /** Verifies a `reauth` token; absent when authentication is off (reauth is then a no-op). */
  verifyToken?: ((token: string) => Promise<Principal>) | undefined;
  logger: Logger;
  metrics?: WsMetrics | undefined;
  /** The process-wide bound on bytes queued to all sockets (WS_SEND_BUDGET_BYTES). */
  budget?: SendBudget | undefined;
}

export interface ConnectionStats {
  id: number;
  sub: string | null;
  bufferedAmount: number;
  /** Highest bufferedAmount seen right after a send (the flow-control bound is high water + one frame). */
  maxBufferedAmount: number;
  overHighWater: boolean;
  queuedBytes: number;
  /** The code the gateway closed (or is closing) this socket with; null while open. */
  closeCode: number | null;
  /** When (Date.now()) the gateway sent that close; null while open. */
  closedAt: number | null;
  subscriptions: SubscriptionStats[];
}

/** How long a socket closed as too slow (4408) has to read up to its close frame before its connection is dropped. */
export const TOO_SLOW_CLOSE_MS = 5_000;

/** Longest setTimeout Node accepts; later expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Connection {
  private principal: Principal;
  private readonly subs = new Map<string, Subscription>();
  /** Subscriptions that sent `subscribed` (counted in metrics until they end). */
  private readonly live = new Set<Subscription>();
  private readonly out: SocketSender;
  private readonly log: Logger;
  private readonly rate = new FrameRate();
  private alive = true;
  private closing = false;
  private closeCode: number | null = null;
  private closedAt: number | null = null;
  private expiryTimer: NodeJS.Timeout | undefined;
  private subsClosed: Promise<void> | undefined;
  private readonly port: SocketPort;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    principal: Principal,
    private readonly deps: ConnectionDeps,
  ) {
    this.principal = principal;
    this.log = deps.logger.child({ conn: id, sub: principal.sub });
    this.out = new SocketSender(ws, {
      highWaterBytes: deps.config.WS_SEND_HIGH_WATER_BYTES,
      slowClientMs: deps.config.WS_SLOW_CLIENT_MS,
      onFlip: () => {
        for (const s of this.subs.values()) s.flowChanged();
      },
      onTooSlow: (reason, queuedBytes) => {
        this.log.info(
          { reason, queuedBytes },
          reason === 'budget'
            ? 'socket evicted: the process is over WS_SEND_BUDGET_BYTES'
            : 'broadcast socket too slow',
        );
        this.closeWith(CloseCodes.TOO_SLOW);
      },
      budget: deps.budget,
    });
    const out = this.out;
    this.port = {
      send: (text, onWritten) => out.send(text, onWritten),
      sendLossless: (frame) => out.sendLossless(frame),
      get over() {
        return out.over;
      },
      get open() {
        return out.open;
      },
      failed: (subId, frame) => {
        const sub = this.subs.get(subId);
        if (sub) this.forget(sub);
        this.sendError(frame);
      },
      logger: this.log,
    };
  }

  /** Wire the socket's events; start the URL shortcut's subscription if any. */
  start(shortcut?: SubscribeFrame): void {
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('pong', () => {
      this.alive = true;
    });
    this.ws.on('error', (e) => this.log.debug({ err: e.message }, 'socket error'));
    this.ws.on('close', (code) => {
      this.log.debug({ code }, 'socket closed');
      this.closing = true;
      this.clearTimers();
      void this.closeSubscriptions();
    });
    this.armExpiry();
    if (shortcut) this.dispatch(shortcut);
  }

  /** Called every WS_PING_INTERVAL_MS by the server: a peer that missed the last ping is dead. */
  heartbeat(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (!this.alive) {
      this.log.debug('missed pong: terminating');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Graceful shutdown: stop delivering, commit what was acknowledged, close 1001, leave groups. */
  async shutdown(): Promise<void> {
    if (this.closing) return this.closeSubscriptions();
    await Promise.allSettled([...this.subs.values()].map((s) => s.drain()));
    this.closeWith(CloseCodes.GOING_AWAY);
    await this.closeSubscriptions();
  }

  /**
   * Close with a code from the table (subscriptions stop at once; the socket closes after the handshake). A socket
   * closed as too slow (4408) gets TOO_SLOW_CLOSE_MS for that: its close frame waits behind everything its client
   * has not read, and until the TCP connection is gone those bytes stay in the gateway's memory, outside the send
   * budget (the socket left it) — for ws' own close timeout of 30 s otherwise (W4b in docs/performance.md).
   */
  closeWith(code: CloseCode): void {
    if (this.closing) return;
    this.closing = true;
    this.closeCode = code;
    this.closedAt = Date.now();
    this.clearTimers();
    void this.closeSubscriptions();
    this.log.debug({ code }, 'closing socket');
    this.ws.close(code, CLOSE_REASONS[code]);
    if (code === CloseCodes.TOO_SLOW) {
      const drop = setTimeout(() => this.ws.terminate(), TOO_SLOW_CLOSE_MS);
      drop.unref();
      this.ws.once('close', () => clearTimeout(drop));
    }
  }

  /** Drop the TCP connection now (shutdown, after the close handshake had its chance). */
  terminate(): void {
    this.closing = true;
    this.clearTimers();
    void this.closeSubscriptions();
    this.ws.terminate();
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      sub: this.principal.sub,
      bufferedAmount: this.ws.bufferedAmount,
      maxBufferedAmount: this.out.maxBufferedAmount,
      overHighWater: this.out.over,
      queuedBytes: this.out.backlogBytes,
      closeCode: this.closeCode,
      closedAt: this.closedAt,
      subscriptions: [...this.subs.values()].map((s) => s.stats()),
    };
  }

  // ---- sending ---------------------------------------------------------------------------------------------

  private send(text: string): void {
    this.out.send(text);
  }

  private sendError(frame: ErrorFrame): void {
    this.send(JSON.stringify(frame));
    if (!PROTOCOL_VIOLATIONS.has(frame.code)) return;
    if (this.rate.tooManyBad()) this.closeWith(CloseCodes.PROTOCOL_VIOLATION);
  }

  // ---- receiving -------------------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.closing) return;
    try {
      if (isBinary) {
        this.sendError({
          type: 'error',
          code: 'BAD_MESSAGE',
          message: 'Binary frames are not accepted: send JSON text.',
        });
        return;
      }
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      const parsed = parseClientFrame(text);
      if (!parsed.ok) {
        this.sendError({
          type: 'error',
          ...(parsed.id === undefined ? {} : { id: parsed.id }),
          code: 'BAD_MESSAGE',
          message: parsed.message,
        });
        return;
      }
      this.dispatch(parsed.frame);
    } catch (e) {
      this.fail(e, undefined);
    }
  }

  private fail(e: unknown, id: string | undefined): void {
    if (isInternal(e)) this.log.error({ err: e }, 'frame handling failed');
    this.sendError(toErrorFrame(e, id));
  }

  private dispatch(frame: ClientFrame): void {
    if (this.rate.over(frame.type === 'subscribe' || frame.type === 'ack' ? frame.type : 'control')) {
      this.log.info({ frame: frame.type }, 'frame rate over its budget');
      this.closeWith(CloseCodes.RATE_LIMITED);
      return;
    }
    switch (frame.type) {
      case 'subscribe':
        return this.subscribe(frame);
      case 'ack':
        return this.withSub(frame.id, (s) => s.ack(frame));
      case 'pause':
        return this.withSub(frame.id, (s) => s.pause());
      case 'resume':
        return this.withSub(frame.id, (s) => s.resume());
      case 'unsubscribe':
        return this.withSub(frame.id, (s) => {
          this.forget(s);
          void s.close();
        });
      case 'reauth':
        void this.reauth(frame.token);
        return;
      case 'ping':
        this.send('{"type":"pong"}');
        return;
    }
  }

  private withSub(id: string, fn: (s: Subscription) => void): void {
    const s = this.subs.get(id);
    if (!s) {
      this.sendError({ type: 'error', id, code: 'UNKNOWN_SUBSCRIPTION', message: `No subscription '${id}'.` });
      return;
    }
    try {
      fn(s);
    } catch (e) {
      this.fail(e, id);
    }
  }

  private subscribe(frame: SubscribeFrame): void {
    if (this.subs.has(frame.id)) {
      this.sendError({
        type: 'error',
        id: frame.id,
        code: 'DUPLICATE_ID',
        message: `Subscription '${frame.id}' exists already.`,
      });
      return;
    }
    if (this.subs.size >= this.deps.config.WS_MAX_SUBSCRIPTIONS) {
      this.sendError({
        type: 'error',
        id: frame.id,
        code: 'TOO_MANY_SUBSCRIPTIONS',
        message: `At most ${this.deps.config.WS_MAX_SUBSCRIPTIONS} subscriptions per socket.`,
      });
      return;
    }
    const deps: SubscriptionDeps = {
      consumers: this.deps.consumers,
      metadata: this.deps.metadata,
      kafkaUp: this.deps.kafkaUp,
      principal: () => this.principal,
      port: this.port,
      delivered: this.deps.metrics ? (mode, n) => this.deps.metrics!.wsDelivered(mode, n) : undefined,
    };
    const sub: Subscription =
      frame.mode === 'group'
        ? new GroupSubscription(deps, frame)
        : frame.mode === 'assign'
          ? new AssignSubscription(deps, frame)
          : new BroadcastSubscription(deps, frame);
    // Reserved now: the id and the slot count while Kafka joins.
    this.subs.set(frame.id, sub);
    sub.start().then(
      () => {
        if (this.subs.get(frame.id) !== sub || this.closing) return;
        this.live.add(sub);
        this.deps.metrics?.wsSubscribed(sub.mode);
      },
      (e: unknown) => {
        this.forget(sub);
        void sub.close();
        if (!this.closing) this.fail(e, frame.id);
      },
    );
  }

  // ---- authentication --------------------------------------------------------------------------------------

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const at = this.principal.expiresAt;
    if (at === null) return;
    const wait = at - Date.now();
    this.expiryTimer = setTimeout(
      () => {
        if (at - Date.now() > 0) return this.armExpiry();
        this.log.info('token expired without reauth');
        this.closeWith(CloseCodes.UNAUTHENTICATED);
      },
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
  }

  private async reauth(token: string): Promise<void> {
    const verify = this.deps.verifyToken;
    if (!verify) return; // authentication is off: nothing expires
    let next: Principal;
    try {
      next = await verify(token);
    } catch (e) {
      this.sendError({
        type: 'error',
        code: 'FORBIDDEN',
        message: reauthRefusal(e instanceof Error ? e.message : 'invalid token'),
      });
      return;
    }
    if (this.closing) return;
    if (next.sub !== this.principal.sub) {
      this.sendError({
        type: 'error',
        code: 'FORBIDDEN',
        message: reauthRefusal('the token is for another subject.'),
      });
      return;
    }
    this.principal = next;
    this.armExpiry();
    // An open subscription whose rights went away ends the socket (docs/websocket.md: 4403).
    if ([...this.subs.values()].some((s) => !s.allowedFor(next))) this.closeWith(CloseCodes.FORBIDDEN);
  }

  // ---- teardown --------------------------------------------------------------------------------------------

  private clearTimers(): void {
    this.out.stop();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  /** Drop a subscription from this socket (and from the metrics if it was live). */
  private forget(sub: Subscription): void {
    if (this.subs.get(sub.id) === sub) this.subs.delete(sub.id);
    if (this.live.delete(sub)) this.deps.metrics?.wsUnsubscribed(sub.mode);
  }

  /** Close every subscription (group members commit what was acknowledged, then leave at once). */
  private closeSubscriptions(): Promise<void> {
    this.subsClosed ??= (async () => {
      const subs = [...this.subs.values()];
      for (const s of subs) this.forget(s);
      await Promise.allSettled(subs.map((s) => s.close()));
    })();
    return this.subsClosed;
  }
}
