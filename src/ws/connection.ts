/**
 * One WebSocket: frame dispatch, bad-frame counting (→ 4400), the send buffer's water marks (→ pause or 4408),
 * the token's expiry (→ 4401 unless a `reauth` came), liveness (ping/pong), and its subscriptions' lifecycle.
 */
import type { WebSocket, RawData } from 'ws';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { Consumers, Metadata } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import {
  BAD_FRAME_LIMIT,
  BAD_FRAME_WINDOW_MS,
  CLOSE_REASONS,
  CloseCodes,
  PROTOCOL_VIOLATIONS,
  isInternal,
  toErrorFrame,
  type CloseCode,
} from './close-codes.js';
import { SendWater } from './flow.js';
import { parseClientFrame, type ClientFrame, type ErrorFrame, type SubscribeFrame } from './protocol.js';
import { AssignSubscription } from './sessions/assign.js';
import { BroadcastSubscription } from './sessions/broadcast.js';
import { GroupSubscription } from './sessions/group.js';
import type { SessionDeps, SocketPort, Subscription, SubscriptionStats } from './sessions/types.js';

/** The WebSocket counters of the gateway's metrics. */
export type WsMetrics = Pick<Metrics, 'wsSocketOpened' | 'wsSocketClosed' | 'wsSubscribed' | 'wsUnsubscribed' | 'wsDelivered'>;

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
  subscriptions: SubscriptionStats[];
}

/** Longest setTimeout Node accepts; later expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Connection {
  private principal: Principal;
  private readonly subs = new Map<string, Subscription>();
  /** Subscriptions that sent `subscribed` (counted in metrics until they end). */
  private readonly live = new Set<Subscription>();
  private readonly water: SendWater;
  private readonly log: Logger;
  private readonly badFrames: number[] = [];
  private alive = true;
  private closing = false;
  private closeCode: number | null = null;
  private maxBuffered = 0;
  private queue: string[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private slowTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private subsClosed: Promise<void> | undefined;
  private readonly port: SocketPort;
  private readonly written = () => this.afterWrite();

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    principal: Principal,
    private readonly deps: ConnectionDeps,
  ) {
    this.principal = principal;
    this.water = new SendWater(deps.config.WS_SEND_HIGH_WATER_BYTES);
    this.log = deps.logger.child({ conn: id, sub: principal.sub });
    const self = this;
    this.port = {
      send: (text, onWritten) => this.send(text, onWritten),
      sendLossless: (text) => this.sendLossless(text),
      get over() {
        return self.water.over;
      },
      get open() {
        return !self.closing && self.ws.readyState === self.ws.OPEN;
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
    if (shortcut) this.subscribe(shortcut);
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

  /** Close with a code from the table (subscriptions stop at once; the socket closes after the handshake). */
  closeWith(code: CloseCode): void {
    if (this.closing) return;
    this.closing = true;
    this.closeCode = code;
    this.clearTimers();
    this.queue = [];
    this.queuedBytes = 0;
    void this.closeSubscriptions();
    this.log.debug({ code }, 'closing socket');
    this.ws.close(code, CLOSE_REASONS[code]);
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
      maxBufferedAmount: this.maxBuffered,
      overHighWater: this.water.over,
      queuedBytes: this.queuedBytes,
      closeCode: this.closeCode,
      subscriptions: [...this.subs.values()].map((s) => s.stats()),
    };
  }

  // ---- sending ---------------------------------------------------------------------------------------------

  private send(text: string, onWritten?: () => void): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(
      text,
      onWritten
        ? (err) => {
            if (!err) onWritten();
            this.afterWrite();
          }
        : this.written,
    );
    const b = this.ws.bufferedAmount;
    if (b > this.maxBuffered) this.maxBuffered = b;
    if (this.water.update(b)) this.flipped();
  }

  private afterWrite(): void {
    if (this.water.over && this.water.update(this.ws.bufferedAmount)) this.flipped();
  }

  private flipped(): void {
    if (!this.water.over) this.flushQueue();
    for (const s of this.subs.values()) s.flowChanged();
  }

  private sendLossless(text: string): void {
    if (this.closing) return;
    if (!this.water.over && this.queueHead === this.queue.length) {
      this.send(text);
      return;
    }
    this.queue.push(text);
    this.queuedBytes += Buffer.byteLength(text);
    // The queue is bounded like the socket buffer: a socket this far behind will not catch up.
    if (this.queuedBytes > this.deps.config.WS_SEND_HIGH_WATER_BYTES) {
      this.log.info({ queuedBytes: this.queuedBytes }, 'broadcast socket too slow: queue overflow');
      this.closeWith(CloseCodes.TOO_SLOW);
      return;
    }
    this.slowTimer ??= setTimeout(() => {
      this.slowTimer = undefined;
      if (this.queueHead < this.queue.length) {
        this.log.info({ queuedBytes: this.queuedBytes }, 'broadcast socket too slow: over its bound for WS_SLOW_CLIENT_MS');
        this.closeWith(CloseCodes.TOO_SLOW);
      }
    }, this.deps.config.WS_SLOW_CLIENT_MS);
  }

  private flushQueue(): void {
    while (this.queueHead < this.queue.length && !this.water.over && !this.closing) {
      const text = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = '';
      this.queuedBytes -= Buffer.byteLength(text);
      this.send(text);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      this.queuedBytes = 0;
      clearTimeout(this.slowTimer);
      this.slowTimer = undefined;
    }
  }

  private sendError(frame: ErrorFrame): void {
    this.send(JSON.stringify(frame));
    if (!PROTOCOL_VIOLATIONS.has(frame.code)) return;
    const now = Date.now();
    this.badFrames.push(now);
    while (this.badFrames.length > 0 && this.badFrames[0]! <= now - BAD_FRAME_WINDOW_MS) this.badFrames.shift();
    if (this.badFrames.length >= BAD_FRAME_LIMIT) this.closeWith(CloseCodes.PROTOCOL_VIOLATION);
  }

  // ---- receiving -------------------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.closing) return;
    try {
      if (isBinary) {
        this.sendError({ type: 'error', code: 'BAD_MESSAGE', message: 'Binary frames are not accepted: send JSON text.' });
        return;
      }
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      const parsed = parseClientFrame(text);
      if (!parsed.ok) {
        this.sendError({ type: 'error', ...(parsed.id === undefined ? {} : { id: parsed.id }), code: 'BAD_MESSAGE', message: parsed.message });
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
      this.sendError({ type: 'error', id: frame.id, code: 'DUPLICATE_ID', message: `Subscription '${frame.id}' exists already.` });
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
    const deps: SessionDeps = {
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
      this.sendError({ type: 'error', code: 'FORBIDDEN', message: `reauth refused: ${e instanceof Error ? e.message : 'invalid token'}` });
      return;
    }
    if (this.closing) return;
    if (next.sub !== this.principal.sub) {
      this.sendError({ type: 'error', code: 'FORBIDDEN', message: 'reauth refused: the token is for another subject.' });
      return;
    }
    this.principal = next;
    this.armExpiry();
    // An open subscription whose rights went away ends the socket (WS_PROTOCOL.md: 4403).
    if ([...this.subs.values()].some((s) => !s.allowedFor(next))) this.closeWith(CloseCodes.FORBIDDEN);
  }

  // ---- teardown --------------------------------------------------------------------------------------------

  private clearTimers(): void {
    clearTimeout(this.slowTimer);
    clearTimeout(this.expiryTimer);
    this.slowTimer = undefined;
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
