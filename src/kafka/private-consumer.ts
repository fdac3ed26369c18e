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
import {
  createConsumer,
  fixedAssigner,
  flattenAssignment,
  startOrClose,
  tpKey,
  type ConsumerContext,
} from './consumer-common.js';
import type { AssignSession, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { describeKafkaError } from './errors.js';
import { SelfHealingConsumer } from './self-healing-consumer.js';

export interface PrivateConsumerOptions {
  /** Names the private group (`<client id>.<kind>.<uuid>`), so operators can tell them apart and grant ACLs by prefix. */
  kind: 'assign' | 'broadcast';
  /** The partitions to read and the first offset of each. */
  positions: TopicPartitionOffset[];
}

export async function startPrivateConsumer(
  ctx: ConsumerContext,
  opts: PrivateConsumerOptions,
  sink: RecordSink,
): Promise<PrivateConsumer> {
  return startOrClose(new PrivateConsumer(ctx, opts, sink));
}

export class PrivateConsumer extends SelfHealingConsumer implements AssignSession {
  readonly groupId: string;
  /** The start offset of each partition, as resolved before reading. */
  readonly positions: readonly TopicPartitionOffset[];
  private readonly wanted: Record<string, number[]> = {};
  /** Next offset to hand to the sink, per partition. */
  private readonly next = new Map<string, TopicPartitionOffset>();
  private readonly topics: string[];
  private closing: Promise<void> | undefined;

  constructor(ctx: ConsumerContext, opts: PrivateConsumerOptions, sink: RecordSink) {
    const topics = [...new Set(opts.positions.map((p) => p.topic))];
    super(ctx, sink, ctx.logger.child({ component: `${opts.kind}-consumer` }), topics, 'reader stopped');
    this.topics = topics;
    this.groupId = `${ctx.settings.KAFKA_CLIENT_ID}.${opts.kind}.${randomUUID()}`;
    this.positions = opts.positions.map((p) => ({ ...p }));
    for (const p of opts.positions) this.next.set(tpKey(p), { ...p });
    for (const p of opts.positions) (this.wanted[p.topic] ??= []).push(p.partition);
    this.consumer = this.spawn();
  }

  protected newConsumer(): Consumer {
    return createConsumer(this.ctx, this.groupId, [fixedAssigner(() => this.wanted)]);
  }

  get assignment(): readonly TopicPartition[] {
    return [...this.next.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  protected async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: false });
    await this.feed((r) => {
      const k = tpKey(r);
      const pos = this.next.get(k);
      if (pos && r.offset < pos.offset) return true; // already handed over (a refetch after a rejoin)
      const taken = this.sink.onRecord(r);
      if (taken && pos) pos.offset = r.offset + 1;
      return taken;
    });
  }

  protected applyPause(): void {
    this.setKafkaPaused(this.userPaused || this.flowPaused);
  }

  protected onJoin(memberAssignment: Record<string, number[]>): void {
    if (this.closed) return;
    // A join resets kafkajs's positions to the (never written) committed offsets: put ours back first.
    for (const tp of flattenAssignment(memberAssignment)) {
      const pos = this.next.get(tpKey(tp));
      if (pos) this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(pos.offset) });
    }
    this.setKafkaPaused(this.userPaused || this.flowPaused, true);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.consumer
        .disconnect()
        .catch((e: unknown) => this.log.debug({ err: describeKafkaError(e) }, 'disconnect failed'));
    })();
    return this.closing;
  }
}
