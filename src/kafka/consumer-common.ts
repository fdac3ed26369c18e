/**
 * What every consumer session shares: its settings, the kafkajs consumer factory, the message → ConsumedRecord
 * conversion, the batch loop that feeds a sink, waiting for the first group join (or a crash), and starting a
 * session or reader on either client (closed again if it cannot start).
 */
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import type { Config } from '../config.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ConsumedRecord, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { toGatewayError } from './errors.js';
import type { RecordHeader } from './types.js';
import { kafkajs } from './kafkajs-library.js';

export type ConsumerSettings = Pick<
  Config,
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_CONSUMER_SESSION_TIMEOUT_MS'
  | 'KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_CONSUMER_MAX_WAIT_MS'
  | 'KAFKA_CONSUMER_FETCH_MAX_BYTES'
>;

export interface ConsumerContext {
  client: Kafka;
  /** Connected by the gateway's availability probe; used for offsets and committed positions. */
  admin: Admin;
  settings: ConsumerSettings;
  logger: Logger;
}

/** How long a session may take to join its group before `start` gives up (group joins wait for rebalances). */
export const JOIN_TIMEOUT_MS = 60_000;

export function createConsumer(ctx: ConsumerContext, groupId: string, assigners?: PartitionAssigner[]): Consumer {
  const s = ctx.settings;
  return ctx.client.consumer({
    groupId,
    sessionTimeout: s.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
    heartbeatInterval: s.KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS,
    // A paused or idle consumer sleeps this long between checks: it bounds resume and rebalance latency.
    maxWaitTimeInMs: s.KAFKA_CONSUMER_MAX_WAIT_MS,
    // Bounded memory per session: one fetch holds at most this much (Kafka still returns one oversized batch).
    maxBytes: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
    maxBytesPerPartition: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    ...(assigners ? { partitionAssigners: assigners } : {}),
  });
}

export function flattenHeaders(headers: IHeaders | undefined): RecordHeader[] {
  const out: RecordHeader[] = [];
  if (!headers) return out;
  // for…in rather than Object.entries: no array of pairs per record on the consumer hot path.
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const v = headers[name];
    if (v === undefined) out.push({ name, value: null });
    else
      for (const one of Array.isArray(v) ? v : [v])
        out.push({ name, value: typeof one === 'string' ? Buffer.from(one) : one });
  }
  return out;
}

export function toRecord(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    key: m.key ?? null,
    value: m.value ?? null,
    headers: flattenHeaders(m.headers),
  };
}

/** `{topic: [p, ...]}` (kafkajs's memberAssignment) → sorted TopicPartition list. */
export function flattenAssignment(a: Record<string, number[]>): TopicPartition[] {
  return Object.entries(a)
    .flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })))
    .sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

export const tpKey = (tp: TopicPartition) => `${tp.partition}:${tp.topic}`;

export function diffPartitions(a: readonly TopicPartition[], b: readonly TopicPartition[]): TopicPartition[] {
  const inB = new Set(b.map(tpKey));
  return a.filter((tp) => !inB.has(tpKey(tp)));
}

/**
 * Where a member goes on with a partition it holds again after a rebalance: after what its socket already got
 * (`delivered`), unless the group's commit is further. Then another member held the partition meanwhile (in a
 * generation this member missed, or before it rejoined under a new member id) and read on: going back to what this
 * member delivered would read again what the group committed.
 */
export function keptPosition(delivered: number, committed: number | undefined): number {
  return committed !== undefined && committed > delivered ? committed : delivered;
}

/**
 * Where each partition of a new assignment starts (either client's group session): a partition kept across the
 * rebalance after what the socket already got (`carried`, weighed against the commit by keptPosition), else at the
 * group's commit; `fresh` are those never committed, which the session starts at the start or the end as read now.
 */
export function startPositions(
  next: readonly TopicPartition[],
  carried: ReadonlyMap<string, number>,
  committedOf: (tp: TopicPartition) => number | undefined,
): { positions: TopicPartitionOffset[]; fresh: TopicPartition[] } {
  const positions: TopicPartitionOffset[] = [];
  const fresh: TopicPartition[] = [];
  for (const tp of next) {
    const c = committedOf(tp);
    const d = carried.get(tpKey(tp));
    if (d !== undefined) positions.push({ ...tp, offset: keptPosition(d, c) });
    else if (c !== undefined) positions.push({ ...tp, offset: c });
    else fresh.push(tp);
  }
  return { positions, fresh };
}

