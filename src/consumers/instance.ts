/**
 * One v2 consumer instance: its mode (nothing, a group subscription, or chosen partitions), a bounded buffer of
 * records fetched ahead of the next `GET records`, and what it handed out but has not committed. Calls on one
 * instance run one at a time (as Confluent's do); the registry owns its lifetime.
 */
import { ErrorCodes, GatewayError } from '../errors.js';
import type {
  AssignSession,
  ConsumedRecord,
  GroupSession,
  KafkaGateway,
  RecordSink,
  TopicPartition,
  TopicPartitionOffset,
} from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';

export type InstanceFormat = 'json' | 'binary' | 'string';

export interface InstanceConfig {
  format: InstanceFormat;
  autoOffsetReset: 'earliest' | 'latest';
  autoCommit: boolean;
  fetchMinBytes: number;
  /** `GET records` waits this long for records when the call names no `timeout`. */
  requestTimeoutMs: number;
  /** Idle time after which the registry closes the instance. */
  idleTimeoutMs: number;
}

export interface InstanceLimits {
  bufferBytes: number;
}

/** Assign-mode instances have no group membership: their auto-commits are written at most this often. */
const ASSIGN_AUTO_COMMIT_MS = 5000;

type Mode =
  | { kind: 'none' }
  | { kind: 'subscribe'; topics: string[]; session: GroupSession }
  | { kind: 'assign'; partitions: TopicPartition[]; session: AssignSession };

const key = (tp: TopicPartition) => `${tp.partition}:${tp.topic}`;
function recordBytes(r: ConsumedRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += h.name.length + (h.value?.length ?? 0);
  return n;
}

export const illegalState = (message: string) => new GatewayError(409, ErrorCodes.CONSUMER_ILLEGAL_STATE, message);

export class ConsumerInstance {
  lastUsed = Date.now();
  private busy = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private mode: Mode = { kind: 'none' };
  /** Bumped whenever the reader is replaced, so records of an old reader are ignored. */
  private generation = 0;
  /** Fetched records not handed out yet: `buffer[head..]` (a moving head, so draining is not O(n²)). */
  private buffer: ConsumedRecord[] = [];
  /** recordBytes of `buffer[i]`, computed once when it arrives. */
  private sizes: number[] = [];
  private head = 0;
  private bufferedBytes = 0;
  private wake: (() => void) | undefined;
  /** Per partition: the next offset to hand out (assign mode restarts its reader from these). */
  private readonly position = new Map<string, TopicPartitionOffset>();
  /** Per partition: the offset after the last record handed out and not yet committed. */
  private readonly owed = new Map<string, TopicPartitionOffset>();
  private lastOutsideCommit = 0;
  private fatal: GatewayError | undefined;
  private interrupted = false;
  closed = false;
  /** A `GET records` is waiting for records (a long poll; the `kafka_gateway_consumer_polls_waiting` gauge). */
  waiting = false;

  constructor(
    readonly group: string,
    readonly name: string,
    /** The `sub` that created it (null: AUTH_MODE=none). */
    readonly owner: string | null,
    readonly config: InstanceConfig,
    private readonly kafka: KafkaGateway,
    private readonly limits: InstanceLimits,
    private readonly log: Logger,
  ) {}

  /** Not inside a call and unused for longer than its idle timeout. */
  idle(now: number): boolean {
    return this.busy === 0 && now - this.lastUsed > this.config.idleTimeoutMs;
  }

