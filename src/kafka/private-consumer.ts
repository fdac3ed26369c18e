/**
 * Reads chosen partitions from chosen offsets, with no group balancing and no commits (assign mode, and the
 * shared broadcast consumer).
 *
 * Design: kafkajs has no manual `assign()`; its low-level fetch is internal API. So each reader is the only
 * member of a private, randomly named group whose custom assigner (fixedAssigner) hands it exactly the wanted
 * partitions. That keeps kafkajs's tested fetch loop, pause/resume and seek. Offsets are never committed: the
 * reader tracks its own next offset per partition and seeks to it on every join, so a rejoin (coordinator
 * move, restart after a crash) resumes where it was instead of at Kafka's reset policy. The cost is one
 * group join per reader (on brokers with group.initial.rebalance.delay.ms > 0 that adds that delay once).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import {
  createConsumer,
  feedBatch,
  firstJoin,
  fixedAssigner,
  flattenAssignment,
  isClientBug,
  RestartBudget,
  tpKey,
  type ConsumerContext,
} from './consumer-common.js';
import type { AssignSession, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { describeKafkaError, toGatewayError } from './errors.js';

export interface PrivateConsumerOptions {
  /** Names the private group (`<client id>.<kind>.<uuid>`), so operators can tell them apart and grant ACLs by prefix. */
  kind: 'assign' | 'broadcast';
  /** The partitions to read and the first offset of each. */
  positions: TopicPartitionOffset[];
}

export async function startPrivateConsumer(ctx: ConsumerContext, opts: PrivateConsumerOptions, sink: RecordSink): Promise<PrivateConsumer> {
  const c = new PrivateConsumer(ctx, opts, sink);
  try {
    await c.start();
  } catch (e) {
    await c.close();
    throw toGatewayError(e);
  }
  return c;
}

export class PrivateConsumer implements AssignSession {
  readonly groupId: string;
  /** The start offset of each partition, as resolved before reading. */
  readonly positions: readonly TopicPartitionOffset[];
  private consumer: Consumer;
  private readonly log: Logger;
  private readonly restarts = new RestartBudget();
  private readonly wanted: Record<string, number[]> = {};
  private started = false;
  /** Next offset to hand to the sink, per partition. */
  private readonly next = new Map<string, TopicPartitionOffset>();
  private readonly topics: string[];
  private userPaused = false;
  private pausedInKafka = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly ctx: ConsumerContext,
    opts: PrivateConsumerOptions,
    private readonly sink: RecordSink,
  ) {
    this.groupId = `${ctx.settings.KAFKA_CLIENT_ID}.${opts.kind}.${randomUUID()}`;
    this.positions = opts.positions.map((p) => ({ ...p }));
    for (const p of opts.positions) this.next.set(tpKey(p), { ...p });
    this.topics = [...new Set(opts.positions.map((p) => p.topic))];
    for (const p of opts.positions) (this.wanted[p.topic] ??= []).push(p.partition);
    this.log = ctx.logger.child({ component: `${opts.kind}-consumer` });
    this.consumer = this.spawn();
  }

  /** A kafkajs consumer wired to this reader (events of a replaced one are ignored). */
  private spawn(): Consumer {
    const c = createConsumer(this.ctx, this.groupId, [fixedAssigner(() => this.wanted)]);
    c.on(c.events.GROUP_JOIN, (e) => {
      if (c === this.consumer) this.onJoin(e.payload.memberAssignment);
    });
    c.on(c.events.CRASH, (e) => {
      if (c === this.consumer && !e.payload.restart && !this.closed) this.onCrash(e.payload.error);
    });
    return c;
  }

  private onCrash(error: Error): void {
    if (this.started && isClientBug(error) && this.restarts.take()) {
      this.log.warn({ err: error.message, stack: error.stack }, 'kafkajs consumer failed internally; replacing it');
      this.pausedInKafka = false;
      this.consumer = this.spawn();
      void this.run().catch((e: unknown) => this.fail(e));
      return;
    }
    this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.log.warn({ err: describeKafkaError(error), stack: error instanceof Error ? error.stack : undefined }, 'reader stopped');
    const err = toGatewayError(error);
    void this.close().then(() => this.sink.onFatal?.(err));
  }

  get assignment(): readonly TopicPartition[] {
    return [...this.next.values()].map(({ topic, partition }) => ({ topic, partition }));
  }


  get paused(): boolean {
    return this.userPaused;
  }

  async start(): Promise<void> {
    const joined = firstJoin(this.consumer);
    joined.catch(() => {});
    await this.run();
    await joined;
    this.started = true;
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) =>
        feedBatch(
          payload,
          (r) => {
            if (this.closed) return false;
            const k = tpKey(r);
            const pos = this.next.get(k);
            if (pos && r.offset < pos.offset) return true; // already handed over (a refetch after a rejoin)
            const taken = this.sink.onRecord(r);
            if (!taken) {
              this.pause();
              return false;
            }
            if (pos) pos.offset = r.offset + 1;
            return true;
          },
          () => this.closed || this.pausedInKafka,
          this.log,
        ),
    });
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    if (this.closed) return;
    // A join resets kafkajs's positions to the (never written) committed offsets: put ours back first.
    for (const tp of flattenAssignment(memberAssignment)) {
      const pos = this.next.get(tpKey(tp));
      if (pos) this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(pos.offset) });
    }
    this.setKafkaPaused(this.userPaused, true);
  }

  pause(): void {
    this.userPaused = true;
    this.setKafkaPaused(true);
  }

  resume(): void {
    this.userPaused = false;
    this.setKafkaPaused(false);
  }

  private setKafkaPaused(want: boolean, force = false): void {
    if (this.closed || (want === this.pausedInKafka && !force)) return;
    const topics = this.topics.map((topic) => ({ topic }));
    try {
      if (want) this.consumer.pause(topics);
      else this.consumer.resume(topics);
      this.pausedInKafka = want;
    } catch {
      // Not running (yet, or any more): the next join applies the state again.
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.consumer.disconnect().catch((e: unknown) => this.log.debug({ err: describeKafkaError(e) }, 'disconnect failed'));
    })();
    return this.closing;
  }
}