/**
 * Tells the sink a session's new assignment (what it holds now, what was added, what was taken away since `before`)
 * and returns it as the next `before`. A sink that throws is logged, not propagated: the session goes on.
 */
export function announceAssignment(
  sink: RecordSink,
  log: Logger,
  before: readonly TopicPartition[],
  next: TopicPartition[],
): TopicPartition[] {
  const assigned = diffPartitions(next, before);
  const revoked = diffPartitions(before, next);
  if (assigned.length + revoked.length > 0) {
    const names = (ps: TopicPartition[]) => ps.map((p) => `${p.topic}/${p.partition}`);
    log.debug({ assigned: names(assigned), revoked: names(revoked) }, 'assignment changed');
  }
  try {
    sink.onAssignment?.({ current: next, assigned, revoked });
  } catch (e) {
    log.error({ err: e }, 'assignment sink failed');
  }
  return next;
}

/**
 * How long a session waits inside a fetched batch for a sink that refused a record (see RecordSink.room). A
 * socket's window of unacknowledged records is often smaller than one fetch (1 MiB holds thousands of small
 * records): pausing at once would drop the rest of the batch and fetch it again after every ack. Short enough that
 * the consumer's heartbeats and rebalances (which wait for the batch) are not held up noticeably.
 */
export const ROOM_WAIT_MS = 1000;

/** Resolves true when `room` resolved within `ms`, false otherwise. */
export async function roomWithin(room: () => Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([room().then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Feeds one fetched batch into `accept`, record by record, resolving each taken record (so the next fetch
 * starts after it). At a refusal it waits for `room` (when given, at most ROOM_WAIT_MS) and offers the same
 * record again; refused still, it stops without resolving it (after a resume it is fetched again) and returns
 * true: the caller pauses. False: every record was taken, or the feed stopped (`stopped`, a rebalance).
 *
 * While it waits, the batch stays alive, and with it the whole fetch response its records' keys and values are
 * slices of (up to KAFKA_CONSUMER_FETCH_MAX_BYTES). So it waits only while `roomSoon` (RecordSink.roomSoon) says
 * room is near; otherwise it returns true at once, holding nothing once the caller paused (W4b in
 * docs/performance.md: sockets that do not read each kept a 1 MiB response through the wait).
 */
export async function feedBatch(
  { batch, resolveOffset, isRunning, isStale }: EachBatchPayload,
  accept: (r: ConsumedRecord) => boolean,
  stopped: () => boolean,
  log: Logger,
  room?: () => Promise<void>,
  roomSoon: () => boolean = () => true,
): Promise<boolean> {
  const offer = (r: ConsumedRecord, offset: string): boolean => {
    try {
      return accept(r);
    } catch (e) {
      // Our own bug: skip the record rather than loop on it forever.
      log.error(
        { err: e, topic: batch.topic, partition: batch.partition, offset },
        'record sink failed; record skipped',
      );
      return true;
    }
  };
  // kafkajs' isStale() builds a JSON key per call (seekOffsets.js): a seek or a rebalance happens between turns of the
  // event loop, so it is asked at the start and after each wait, not per record.
  if (isStale()) return false;
  const halted = () => !isRunning() || stopped();
  // Resolving is cumulative in kafkajs and costs a Long parse each: done once per run of taken records (before
  // any wait or return), not per record.
  let taken: string | undefined;
  const resolve = () => {
    if (taken !== undefined) resolveOffset(taken);
    taken = undefined;
  };
  try {
    for (const m of batch.messages) {
      if (halted()) return false;
      const r = toRecord(batch.topic, batch.partition, m);
      let ok = offer(r, m.offset);
      if (!ok && room) {
        resolve();
        // One deadline per refused record, however often the sink wakes the wait without having room after all;
        // between such wakes a macrotask turn, so that a sink that keeps waking can never starve the event loop.
        const until = performance.now() + ROOM_WAIT_MS;
        for (let left = ROOM_WAIT_MS; !ok && left > 0 && roomSoon(); left = until - performance.now()) {
          if (!(await roomWithin(room, left)) || halted() || isStale()) break;
          ok = offer(r, m.offset);
          if (!ok) await new Promise<void>((next) => setImmediate(next));
        }
      }
      if (!ok) return true;
      taken = m.offset;
    }
    return false;
  } finally {
    resolve();
  }
}

/**
 * Resolves at the consumer's first group join; rejects when it crashes for good before that or the join
 * takes longer than JOIN_TIMEOUT_MS. Must be set up before `consumer.run()`.
 */
export function firstJoin(consumer: Consumer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(
        new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, 'Timed out joining the consumer group.', {
          retriable: true,
        }),
      );
    }, JOIN_TIMEOUT_MS);
    timer.unref();
    const offJoin = consumer.on(consumer.events.GROUP_JOIN, () => {
      done();
      resolve();
    });
    const offCrash = consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return; // kafkajs retries retriable failures itself
      done();
      reject(toGatewayError(e.payload.error));
    });
    function done() {
      clearTimeout(timer);
      offJoin();
      offCrash();
    }
  });
}