  /** Runs `fn` after the instance's earlier calls (one at a time), counting as use. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++;
    this.lastUsed = Date.now();
    const next = this.lock.then(async () => {
      if (this.closed) throw notFound(this.group, this.name);
      return fn();
    });
    this.lock = next.catch(() => {});
    return next.finally(() => {
      this.busy--;
      this.lastUsed = Date.now();
    });
  }

  get topics(): string[] {
    if (this.mode.kind === 'subscribe') return this.mode.topics;
    if (this.mode.kind === 'assign') return [...new Set(this.mode.partitions.map((p) => p.topic))];
    return [];
  }

  subscription(): string[] {
    return this.mode.kind === 'subscribe' ? this.mode.topics : [];
  }

  assignment(): TopicPartition[] {
    if (this.mode.kind === 'subscribe') return [...this.mode.session.assignment];
    if (this.mode.kind === 'assign') return this.mode.partitions;
    return [];
  }

  async subscribe(topics: string[]): Promise<void> {
    if (this.mode.kind === 'assign')
      throw illegalState('Subscription to topics and assignment of partitions are mutually exclusive.');
    await this.stopReader();
    const gen = ++this.generation;
    const session = await this.kafka.consumers.group(
      { group: this.group, topics, from: this.config.autoOffsetReset },
      this.sink(gen),
    );
    if (this.closed || gen !== this.generation) {
      await session.close();
      return;
    }
    this.mode = { kind: 'subscribe', topics, session };
  }

  async unsubscribe(): Promise<void> {
    await this.stopReader();
  }

  async assign(partitions: TopicPartition[]): Promise<void> {
    if (this.mode.kind === 'subscribe')
      throw illegalState('Subscription to topics and assignment of partitions are mutually exclusive.');
    await this.stopReader();
    // Kafka's assign(): each partition starts at the group's committed offset, else at auto.offset.reset.
    const committed = await this.kafka.instanceOffsets.committed(this.group, partitions);
    const bounds = await this.kafka.instanceOffsets.bounds(partitions);
    for (const [i, c] of committed.entries()) {
      const b = bounds[i]!;
      const offset = c.offset >= 0 ? c.offset : this.config.autoOffsetReset === 'earliest' ? b.low : b.high;
      this.position.set(key(c), { topic: c.topic, partition: c.partition, offset });
    }
    await this.startAssigned(partitions);
  }

  private async startAssigned(partitions: TopicPartition[]): Promise<void> {
    const gen = ++this.generation;
    const positions = partitions.map((tp) => this.position.get(key(tp)) ?? { ...tp, offset: 0 });
    const session = await this.kafka.instanceOffsets.read(positions, this.sink(gen));
    for (const p of session.positions) this.position.set(key(p), { ...p });
    if (this.closed || gen !== this.generation) {
      await session.close();
      return;
    }
    this.mode = { kind: 'assign', partitions, session };
  }

  /** positions, positions/beginning, positions/end: the next `GET records` starts there. */
  async seek(positions: TopicPartitionOffset[]): Promise<void> {
    const mine = new Set(this.assignment().map(key));
    const foreign = positions.filter((p) => !mine.has(key(p)));
    if (this.mode.kind === 'none' || foreign.length > 0)
      throw illegalState(
        `No current assignment for partition(s): ${(foreign.length ? foreign : positions).map((p) => `${p.topic}/${p.partition}`).join(', ')}.`,
      );
    const seeked = new Set(positions.map(key));
    this.dropBuffered((r) => seeked.has(key(r)));
    for (const p of positions) this.position.set(key(p), { ...p });
    if (this.mode.kind === 'subscribe') for (const p of positions) this.mode.session.seek(p);
    else {
      const { partitions, session } = this.mode;
      this.dropBuffered(() => true);
      this.mode = { kind: 'none' };
      await session.close();
      await this.startAssigned(partitions);
    }
  }

  async bounds(partitions: TopicPartition[]) {
    return this.kafka.instanceOffsets.bounds(partitions);
  }

