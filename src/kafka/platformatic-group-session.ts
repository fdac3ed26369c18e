/**
 * Group mode on @platformatic/kafka (KAFKA_CLIENT=platformatic): one library consumer per session, a real member of
 * the caller's consumer group under the classic protocol with kafkajs's protocol name and wire format
 * (`RoundRobinAssigner`, version 0), so members on kafkajs and on this library, on any replica, share one group
 * during a rolling change of KAFKA_CLIENT. The library keeps the membership (join, sync, heartbeats, rejoin after a
 * rebalance); the fetching is platformatic-reader.ts's. Same contract as group-session.ts (kafkajs): at-least-once,
 * commits coalesced, start positions fixed before the assignment is announced, close leaves the group at once.
 */
import type { Consumer, GroupAssignment } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, GatewayError } from '../errors.js';
import { announceAssignment, JOIN_TIMEOUT_MS, startOrClose, startPositions, tpKey } from './consumer-common.js';
import type {
  ConsumedRecord,
  GroupSession,
  GroupStart,
  RecordSink,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer-types.js';
import { CommitFence, isStaleCommit, rebalancedCommit, STALE_COMMIT } from './commit-fence.js';
import { CommitTracker } from './commit-tracker.js';
import { describeKafkaError, toGatewayError } from './errors.js';
import { kafkaJsShaped, loadPlatformatic, platformaticConnection } from './platformatic-client.js';
import { overrideApi, sayOncePerPath } from './platformatic-api-override.js';
import { fetchDecoder } from './platformatic-fetch-decoder.js';
import { CONSUMER_RETRIES, PlatformaticReader, type PlatformaticConsumerContext } from './platformatic-reader.js';

export interface PlatformaticGroupOptions {
  group: string;
  topics: string[];
  from: GroupStart;
}

/** Reading start positions after a join is tried this often before giving up on the session. */
const POSITION_ATTEMPTS = 3;
/** kafkajs's default rebalance timeout: how long the group waits for members to rejoin. */
const REBALANCE_TIMEOUT_MS = 60_000;

export async function startPlatformaticGroupSession(
  ctx: PlatformaticConsumerContext,
  opts: PlatformaticGroupOptions,
  sink: RecordSink,
): Promise<GroupSession> {
  return startOrClose(new PlatformaticGroupSession(ctx, opts, sink), kafkaJsShaped);
}

/** Exported for a test that times a seek into the read of start positions (kafka-client-platformatic-consumers). */
export class PlatformaticGroupSession extends PlatformaticReader implements GroupSession {
  /** What the sink was told (it lags Kafka's latest assignment while new partitions are positioned). */
  private announced: TopicPartition[] = [];
  private generation = 0;
  /** Between a rebalance notice (or a join) and the new partitions' positions: no fetching. */
  private positioning = false;
  private closing: Promise<void> | undefined;
  private readonly commits: CommitTracker;
  /** Each commit goes out in the generation it was asked in, or not at all (commit-fence.ts). */
  private readonly fence = new CommitFence();
  /** The library's generation of the assignment the session holds now (set at each join). */
  private joinedGeneration: number | undefined;
  /** Next offset per partition after what this session already handed to its socket (kept across rebalances). */
  private readonly delivered = new Map<string, number>();
  private announcedOnce!: () => void;
  private failedFirst!: (e: unknown) => void;
  private readonly firstAnnounce = new Promise<void>((resolve, reject) => {
    this.announcedOnce = resolve;
    this.failedFirst = reject;
  });

  constructor(
    ctx: PlatformaticConsumerContext,
    private readonly opts: PlatformaticGroupOptions,
    sink: RecordSink,
  ) {
    super(ctx, sink, ctx.logger.child({ component: 'group-session', group: opts.group }), 'group consumer stopped');
    this.firstAnnounce.catch(() => {});
    this.commits = new CommitTracker((positions) => this.send(positions), this.log);
  }

  async start(): Promise<void> {
    const lib = await loadPlatformatic();
    const { Consumer, ConnectionPool } = lib;
    const s = this.ctx.settings;
    const connection = platformaticConnection(s);
    this.pool = new ConnectionPool(s.KAFKA_CLIENT_ID, connection);
    const consumer: Consumer = new Consumer({
      ...connection,
      groupId: this.opts.group,
      sessionTimeout: s.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
      rebalanceTimeout: Math.max(REBALANCE_TIMEOUT_MS, s.KAFKA_CONSUMER_SESSION_TIMEOUT_MS),
      heartbeatInterval: s.KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS,
      // kafkajs's round-robin assigner on the wire: a group may hold members of both libraries.
      protocols: [{ name: 'RoundRobinAssigner', version: 0 }],
      autocommit: false,
      maxWaitTime: s.KAFKA_CONSUMER_MAX_WAIT_MS,
      maxBytes: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
      ...CONSUMER_RETRIES,
    });
    // Its Fetch responses decoded from one Buffer, records as the loop takes them (platformatic-fetch-decoder.ts).
    fetchDecoder(lib, this.log).install(consumer);
    if (
      !overrideApi(
        consumer,
        'OffsetCommit',
        // Stopped commits fail with an error of the library's own marked not to retry (it retries any other).
        (api) => this.fence.guard(api, (m) => new lib.UserError(m, { canRetry: false, [STALE_COMMIT]: true })),
        sayOncePerPath(this.log, 'path', 'offset commits'),
      )
    )
      this.log.warn('commits are not fenced by generation: the library changed (commit-fence.ts)');
    this.consumer = consumer;
    consumer.on('consumer:group:join', (p) => {
      if (consumer === this.consumer) this.onJoin(p.assignments ?? []);
    });
    // A rebalance started: stop fetching until the new assignment is known (eager protocol: all is revoked).
    consumer.on('consumer:group:rebalance', () => {
      if (!this.closed) this.positioning = true;
    });
    // The library emits 'error' when a rejoin failed for good (with no listener, Node would throw it).
    consumer.on('error', (e: unknown) => this.fail(e));
    for (const t of this.opts.topics) consumer.topics.track(t);
    // An unknown topic is refused here, in Kafka's words (UNKNOWN_TOPIC_OR_PARTITION), not as a failed join.
    await consumer.metadata({ topics: this.opts.topics });
    // Joining waits for the group's rebalance; the first assignment is announced once its positions are read.
    await withinJoinTimeout(consumer.joinGroup({}).then(() => this.firstAnnounce));
    this.startLoop();
  }

  get assignment(): readonly TopicPartition[] {
    return this.announced;
  }

  protected override held(): boolean {
    return this.positioning;
  }

  protected outOfRange(): 'earliest' | 'latest' {
    return this.opts.from;
  }

  protected override accept(r: ConsumedRecord, key: string): boolean {
    const taken = super.accept(r, key);
    if (taken) this.delivered.set(key, r.offset + 1);
    return taken;
  }

  private onJoin(assignments: GroupAssignment[]): void {
    if (this.closed) return;
    const gen = ++this.generation;
    this.joinedGeneration = this.consumer.generationId;
    const next = assignments
      .flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
      .sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
    this.commits.assign(next);
    const mine = new Set(next.map(tpKey));
    for (const k of this.delivered.keys()) if (!mine.has(k)) this.delivered.delete(k);
    // What the socket got of a partition it keeps is where it goes on, unless the group read on meanwhile: position()
    // weighs it against the group's commit. (A snapshot: `delivered` itself stays, for a join that comes before
    // these positions are read.)
    const carried = new Map(this.delivered);
    this.positioning = true;
    void this.positionWithRetry(gen, next, carried).then(
      (positions) => {
        if (gen !== this.generation || this.closed) return;
        this.next.clear();
        // A seek made while the positions were read (or a record taken from a fetch that was in flight) came after
        // the read began: it wins over what was read.
        for (const p of positions) {
          const k = tpKey(p);
          const d = this.delivered.get(k);
          const at = d !== undefined && d !== carried.get(k) ? { ...p, offset: d } : p;
          this.next.set(k, at);
          if (carried.has(k)) this.delivered.set(k, at.offset);
        }
        this.positioning = false;
        this.announced = announceAssignment(this.sink, this.log, this.announced, next);
        this.announcedOnce();
        this.wake();
        this.commits.kick();
      },
      (e: unknown) => {
        if (gen !== this.generation || this.closed) return;
        this.failedFirst(e);
        this.fail(e);
      },
    );
  }

  private async positionWithRetry(
    gen: number,
    next: TopicPartition[],
    carried: ReadonlyMap<string, number>,
  ): Promise<TopicPartitionOffset[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.position(next, carried);
      } catch (e) {
        if (attempt >= POSITION_ATTEMPTS || gen !== this.generation || this.closed) throw e;
        this.log.debug({ err: describeKafkaError(kafkaJsShaped(e)) }, 'reading start positions failed; will retry');
        await sleep(100 * attempt);
      }
    }
  }

  /**
   * Where each assigned partition goes on: after what this session's socket already got (`carried`: a partition
   * kept across a rebalance, where restarting at the last commit would hand unacknowledged records to the same
   * socket twice) unless the group committed further (keptPosition), else the group's commit, else — never
   * committed — the start or the end as read now, so `latest` means "after the assignment was announced".
   */
  private async position(
    next: TopicPartition[],
    carried: ReadonlyMap<string, number>,
  ): Promise<TopicPartitionOffset[]> {
    if (next.length === 0) return [];
    const byTopic = new Map<string, number[]>();
    for (const tp of next) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const committed = await this.consumer.listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
    const { positions: out, fresh } = startPositions(next, carried, (tp) => {
      const o = committed.get(tp.topic)?.[tp.partition];
      return o !== undefined && o >= 0n ? Number(o) : undefined;
    });
    if (fresh.length === 0) return out;
    const { ListOffsetTimestamps } = await loadPlatformatic();
    const freshTopics = [...new Set(fresh.map((tp) => tp.topic))];
    const ends = await this.consumer.listOffsets({
      topics: freshTopics,
      partitions: Object.fromEntries(freshTopics.map((t) => [t, byTopic.get(t) ?? []])),
      timestamp: this.opts.from === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    for (const tp of fresh) {
      const o = ends.get(tp.topic)?.[tp.partition];
      if (o === undefined) throw new Error(`no ${this.opts.from} offset for ${tp.topic}/${tp.partition}`);
      out.push({ ...tp, offset: Number(o) });
    }
    return out;
  }

  commit(position: TopicPartitionOffset): void {
    this.commits.ack(position);
  }

  /** One commit, confirmed by Kafka (CommitTracker's `send`). */
  private async send(positions: TopicPartitionOffset[]): Promise<void> {
    const generation = this.joinedGeneration;
    // The library already joined a newer generation whose assignment the session does not know yet.
    if (generation === undefined || this.consumer.generationId !== generation) throw rebalancedCommit();
    try {
      await this.fence.around(positions, generation, () =>
        this.consumer.commit({
          offsets: positions.map((p) => ({
            topic: p.topic,
            partition: p.partition,
            offset: BigInt(p.offset),
            leaderEpoch: -1,
          })),
        }),
      );
    } catch (e) {
      throw isStaleCommit(e) ? rebalancedCommit() : toGatewayError(kafkaJsShaped(e));
    }
  }

  commitNow(positions: TopicPartitionOffset[]): Promise<void> {
    return this.commits.commitNow(positions);
  }

  seek(position: TopicPartitionOffset): void {
    this.commits.requireAssigned([position]);
    const k = tpKey(position);
    this.delivered.set(k, position.offset);
    // A new entry: a fetch in flight for the old one is dropped when it arrives (the reader compares entries). While
    // positioning, the positions read are overridden by `delivered`, set above (onJoin).
    this.next.set(k, { ...position });
    this.wake();
  }

  flushCommits(timeoutMs?: number): Promise<void> {
    return this.commits.flush(timeoutMs);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.pause();
      // Commit what was acknowledged while still a member (a commit needs the current generation)...
      if (this.consumer) await this.flushCommits().catch(() => {});
      this.closed = true;
      this.failedFirst(new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, 'The consumer was closed.'));
      this.commits.close();
      await this.stopped();
      // ...then leave the group at once, so its partitions move to the other members without a timeout.
      await Promise.allSettled([
        this.consumer
          ?.close(true)
          .catch((e: unknown) => this.log.debug({ err: describeKafkaError(kafkaJsShaped(e)) }, 'leaving failed')),
        this.pool?.close(),
      ]);
    })();
    return this.closing;
  }
}

/** `p`, or a 503 after JOIN_TIMEOUT_MS (as kafkajs sessions give up joining: consumer-common.ts). */
async function withinJoinTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, 'Timed out joining the consumer group.', {
            retriable: true,
          }),
        ),
      JOIN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
