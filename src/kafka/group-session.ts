/**
 * Group mode: one kafkajs consumer per session, a real member of the caller's consumer group, so sessions on
 * any replica (and ordinary Kafka clients using kafkajs's round-robin protocol) share the partitions.
 * At-least-once: auto-commit is off; the owner commits what its client processed, coalesced here.
 */
import type { Consumer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createConsumer,
  announceAssignment,
  flattenAssignment,
  startOrClose,
  startPositions,
  tpKey,
  watermarks,
  type ConsumerContext,
} from './consumer-common.js';
import type { GroupSession, GroupStart, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { describeKafkaError, toGatewayError } from './errors.js';
import { isStaleCommit, rebalancedCommit } from './commit-fence.js';
import { CommitTracker } from './commit-tracker.js';
import { SelfHealingConsumer } from './self-healing-consumer.js';

export interface GroupSessionOptions {
  group: string;
  topics: string[];
  from: GroupStart;
}

/** Reading start positions after a join is tried this often before falling back to Kafka's reset policy. */
const POSITION_ATTEMPTS = 3;
export async function startGroupSession(
  ctx: ConsumerContext,
  opts: GroupSessionOptions,
  sink: RecordSink,
): Promise<GroupSession> {
  return startOrClose(new KafkaGroupSession(ctx, opts, sink));
}

/** kafkajs's refusal to commit before its consumer ran (a replaced consumer between its start and its join). */
const NOT_RUNNING = /^Consumer group was not initialized/;

class KafkaGroupSession extends SelfHealingConsumer implements GroupSession {
  /** What the sink was told (it lags Kafka's latest assignment while new partitions are positioned). */
  private announced: TopicPartition[] = [];
  private generation = 0;
  private positioning = false;
  private closing: Promise<void> | undefined;
  private readonly commits: CommitTracker;
  /** Offset commits Kafka confirmed (kafkajs's COMMIT_OFFSETS event) for the current consumer. */
  private commitsSeen = 0;
  /** Next offset per partition after what this session already handed to its socket (kept across rebalances). */
  private readonly delivered = new Map<string, number>();
  private announcedOnce!: () => void;
  private readonly firstAnnounce = new Promise<void>((r) => (this.announcedOnce = r));

  constructor(
    ctx: ConsumerContext,
    private readonly opts: GroupSessionOptions,
    sink: RecordSink,
  ) {
    super(
      ctx,
      sink,
      ctx.logger.child({ component: 'group-session', group: opts.group }),
      opts.topics,
      'group consumer stopped',
    );
    this.consumer = this.spawn();
    this.commits = new CommitTracker((positions) => this.send(positions), this.log);
  }

  protected newConsumer(): Consumer {
    const c = createConsumer(this.ctx, this.opts.group);
    c.on(c.events.COMMIT_OFFSETS, () => {
      if (c === this.consumer) this.commitsSeen++;
    });
    return c;
  }

  get assignment(): readonly TopicPartition[] {
    return this.announced;
  }

  protected override afterFirstJoin(): Promise<void> {
    return this.firstAnnounce;
  }

  protected async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.from === 'earliest' });
    await this.feed((r) => {
      const taken = this.sink.onRecord(r);
      if (taken) this.delivered.set(tpKey(r), r.offset + 1);
      return taken;
    });
  }

  protected onJoin(memberAssignment: Record<string, number[]>): void {
    if (this.closed) return;
    const gen = ++this.generation;
    const next = flattenAssignment(memberAssignment);
    this.commits.assign(next);
    const mine = new Set(next.map(tpKey));
    for (const k of this.delivered.keys()) if (!mine.has(k)) this.delivered.delete(k);
    // Hold fetching (kafkajs may have restarted with fresh pause state) until new partitions are positioned.
    this.positioning = true;
    this.setKafkaPaused(true, true);
    void this.positionWithRetry(gen, next).finally(() => {
      if (gen !== this.generation || this.closed) return;
      this.positioning = false;
      this.announced = announceAssignment(this.sink, this.log, this.announced, next);
      this.announcedOnce();
      this.applyPause();
      this.commits.kick();
    });
  }

  private async positionWithRetry(gen: number, next: TopicPartition[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.position(gen, next);
      } catch (e) {
        if (attempt >= POSITION_ATTEMPTS || gen !== this.generation || this.closed) {
          this.log.warn({ err: describeKafkaError(e) }, 'could not fix start positions; using Kafka defaults');
          return;
        }
        await sleep(100 * attempt);
      }
    }
  }

  /**
   * Partitions the group never committed start at a position read now, so `latest` means "after the
   * assignment was announced" rather than "wherever kafkajs's first fetch happens to land".
   */
  private async position(gen: number, next: TopicPartition[]): Promise<void> {
    if (next.length === 0) return;
    // A partition this member keeps across a rebalance goes on after what its socket already got: kafkajs would
    // restart it at the last commit and hand the unacknowledged records to the same socket a second time. (They are
    // still redelivered from the commit to whoever owns the partition next if this socket never acknowledges them.)
    // Unless the group read on meanwhile (keptPosition).
    const carried = new Map<string, number>();
    for (const tp of next) {
      const d = this.delivered.get(tpKey(tp));
      if (d !== undefined) carried.set(tpKey(tp), d);
    }
    const topics = [...new Set(next.map((tp) => tp.topic))];
    const committed = await this.ctx.admin.fetchOffsets({ groupId: this.opts.group, topics });
    const committedOf = (tp: TopicPartition) => {
      const o = committed
        .find((t) => t.topic === tp.topic)
        ?.partitions.find((p) => p.partition === tp.partition)?.offset;
      return o === undefined || Number(o) < 0 ? undefined : Number(o);
    };
    if (gen !== this.generation || this.closed) return;
    const { positions, fresh } = startPositions(next, carried, committedOf);
    // Every partition is sought now, also where that is the commit kafkajs would start from: kafkajs keeps a seek of
    // a partition revoked before the seek was applied, and applies it when the partition comes back, however long
    // after (the kafkajs soak: members starting hundreds of records behind the commit, or past records never read).
    for (const p of positions) {
      const k = tpKey(p);
      // Moved on meanwhile (a seek, or a record): that stands.
      if (this.delivered.get(k) !== carried.get(k)) continue;
      if (carried.has(k)) this.delivered.set(k, p.offset);
      this.consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
    }
    if (fresh.length === 0) return;
    const marks = new Map(
      await Promise.all(
        [...new Set(fresh.map((tp) => tp.topic))].map(async (t) => [t, await watermarks(this.ctx.admin, t)] as const),
      ),
    );
    if (gen !== this.generation || this.closed) return;
    for (const tp of fresh) {
      const m = marks.get(tp.topic)?.get(tp.partition);
      if (!m) continue;
      this.consumer.seek({
        topic: tp.topic,
        partition: tp.partition,
        offset: String(this.opts.from === 'earliest' ? m.low : m.high),
      });
    }
  }

  protected applyPause(): void {
    this.setKafkaPaused(this.userPaused || this.flowPaused || this.positioning);
  }

  commit(position: TopicPartitionOffset): void {
    this.commits.ack(position);
  }

  /** One commit, confirmed by Kafka (CommitTracker's `send`). */
  private async send(positions: TopicPartitionOffset[]): Promise<void> {
    const seen = this.commitsSeen;
    try {
      await this.consumer.commitOffsets(
        positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) })),
      );
    } catch (e) {
      // A replaced consumer (self-healing-consumer.ts) that has not joined yet refuses to commit: as a rejoin.
      throw isStaleCommit(e) || NOT_RUNNING.test((e as Error)?.message ?? '') ? rebalancedCommit() : toGatewayError(e);
    }
    // kafkajs resolves commitOffsets without committing anything while its runner is not running (during a rejoin,
    // or a replaced consumer's start): only Kafka's confirmation (COMMIT_OFFSETS) counts.
    if (this.commitsSeen === seen) throw rebalancedCommit();
  }

  commitNow(positions: TopicPartitionOffset[]): Promise<void> {
    return this.commits.commitNow(positions);
  }

  seek(position: TopicPartitionOffset): void {
    this.commits.requireAssigned([position]);
    this.delivered.set(tpKey(position), position.offset);
    this.consumer.seek({ topic: position.topic, partition: position.partition, offset: String(position.offset) });
  }

  flushCommits(timeoutMs?: number): Promise<void> {
    return this.commits.flush(timeoutMs);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.pause();
      // Commit what was acknowledged while still a member (a commit needs the current generation)...
      await this.flushCommits().catch(() => {});
      this.closed = true;
      this.commits.close();
      // ...then leave the group at once, so its partitions move to the other members without a timeout.
      await this.consumer
        .disconnect()
        .catch((e: unknown) => this.log.debug({ err: describeKafkaError(e) }, 'disconnect failed'));
    })();
    return this.closing;
  }
}
