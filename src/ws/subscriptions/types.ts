/**
 * What a subscription (one `subscribe`, any mode) needs from its socket and gives back to it. Subscriptions
 * never touch the WebSocket itself: the connection owns sending, the water marks and closing.
 */
import { authorizeRead, type ReadAccess } from '../../auth/authorize.js';
import type { Principal } from '../../auth/principal.js';
import type { Consumers, Metadata, TopicPartition } from '../../kafka/index.js';
import type { Logger } from '../../observability/logger.js';
import { errors } from '../../errors.js';
import type { FrameSource } from '../frames.js';
import type { AckFrame, ErrorFrame, Mode, SubscribeFrame } from '../protocol.js';

export interface SocketPort {
  /**
   * Send a text frame (its text, or a source that writes its UTF-8 bytes; a source is used during the call only);
   * `onWritten` runs once the socket handed it to the OS (never for a dead socket).
   */
  send(frame: string | FrameSource, onWritten?: () => void): void;
  /** Broadcast frames (text, or its UTF-8 bytes shared by many sockets): sent now, or queued (bounded) while the
   * socket is over high water; overflow → 4408. */
  sendLossless(frame: string | Buffer): void;
  /** The socket's send buffer is over its high water (with hysteresis). */
  readonly over: boolean;
  readonly open: boolean;
  /** An error about this subscription that ended it (e.g. Kafka failure): send the frame, forget the subscription. */
  failed(id: string, frame: ErrorFrame): void;
  readonly logger: Logger;
}

export interface SubscriptionDeps {
  consumers: Consumers;
  metadata: Pick<Metadata, 'topic'>;
  /** Is Kafka reachable now (cheap, no I/O)? */
  kafkaUp: () => boolean;
  principal: () => Principal;
  port: SocketPort;
  /** Counts record frames sent (metrics). */
  delivered?: ((mode: Mode, records: number) => void) | undefined;
}

export interface SubscriptionStats {
  id: string;
  mode: Mode;
  delivered: number;
  unacked: number;
  /** Not reading from Kafka now (client pause, full window, or socket over high water). */
  paused: boolean;
  assignment: TopicPartition[];
}

export interface Subscription {
  readonly id: string;
  readonly mode: Mode;
  /** Check rights, start reading, send `subscribed`. Rejects with a WsError/GatewayError (the caller sends the error frame). */
  start(): Promise<void>;
  ack(frame: AckFrame): void;
  /** The client's `pause` / `resume`. */
  pause(): void;
  resume(): void;
  /** The socket's send buffer crossed a water mark. */
  flowChanged(): void;
  /** After a reauth: does `p` still hold every right this subscription uses? */
  allowedFor(p: Principal): boolean;
  /** Stop delivering and commit what was acknowledged (shutdown, before the 1001 close). */
  drain(): Promise<void>;
  /** Stop for good: commit acknowledged offsets, leave the group, release the reader. Idempotent. */
  close(): Promise<void>;
  stats(): SubscriptionStats;
}

/** The rights a subscription needs (checked at the upgrade's shortcut, at `subscribe`, and after a `reauth`). */
export function readAccess(frame: SubscribeFrame): ReadAccess {
  if (frame.mode === 'assign') return { topics: new Set(frame.partitions.map((p) => p.topic)) };
  return { topics: new Set(frame.topics), ...(frame.mode === 'group' ? { group: frame.group } : {}) };
}

/**
 * May `principal` read what `frame` names, and does it exist? The one check for a `subscribe` frame and the
 * upgrade's URL shortcut: rights first (so a forbidden caller learns nothing about existence), then Kafka
 * reachable, then every topic, then (assign) every partition. Throws GatewayErrors — 403 40301, 503 50302,
 * 404 40401/40402 — which the upgrade answers as plain HTTP and a socket as an error frame (close-codes.ts).
 */
export async function checkReadable(
  frame: SubscribeFrame,
  principal: Principal,
  kafka: Pick<SubscriptionDeps, 'metadata' | 'kafkaUp'>,
): Promise<void> {
  const access = readAccess(frame);
  authorizeRead(principal, access);
  if (!kafka.kafkaUp()) throw errors.kafkaUnavailable('No Kafka broker is reachable.');
  const counts = new Map<string, number>();
  for (const t of access.topics) {
    const info = await kafka.metadata.topic(t);
    if (!info) throw errors.topicNotFound(t);
    counts.set(t, info.partitions);
  }
  if (frame.mode === 'assign')
    for (const p of frame.partitions)
      if (p.partition >= (counts.get(p.topic) ?? 0)) throw errors.partitionNotFound(p.topic, p.partition);
}

/** checkReadable for a subscription of this socket. */
export function checkTopics(deps: SubscriptionDeps, frame: SubscribeFrame): Promise<void> {
  return checkReadable(frame, deps.principal(), deps);
}
