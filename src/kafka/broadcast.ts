/**
 * Broadcast: ONE reader per topic per process, however many watchers. Every record is handed to every
 * watcher synchronously and the reader never waits for one: a slow watcher buffers or gives up on its own
 * side (src/ws/), so it cannot slow the others. The reader starts with the first watcher and stops with the last.
 */
import type { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { watermarks, type ConsumerContext } from './consumer-common.js';
import type { BroadcastSink, BroadcastWatch, ConsumedRecord, TopicPartitionOffset } from './consumer-types.js';
import { toGatewayError } from './errors.js';
import { startPrivateConsumer } from './private-consumer.js';
import type { AssignSession, RecordSink } from './consumer-types.js';

/** Starts the topic's one reader (kafkajs's private consumer, or @platformatic/kafka's reader: consumers.ts picks). */
export type StartReader = (
  opts: { kind: 'broadcast'; positions: TopicPartitionOffset[] },
  sink: RecordSink,
) => Promise<AssignSession>;

/** Records held for a watcher while its start positions are read (a round-trip); more means something is wrong. */
const MAX_PENDING_RECORDS = 10_000;

class Watcher implements BroadcastWatch {
  positions: readonly TopicPartitionOffset[] = [];
  closed = false;
  private start: Map<number, number> | undefined;
  private pending: ConsumedRecord[] = [];

  constructor(
    private readonly hub: TopicBroadcast,
    private readonly sink: BroadcastSink,
  ) {}

  offer(r: ConsumedRecord): void {
    if (this.closed) return;
    if (!this.start) {
      if (this.pending.length < MAX_PENDING_RECORDS) this.pending.push(r);
      return;
    }
    // Records before the watcher's positions were produced before it joined.
    if (r.offset < (this.start.get(r.partition) ?? 0)) return;
    this.sink.onRecord(r);
  }

  begin(positions: TopicPartitionOffset[]): void {
    this.positions = positions;
    this.start = new Map(positions.map((p) => [p.partition, p.offset]));
    const held = this.pending;
    this.pending = [];
    for (const r of held) this.offer(r);
  }

  fail(e: GatewayError): void {
    if (this.closed) return;
    this.close();
    this.sink.onFatal?.(e);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.hub.remove(this);
  }
}

export class TopicBroadcast {
  private readonly watchers = new Set<Watcher>();
  private reader: AssignSession | undefined;
  private started: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly ctx: ConsumerContext,
    readonly topic: string,
    /** Called once when the last watcher left (the owner forgets this hub; a new watcher makes a new one). */
    private readonly onStop: () => void,
    private readonly openReader: StartReader = (opts, sink) => startPrivateConsumer(ctx, opts, sink),
  ) {
    this.log = ctx.logger.child({ component: 'broadcast', topic });
  }

  get size(): number {
    return this.watchers.size;
  }

  async watch(sink: BroadcastSink): Promise<BroadcastWatch> {
    const w = new Watcher(this, sink);
    // Registered before its positions are read: nothing fetched from then on can slip past it.
    this.watchers.add(w);
    try {
      this.started ??= this.startReader();
      await this.started;
      const marks = await watermarks(this.ctx.admin, this.topic);
      w.begin(
        [...marks]
          .map(([partition, m]) => ({ topic: this.topic, partition, offset: m.high }))
          .sort((a, b) => a.partition - b.partition),
      );
      return w;
    } catch (e) {
      w.close();
      throw toGatewayError(e);
    }
  }

  private async startReader(): Promise<void> {
    // The reader starts at or before every watcher's positions (they are read after this).
    const marks = await watermarks(this.ctx.admin, this.topic);
    const positions = [...marks].map(([partition, m]) => ({ topic: this.topic, partition, offset: m.high }));
    const reader = await this.openReader(
      { kind: 'broadcast', positions },
      {
        onRecord: (r) => {
          for (const w of this.watchers) {
            try {
              w.offer(r);
            } catch (e) {
              this.log.error({ err: e }, 'watcher failed; closing it');
              w.close();
            }
          }
          return true;
        },
        onFatal: (e) => {
          for (const w of [...this.watchers]) w.fail(e);
        },
      },
    );
    if (this.stopping) await reader.close();
    else this.reader = reader;
  }

  remove(w: Watcher): void {
    this.watchers.delete(w);
    if (this.watchers.size === 0) void this.stop();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.onStop();
      await this.started?.catch(() => {});
      await this.reader?.close();
      this.log.debug('broadcast reader stopped');
    })();
    return this.stopping;
  }

  close(): Promise<void> {
    for (const w of [...this.watchers]) w.close();
    return this.stop();
  }
}