  /**
   * Up to `maxBytes` of records (at least one when any is there), waiting up to `timeoutMs` for
   * `fetch.min.bytes` of them. With auto-commit, what the previous call handed out is committed first.
   */
  async records(timeoutMs: number, maxBytes: number): Promise<ConsumedRecord[]> {
    if (this.fatal) {
      const e = this.fatal;
      this.fatal = undefined;
      throw e;
    }
    if (this.config.autoCommit) this.autoCommit(false);
    if (this.mode.kind === 'none') return [];
    const until = Date.now() + timeoutMs;
    while (this.bufferedBytes < this.config.fetchMinBytes || this.head >= this.buffer.length) {
      const left = until - Date.now();
      if (left <= 0 || this.closed || this.interrupted) break;
      this.resumeIfRoom();
      this.waiting = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        this.wake = done;
        function done() {
          clearTimeout(t);
          resolve();
        }
      });
      this.waiting = false;
      this.wake = undefined;
    }
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    // Records arrive in runs of one partition (a Kafka batch each): the position and what is owed are written once
    // per run, at its last record, not once per record.
    let last: ConsumedRecord | undefined;
    while (this.head < this.buffer.length) {
      const r = this.buffer[this.head]!;
      const size = this.sizes[this.head]!;
      if (out.length > 0 && bytes + size > maxBytes) break;
      this.buffer[this.head++] = undefined as unknown as ConsumedRecord; // let it be collected
      this.bufferedBytes -= size;
      bytes += size;
      out.push(r);
      if (last && (last.partition !== r.partition || last.topic !== r.topic)) this.handedOut(last);
      last = r;
    }
    if (last) this.handedOut(last);
    if (this.head >= this.buffer.length) {
      this.buffer = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    this.resumeIfRoom();
    return out;
  }

  /** `r` and everything before it on its partition went to the client: the next call (and a commit) go on after it. */
  private handedOut(r: ConsumedRecord): void {
    const next = { topic: r.topic, partition: r.partition, offset: r.offset + 1 };
    const k = key(r);
    this.position.set(k, next);
    this.owed.set(k, next);
  }

  /** Commit `offsets` as given (the caller already added one), or everything handed out when none are given. */
  async commit(offsets: TopicPartitionOffset[] | undefined): Promise<void> {
    const list = offsets ?? [...this.owed.values()];
    if (this.mode.kind === 'subscribe') await this.mode.session.commitNow(list);
    else if (this.mode.kind === 'assign') {
      const mine = new Set(this.mode.partitions.map(key));
      const foreign = list.filter((p) => !mine.has(key(p)));
      if (foreign.length > 0)
        throw illegalState(
          `Not assigned to this consumer: ${foreign.map((p) => `${p.topic}/${p.partition}`).join(', ')}.`,
        );
      if (list.length > 0) await this.kafka.instanceOffsets.commitOutside(this.group, list);
    } else if (list.length > 0) throw illegalState('The consumer has neither a subscription nor an assignment.');
    for (const p of list) {
      const o = this.owed.get(key(p));
      if (o && o.offset <= p.offset) this.owed.delete(key(p));
    }
  }

  async committed(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    return this.kafka.instanceOffsets.committed(this.group, partitions);
  }

  /** Auto-commit: hand what is owed to the group session (coalesced), or write it for an assign-mode instance. */
  private autoCommit(now: boolean): Promise<void> | undefined {
    if (this.owed.size === 0) return undefined;
    if (this.mode.kind === 'subscribe') {
      for (const p of this.owed.values()) this.mode.session.commit(p);
      this.owed.clear();
      return now ? this.mode.session.flushCommits() : undefined;
    }
    if (this.mode.kind === 'assign' && (now || Date.now() - this.lastOutsideCommit > ASSIGN_AUTO_COMMIT_MS)) {
      this.lastOutsideCommit = Date.now();
      const list = [...this.owed.values()];
      this.owed.clear();
      const p = this.kafka.instanceOffsets
        .commitOutside(this.group, list)
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'auto-commit failed'));
      return now ? p : undefined;
    }
    return undefined;
  }

  /** Shutdown: a waiting `GET records` answers now with what it has. */
  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
  }

  /** Delete, expiry, shutdown: commit what auto-commit owes, then leave the group at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.config.autoCommit) await this.autoCommit(true)?.catch(() => {});
    this.closed = true;
    this.wake?.();
    await this.stopReader();
  }

  private async stopReader(): Promise<void> {
    this.generation++;
    const mode = this.mode;
    this.mode = { kind: 'none' };
    this.dropBuffered(() => true);
    this.owed.clear();
    this.position.clear();
    if (mode.kind !== 'none') await mode.session.close();
  }

  /** Drops buffered records (a seek, a revoked partition, a stop); the reader resumes if it was paused for room. */
  private dropBuffered(which: (r: ConsumedRecord) => boolean): void {
    const buffer: ConsumedRecord[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.buffer.length; i++) {
      const r = this.buffer[i]!;
      if (which(r)) continue;
      buffer.push(r);
      sizes.push(this.sizes[i]!);
      bytes += this.sizes[i]!;
    }
    this.buffer = buffer;
    this.sizes = sizes;
    this.head = 0;
    this.bufferedBytes = bytes;
    this.resumeIfRoom();
  }

  private resumeIfRoom(): void {
    if (this.mode.kind !== 'none' && this.mode.session.paused && this.bufferedBytes < this.limits.bufferBytes / 2)
      this.mode.session.resume();
  }

  private sink(gen: number): RecordSink {
    return {
      onRecord: (r) => {
        if (gen !== this.generation || this.closed) return false;
        if (this.bufferedBytes >= this.limits.bufferBytes) return false; // the session pauses; resumed on drain
        const size = recordBytes(r);
        this.buffer.push(r);
        this.sizes.push(size);
        this.bufferedBytes += size;
        if (this.bufferedBytes >= this.config.fetchMinBytes) this.wake?.();
        return true;
      },
      onAssignment: (change) => {
        if (gen !== this.generation) return;
        // Records of partitions another member now reads are theirs (from the last commit): drop them here.
        const gone = new Set(change.revoked.map(key));
        if (gone.size === 0) return;
        this.dropBuffered((r) => gone.has(key(r)));
        for (const k of gone) {
          this.owed.delete(k);
          this.position.delete(k);
        }
      },
      onFatal: (e) => {
        if (gen !== this.generation) return;
        this.log.warn({ group: this.group, err: e.message }, 'consumer instance reader stopped');
        this.fatal = e;
        this.mode = { kind: 'none' };
        this.wake?.();
      },
    };
  }
}

export function notFound(group: string, name: string): GatewayError {
  return new GatewayError(
    404,
    ErrorCodes.CONSUMER_INSTANCE_NOT_FOUND,
    `Consumer instance '${name.slice(0, 128)}' not found in group '${group.slice(0, 255)}'.`,
  );
}