/**
 * A partition assigner for private groups (assign and broadcast modes): the group's one member gets exactly
 * `wanted()`. kafkajs has no manual assignment, so a member of a group nobody else knows is the sound way to
 * read chosen partitions with kafkajs's fetch loop, pause/resume and seek (see private-consumer.ts).
 */
export function fixedAssigner(wanted: () => Record<string, number[]>): PartitionAssigner {
  const name = 'KgwFixedAssigner';
  const version = 1;
  const { AssignerProtocol } = kafkajs();
  return () => ({
    name,
    version,
    async assign({ members }) {
      // Only one member ever joins a private group; any other would get nothing rather than duplicates.
      const [first, ...rest] = members.map((m) => m.memberId).sort();
      const encode = (assignment: Record<string, number[]>) =>
        AssignerProtocol.MemberAssignment.encode({ version, assignment, userData: Buffer.alloc(0) });
      if (first === undefined) return [];
      return [
        { memberId: first, memberAssignment: encode(wanted()) },
        ...rest.map((memberId) => ({ memberId, memberAssignment: encode({}) })),
      ];
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

/**
 * kafkajs is in maintenance mode and has known races in its rebalance code (a TypeError such as "Cannot read
 * properties of undefined (reading '0')", kafkajs#558 and #1366) that stop a consumer for good. Those are the
 * client's bugs, not Kafka's answers: a session replaces its consumer (at-least-once: a group member resumes
 * from its last commit, a reader from its own positions) this often per window before giving up.
 */
export const SELF_RESTARTS = 3;
export const SELF_RESTART_WINDOW_MS = 60_000;

/** JavaScript errors kafkajs itself treats as unrecoverable (it wraps them in KafkaJSNonRetriableError). */
const CLIENT_BUGS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** A failure inside the client library (a TypeError & co. anywhere in the cause chain), not an answer from Kafka. */
export function isClientBug(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 6 && typeof cur === 'object' && cur !== null; i++) {
    const err = cur as { name?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof err.name === 'string' && CLIENT_BUGS.has(err.name)) return true;
    cur = err.originalError ?? err.cause;
  }
  return false;
}

export class RestartBudget {
  private times: number[] = [];

  take(now = Date.now()): boolean {
    this.times = this.times.filter((t) => t > now - SELF_RESTART_WINDOW_MS);
    if (this.times.length >= SELF_RESTARTS) return false;
    this.times.push(now);
    return true;
  }
}

/** Low/high watermarks of a topic's partitions, as numbers. */
export async function watermarks(admin: Admin, topic: string): Promise<Map<number, { low: number; high: number }>> {
  try {
    const res = await admin.fetchTopicOffsets(topic);
    return new Map(res.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
  } catch (e) {
    throw toGatewayError(e);
  }
}

/**
 * Starts a session or reader; one that fails to start is closed, and the error comes out as a GatewayError.
 * `shaped` gives the client's error as kafkajs would have thrown it (the platformatic sessions pass kafkaJsShaped).
 */
export async function startOrClose<T extends { start(): Promise<void>; close(): Promise<void> }>(
  c: T,
  shaped: (e: unknown) => unknown = (e) => e,
): Promise<T> {
  try {
    await c.start();
  } catch (e) {
    await c.close();
    throw toGatewayError(shaped(e));
  }
  return c;
}
