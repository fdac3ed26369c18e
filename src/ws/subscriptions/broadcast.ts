/**
 * Broadcast mode: new records of the topics, through the process's one shared reader per topic, optionally
 * filtered by key or key prefix. Nothing is committed and Kafka is never paused for one socket: records for a
 * socket over its high water are queued (bounded) and a socket that stays over for WS_SLOW_CLIENT_MS, or
 * overflows the queue, is closed with 4408 by the connection. A client `pause` drops records until `resume`
 * (a live view skips what happened while paused).
 */
import { mayRead } from '../../auth/authorize.js';
import type { Principal } from '../../auth/principal.js';
import type { BroadcastWatch, ConsumedRecord, TopicPartition } from '../../kafka/index.js';
import { toErrorFrame } from '../close-codes.js';
import { sharedRecordFrame } from '../encode.js';
import { DEFAULTS, type Format, keyMatcher, type SubscribeBroadcast } from '../protocol.js';
import { checkTopics, readAccess, type SubscriptionDeps, type Subscription, type SubscriptionStats } from './types.js';

/** Records held between the readers starting and the `subscribed` frame (normally none). */
const MAX_HELD_RECORDS = 10_000;

export class BroadcastSubscription implements Subscription {
  readonly mode = 'broadcast' as const;
  readonly id: string;
  private readonly format: Format;
  private readonly match: (key: Buffer | null) => boolean;
  private watches: BroadcastWatch[] = [];
  private held: ConsumedRecord[] | undefined = [];
  private clientPaused = false;
  private closed = false;
  private delivered = 0;
  private assignment: TopicPartition[] = [];

  constructor(
    private readonly deps: SubscriptionDeps,
    private readonly frame: SubscribeBroadcast,
  ) {
    this.id = frame.id;
    this.format = frame.format ?? DEFAULTS.format;
    this.match = keyMatcher(frame.filter);
  }

  allowedFor(p: Principal): boolean {
    return mayRead(p, readAccess(this.frame));
  }

  async start(): Promise<void> {
    const topics = [...new Set(this.frame.topics)];
    await checkTopics(this.deps, this.frame);
    const sink = {
      onRecord: (r: ConsumedRecord) => this.onRecord(r),
      onFatal: (e: unknown) => {
        if (this.closed) return;
        void this.close();
        this.deps.port.failed(this.id, toErrorFrame(e, this.id));
      },
    };
    const results = await Promise.allSettled(topics.map((t) => this.deps.consumers.broadcast(t, sink)));
    this.watches = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed || this.closed || !this.deps.port.open) {
      this.closed = true;
      this.release();
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return;
    }
    const positions = this.watches.flatMap((w) => w.positions);
    this.assignment = positions.map(({ topic, partition }) => ({ topic, partition }));
    this.deps.port.send(
      JSON.stringify({ type: 'subscribed', id: this.id, mode: 'broadcast', assignment: this.assignment, positions }),
    );
    const held = this.held ?? [];
    this.held = undefined;
    for (const r of held) this.onRecord(r);
  }

  private onRecord(r: ConsumedRecord): void {
    if (this.closed) return;
    if (this.held) {
      if (this.held.length < MAX_HELD_RECORDS) this.held.push(r);
      return;
    }
    if (this.clientPaused || !this.match(r.key) || !this.deps.port.open) return;
    this.delivered++;
    this.deps.delivered?.(this.mode, 1);
    this.deps.port.sendLossless(sharedRecordFrame(r, this.id, this.format));
  }

  ack(): void {
    // Broadcast commits nothing; acks are accepted and ignored.
  }

  pause(): void {
    this.clientPaused = true;
  }

  resume(): void {
    this.clientPaused = false;
  }

  flowChanged(): void {
    // The shared reader never waits for one socket; the connection queues and enforces WS_SLOW_CLIENT_MS.
  }

  async drain(): Promise<void> {
    this.clientPaused = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release();
  }

  private release(): void {
    this.held = undefined;
    for (const w of this.watches) w.close();
    this.watches = [];
  }

  stats(): SubscriptionStats {
    return {
      id: this.id,
      mode: this.mode,
      delivered: this.delivered,
      unacked: 0,
      paused: this.clientPaused,
      assignment: [...this.assignment],
    };
  }
}
