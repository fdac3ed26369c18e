/**
 * The part group and assign subscriptions share: records from a pausable Kafka session into the socket under
 * flow control. Kafka is read only while the client has not paused, the ack window has room and the socket
 * is under its high water; otherwise the session is paused and the refused record is fetched again later.
 */
import { mayRead } from '../../auth/authorize.js';
import type { Principal } from '../../auth/principal.js';
import type { ConsumedRecord, ConsumerSession, RecordSink, TopicPartition } from '../../kafka/index.js';
import { toErrorFrame, WsError } from '../close-codes.js';
import { recordBody, recordFrame } from '../encode.js';
import { AckWindow } from '../flow.js';
import {
  DEFAULTS,
  type AckFrame,
  type Format,
  type Mode,
  type SubscribeAssign,
  type SubscribeGroup,
} from '../protocol.js';
import { readAccess, type SubscriptionDeps, type Subscription, type SubscriptionStats } from './types.js';

export abstract class PumpedSubscription<F extends SubscribeGroup | SubscribeAssign> implements Subscription {
  abstract readonly mode: Mode;
  protected session: ConsumerSession | undefined;
  protected readonly window: AckWindow;
  protected readonly format: Format;
  protected readonly manualAck: boolean;
  protected started = false;
  protected closed = false;
  private clientPaused = false;
  private kafkaPaused = false;
  private delivered = 0;
  private closing: Promise<void> | undefined;

  readonly id: string;

  constructor(
    protected readonly deps: SubscriptionDeps,
    protected readonly frame: F,
  ) {
    this.id = frame.id;
    this.format = frame.format ?? DEFAULTS.format;
    this.manualAck = (frame.ack ?? DEFAULTS.ack) === 'manual';
    this.window = new AckWindow(frame.window ?? DEFAULTS.window);
  }

  abstract start(): Promise<void>;

  allowedFor(p: Principal): boolean {
    return mayRead(p, readAccess(this.frame));
  }
  /** Called for an acknowledged record (manual ack, or written to the socket with ack=auto); commit = offset + 1. */
  protected abstract acknowledged(tp: TopicPartition, commit: number): void;

  /** The sink handed to the Kafka session. */
  protected sink(): RecordSink {
    return {
      onRecord: (r) => this.onRecord(r),
      onFatal: (e) => {
        if (this.closed) return;
        this.closed = true;
        this.deps.port.failed(this.id, toErrorFrame(e, this.id));
      },
    };
  }

  private get blocked(): boolean {
    return !this.started || this.clientPaused || this.window.full || this.deps.port.over;
  }

  private onRecord(r: ConsumedRecord): boolean {
    if (this.closed || !this.deps.port.open) return false;
    if (this.blocked) {
      this.updateFlow();
      return false;
    }
    this.window.delivered(r, r.offset);
    this.delivered++;
    this.deps.delivered?.(this.mode, 1);
    const frame = recordFrame(this.id, recordBody(r, this.format));
    this.deps.port.send(frame, this.manualAck ? undefined : () => this.onAck(r, r.offset));
    this.updateFlow();
    return true;
  }

  /** Called once `subscribed` was sent: from now on records flow. */
  protected markStarted(): void {
    this.started = true;
    this.updateFlow();
  }

  /** Pause or resume the Kafka session to match the flow state. */
  protected updateFlow(): void {
    if (!this.session || this.closed) return;
    const want = this.blocked;
    if (want === this.kafkaPaused) return;
    this.kafkaPaused = want;
    if (want) this.session.pause();
    else this.session.resume();
  }

  private onAck(tp: TopicPartition, offset: number): void {
    if (this.closed) return;
    const res = this.window.ack(tp, offset);
    if (res.kind === 'ok') {
      this.acknowledged(tp, res.commit);
      if (res.released > 0) this.updateFlow();
    }
  }

  ack(frame: AckFrame): void {
    // With ack=auto the gateway acknowledges on write; a client's ack adds nothing.
    if (!this.manualAck || this.closed) return;
    const tp = { topic: frame.topic, partition: frame.partition };
    const res = this.window.ack(tp, frame.offset);
    if (res.kind === 'beyond-delivered')
      throw new WsError(
        'BAD_MESSAGE',
        `ack offset ${frame.offset} of ${frame.topic}/${frame.partition} was never delivered (last: ${res.maxDelivered}).`,
      );
    // unknown-partition: revoked by a rebalance in the meantime; its new owner reads it from the last commit.
    if (res.kind === 'ok') {
      this.acknowledged(tp, res.commit);
      this.updateFlow();
    }
  }

  pause(): void {
    this.clientPaused = true;
    this.updateFlow();
  }

  resume(): void {
    this.clientPaused = false;
    this.updateFlow();
  }

  flowChanged(): void {
    this.updateFlow();
  }

  async drain(): Promise<void> {
    this.clientPaused = true;
    this.updateFlow();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.session?.close();
    })();
    return this.closing;
  }

  stats(): SubscriptionStats {
    return {
      id: this.id,
      mode: this.mode,
      delivered: this.delivered,
      unacked: this.window.unacked,
      paused: this.kafkaPaused,
      assignment: [...(this.session?.assignment ?? [])],
    };
  }
}
