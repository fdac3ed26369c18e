// The commit side both group sessions (kafkajs and @platformatic/kafka) share: coalescing, one commit in flight,
// retry while the partition stays ours, a flush that commits at once. The client's commit is a recorder here; the
// sessions' own integration tests (ws-group, consumers) run it against Kafka on both clients.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommitTracker } from '../../../src/kafka/commit-tracker.js';
import type { TopicPartitionOffset } from '../../../src/kafka/consumer-types.js';
import { GatewayError } from '../../../src/errors.js';

const log = pino({ level: 'silent' });
const tp = (partition: number, offset: number): TopicPartitionOffset => ({ topic: 't', partition, offset });

function recorder(fail = () => false) {
  const sent: TopicPartitionOffset[][] = [];
  const send = vi.fn(async (positions: TopicPartitionOffset[]) => {
    if (fail()) throw new Error('REBALANCE_IN_PROGRESS');
    sent.push(positions.map((p) => ({ ...p })));
  });
  return { sent, send };
}

/** A tracker owning t/0: the commit of offset 1 sent at once, offset 2 acknowledged after it and not yet due. */
async function secondAckPending() {
  const { sent, send } = recorder();
  const c = new CommitTracker(send, log);
  c.assign([tp(0, 0)]);
  c.ack(tp(0, 1));
  await vi.advanceTimersByTimeAsync(0);
  c.ack(tp(0, 2));
  return { c, sent };
}

describe('CommitTracker', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('commits the first ack at once and coalesces the acks of the next 200 ms into one commit', async () => {
    const { sent, send } = recorder();
    const c = new CommitTracker(send, log);
    c.assign([tp(0, 0), tp(1, 0)]);
    c.ack(tp(0, 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[tp(0, 1)]]);
    c.ack(tp(0, 2));
    c.ack(tp(0, 3));
    c.ack(tp(1, 7));
    await vi.advanceTimersByTimeAsync(199);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([[tp(0, 1)], [tp(0, 3), tp(1, 7)]]);
  });

  it('ignores acks for partitions not assigned, and acks at or below what is committed or pending', async () => {
    const { sent, send } = recorder();
    const c = new CommitTracker(send, log);
    c.assign([tp(0, 0)]);
    c.ack(tp(5, 9));
    c.ack(tp(0, 4));
    await vi.advanceTimersByTimeAsync(0);
    c.ack(tp(0, 4));
    c.ack(tp(0, 3));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual([[tp(0, 4)]]);
  });

  it('retries a failed commit while the partition stays assigned, and forgets it once revoked', async () => {
    let failing = true;
    const { sent, send } = recorder(() => failing);
    const c = new CommitTracker(send, log);
    c.assign([tp(0, 0), tp(1, 0)]);
    c.ack(tp(0, 5));
    c.ack(tp(1, 6));
    await vi.advanceTimersByTimeAsync(0);
    expect(send).toHaveBeenCalledTimes(1);
    c.assign([tp(0, 0)]); // partition 1 moved to another member: its next owner commits it
    failing = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([[tp(0, 5)]]);
  });

  it('flush commits at once, without waiting for the interval', async () => {
    const { c, sent } = await secondAckPending();
    await c.flush();
    expect(sent).toEqual([[tp(0, 1)], [tp(0, 2)]]);
  });

  it('commitNow refuses partitions this member does not hold with 409, and commits the rest', async () => {
    const { sent, send } = recorder();
    const c = new CommitTracker(send, log);
    c.assign([tp(0, 0)]);
    await expect(c.commitNow([tp(0, 3), tp(2, 1)])).rejects.toMatchObject({
      status: 409,
      message: 'Not assigned to this consumer (now): t/2.',
    });
    expect(sent).toEqual([]);
    await c.commitNow([tp(0, 3)]);
    c.ack(tp(0, 3)); // already committed
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual([[tp(0, 3)]]);
  });

  it('commitNow fails with 409 when a rebalance during the commit moved the partition away (the client re-sent it)', async () => {
    let c!: CommitTracker;
    const sent: TopicPartitionOffset[][] = [];
    // As @platformatic/kafka does on REBALANCE_IN_PROGRESS: rejoin (the session hears of the new assignment), then
    // send the commit again in the new generation, which Kafka takes.
    const send = vi.fn(async (positions: TopicPartitionOffset[]) => {
      c.assign([tp(1, 0)]);
      sent.push(positions);
    });
    c = new CommitTracker(send, log);
    c.assign([tp(0, 0), tp(1, 0)]);
    await expect(c.commitNow([tp(0, 5), tp(1, 7)])).rejects.toMatchObject({
      status: 409,
      message: 'The group rebalanced during the commit; no longer assigned to this consumer: t/0.',
    });
    expect(sent).toEqual([[tp(0, 5), tp(1, 7)]]);
    // Kept partitions go on as before: a commit after the rebalance is reported as done.
    send.mockImplementation(async (positions) => {
      sent.push(positions);
    });
    await c.commitNow([tp(1, 8)]);
    expect(sent.at(-1)).toEqual([tp(1, 8)]);
  });

  it('after close nothing more is sent and commitNow is refused', async () => {
    const { c, sent } = await secondAckPending();
    c.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual([[tp(0, 1)]]);
    await expect(c.commitNow([tp(0, 3)])).rejects.toBeInstanceOf(GatewayError);
  });
});
