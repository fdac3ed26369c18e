/**
 * The commit side of a group session, for either Kafka client: acknowledged offsets wait here, are committed at
 * most every COMMIT_INTERVAL_MS with one commit in flight, are tried again while their partition stays this member's,
 * and are flushed before the member leaves. The session supplies the client's commit (`send`), which resolves only
 * once Kafka confirmed it and rejects with a GatewayError otherwise.
 */
import type { Logger } from '../observability/logger.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, GatewayError } from '../errors.js';
import { tpKey } from './consumer-common.js';
import type { TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { describeKafkaError } from './errors.js';

/** A failed commit (e.g. during a rebalance) is tried again after this long, while its partition stays ours. */
const COMMIT_RETRY_MS = 500;
/**
 * Acknowledged offsets are committed at most this often per session (the acks in between coalesce into the next
 * commit). A WebSocket client may ack every few records; one OffsetCommit per ack (each an append to
 * `__consumer_offsets` on the broker and a round trip) cost the broker and the gateway more than the records
 * (W3 in docs/performance.md), while a later commit only widens what a crash redelivers (at-least-once either way).
 */
const COMMIT_INTERVAL_MS = 200;
/** flush() waits this long at most by default (a session's close). */
const FLUSH_TIMEOUT_MS = 10_000;

export type SendCommit = (positions: TopicPartitionOffset[]) => Promise<void>;

export class CommitTracker {
  /** The partitions this member holds now (Kafka's latest assignment). */
  private owned = new Set<string>();
  private readonly pending = new Map<string, TopicPartitionOffset>();
  private readonly committed = new Map<string, number>();
  private committing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The next commit, COMMIT_INTERVAL_MS after the last. */
  private intervalTimer: NodeJS.Timeout | undefined;
  private lastCommitAt = 0;
  private closed = false;

  constructor(
    private readonly send: SendCommit,
    private readonly log: Logger,
  ) {}

  /** A new assignment: what is no longer this member's is forgotten (its next owner commits it). */
  assign(partitions: readonly TopicPartition[]): void {
    this.owned = new Set(partitions.map(tpKey));
    for (const k of [...this.pending.keys(), ...this.committed.keys()]) {
      if (!this.owned.has(k)) {
        this.pending.delete(k);
        this.committed.delete(k);
      }
    }
  }

  /** An acknowledgement: `offset` (the next to read) is committed soon, unless a later one supersedes it. */
  ack({ topic, partition, offset }: TopicPartitionOffset): void {
    if (this.closed) return;
    const k = tpKey({ topic, partition });
    if (!this.owned.has(k)) return;
    if ((this.committed.get(k) ?? -1) >= offset) return;
    if ((this.pending.get(k)?.offset ?? -1) >= offset) return;
    this.pending.set(k, { topic, partition, offset });
    this.kick();
  }

  /** 409 unless every partition is this member's now. */
  requireAssigned(tps: readonly TopicPartition[], why = 'Not assigned to this consumer (now)'): void {
    const lost = tps.filter((tp) => !this.owned.has(tpKey(tp)));
    if (lost.length > 0)
      throw new GatewayError(
        409,
        ErrorCodes.CONSUMER_ILLEGAL_STATE,
        `${why}: ${lost.map((tp) => `${tp.topic}/${tp.partition}`).join(', ')}.`,
      );
  }

  /** Commits `positions` at once and resolves when Kafka confirmed them (an HTTP consumer's explicit commit). */
  async commitNow(positions: TopicPartitionOffset[]): Promise<void> {
    if (this.closed) throw new GatewayError(409, ErrorCodes.CONSUMER_ILLEGAL_STATE, 'The consumer is closed.');
    if (positions.length === 0) return;
    this.requireAssigned(positions);
    await this.send(positions);
    // The group can rebalance while the commit is in flight, and the client may rejoin and send it again in the new
    // generation (@platformatic/kafka does), where Kafka takes it for a partition this member no longer holds. Its
    // new owner may have read the committed offset before this one landed, and then reads these records again: the
    // commit is not reported as done (Java's commitSync fails the same way when the generation changed).
    this.requireAssigned(positions, 'The group rebalanced during the commit; no longer assigned to this consumer');
    this.recordCommitted(positions);
  }

  /** Commits what is pending now, waiting at most `timeoutMs`. */
  async flush(timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.pending.size > 0 || this.committing) && Date.now() < until) {
      if (this.committing) await this.committing;
      else if (this.retryTimer) await sleep(50);
      else this.kick(true);
    }
    if (this.pending.size > 0)
      this.log.warn({ partitions: this.pending.size }, 'acknowledged offsets not committed in time');
  }

  /** Nothing more is committed (after a last flush). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.intervalTimer);
    this.retryTimer = undefined;
    this.intervalTimer = undefined;
    this.pending.clear();
  }

  /** Commit what is pending: at once with `now` (a flush), else no sooner than COMMIT_INTERVAL_MS after the last. */
  kick(now = false): void {
    if (this.closed || this.committing || this.pending.size === 0 || this.retryTimer) return;
    const wait = this.lastCommitAt + COMMIT_INTERVAL_MS - Date.now();
    if (!now && wait > 0) {
      if (!this.intervalTimer) {
        this.intervalTimer = setTimeout(() => {
          this.intervalTimer = undefined;
          this.kick();
        }, wait);
        this.intervalTimer.unref();
      }
      return;
    }
    clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    this.lastCommitAt = Date.now();
    this.committing = this.commitPending().finally(() => {
      this.committing = undefined;
      this.kick();
    });
  }

  /** One commit of what is pending (acks that arrive meanwhile wait for the next one). */
  private async commitPending(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.send(batch);
      this.recordCommitted(batch);
    } catch (e) {
      // Typically a rebalance: keep what is still ours (and not superseded) and try again shortly.
      for (const p of batch) {
        const k = tpKey(p);
        if (this.owned.has(k) && (this.pending.get(k)?.offset ?? -1) < p.offset) this.pending.set(k, p);
      }
      this.log.debug({ err: describeKafkaError(e) }, 'commit failed; will retry');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, COMMIT_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  private recordCommitted(positions: readonly TopicPartitionOffset[]): void {
    for (const p of positions) {
      const k = tpKey(p);
      this.committed.set(k, Math.max(this.committed.get(k) ?? -1, p.offset));
    }
  }
}
