/**
 * Flow control as pure logic (no sockets, no Kafka), so it is unit-tested on its own:
 * - SendWater: the socket's send buffer with hysteresis (over above high water, under again below low water);
 * - AckWindow: a subscription's delivered-but-unacknowledged records, cumulative acks per partition.
 * A subscription fetches from Kafka only while it is not paused by its client, its window is not full and its
 * socket is not over high water; so memory per socket stays bounded by window + high water + one fetch.
 */
import type { TopicPartition } from '../kafka/index.js';

/** Resume only once the buffer fell to this share of the high water, so a socket does not flap at the mark. */
export const LOW_WATER_RATIO = 0.5;

export class SendWater {
  private isOver = false;
  readonly low: number;

  constructor(readonly high: number) {
    if (!(Number.isSafeInteger(high) && high > 0)) throw new TypeError('SendWater: high must be a positive integer');
    this.low = Math.floor(high * LOW_WATER_RATIO);
  }

  get over(): boolean {
    return this.isOver;
  }

  /** Feed the current bufferedAmount; true when the state flipped. */
  update(buffered: number): boolean {
    if (!this.isOver && buffered > this.high) {
      this.isOver = true;
      return true;
    }
    if (this.isOver && buffered <= this.low) {
      this.isOver = false;
      return true;
    }
    return false;
  }
}

interface PartitionWindow {
  /** Offsets delivered and not yet acknowledged, ascending; `head` is the first live one. */
  offsets: number[];
  head: number;
  /** Highest offset ever delivered on this partition in this assignment (acks beyond it are refused). */
  maxDelivered: number;
}

export type AckResult =
  | { kind: 'ok'; released: number; commit: number }
  /** The partition is not (any more) delivered to this subscription: ignore quietly (a rebalance race). */
  | { kind: 'unknown-partition' }
  | { kind: 'beyond-delivered'; maxDelivered: number };

const key = (tp: TopicPartition) => `${tp.partition}:${tp.topic}`;

export class AckWindow {
  private readonly parts = new Map<string, PartitionWindow>();
  private inFlight = 0;

  constructor(readonly size: number) {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new TypeError('AckWindow: size must be a positive integer');
  }

  get unacked(): number {
    return this.inFlight;
  }

  get full(): boolean {
    return this.inFlight >= this.size;
  }

  /** The partition `delivered` saw last (records come in runs of one partition): no key built per record. */
  private last: { topic: string; partition: number; p: PartitionWindow } | undefined;

  delivered(tp: TopicPartition, offset: number): void {
    const last = this.last;
    let p: PartitionWindow | undefined;
    if (last && last.partition === tp.partition && last.topic === tp.topic) p = last.p;
    else {
      p = this.parts.get(key(tp));
      if (!p) {
        p = { offsets: [], head: 0, maxDelivered: -1 };
        this.parts.set(key(tp), p);
      }
      this.last = { topic: tp.topic, partition: tp.partition, p };
    }
    const newest = p.offsets.length > p.head ? p.offsets[p.offsets.length - 1]! : -1;
    // A redelivery (after a rebalance) restarts below what is queued: the old entries are the same records.
    if (offset <= newest) this.reset(p);
    p.offsets.push(offset);
    this.inFlight++;
    if (offset > p.maxDelivered) p.maxDelivered = offset;
  }

  /** Cumulative: every delivered record of the partition up to `offset` is done. Commit = offset + 1. */
  ack(tp: TopicPartition, offset: number): AckResult {
    const p = this.parts.get(key(tp));
    if (!p) return { kind: 'unknown-partition' };
    if (offset > p.maxDelivered) return { kind: 'beyond-delivered', maxDelivered: p.maxDelivered };
    let n = 0;
    while (p.head < p.offsets.length && p.offsets[p.head]! <= offset) {
      p.head++;
      n++;
    }
    this.inFlight -= n;
    if (p.head === p.offsets.length) {
      p.offsets = [];
      p.head = 0;
    } else if (p.head > 1024 && p.head * 2 > p.offsets.length) {
      p.offsets = p.offsets.slice(p.head);
      p.head = 0;
    }
    return { kind: 'ok', released: n, commit: offset + 1 };
  }

  /**
   * A new assignment: forget revoked partitions entirely. Kept ones keep their unacknowledged records: the group
   * session goes on after what this socket already got (no redelivery to it), so those records still await its acks.
   * (If a kept partition is redelivered anyway, `delivered` below the queue replaces it.)
   */
  reassign(current: readonly TopicPartition[]): void {
    const keep = new Set(current.map(key));
    for (const [k, p] of this.parts) {
      if (keep.has(k)) continue;
      this.reset(p);
      this.parts.delete(k);
      if (this.last?.p === p) this.last = undefined;
    }
  }

  private reset(p: PartitionWindow): void {
    this.inFlight -= p.offsets.length - p.head;
    p.offsets = [];
    p.head = 0;
  }
}
