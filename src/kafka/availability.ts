/**
 * Is the cluster reachable? Requests are refused with 503 50302 at once while it is not, instead of each
 * waiting out kafkajs's retries. A failed send or connect marks it down; a background probe brings it back.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger.js';

export interface AvailabilityOptions {
  /** A cheap round-trip to the cluster (e.g. describeCluster); rejects when unreachable. */
  probe: () => Promise<void>;
  /** Called after a successful probe that ends an outage (e.g. reconnect the producer). */
  onRecover?: () => Promise<void>;
  intervalMs?: number;
  logger: Logger;
}

export class Availability extends EventEmitter {
  private up = false;
  private reason = 'not connected yet';
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: AvailabilityOptions) {
    super();
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  get isUp(): boolean {
    return this.up;
  }

  get lastError(): string {
    return this.reason;
  }

  markUp(): void {
    if (!this.up) {
      this.up = true;
      this.opts.logger.info('Kafka reachable');
      this.emit('up');
    }
  }

  markDown(reason: string): void {
    if (this.closed) return;
    if (this.up || this.reason !== reason) this.opts.logger.warn({ reason }, 'Kafka unreachable; refusing requests with 503 until it answers');
    this.up = false;
    this.reason = reason;
    this.emit('down', reason);
    this.schedule();
  }

  /** Probe now (start-up), then keep probing while down. */
  async start(): Promise<void> {
    await this.probeOnce();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probeOnce();
    }, this.intervalMs);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.opts.probe();
      if (!this.up) await this.opts.onRecover?.();
      this.markUp();
    } catch (e) {
      const reason = e instanceof Error ? e.message.slice(0, 300) : String(e);
      this.up = false;
      if (this.reason !== reason) this.opts.logger.warn({ reason }, 'Kafka unreachable');
      this.reason = reason;
      this.schedule();
    } finally {
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
