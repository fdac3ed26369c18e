import { describe, expect, it } from 'vitest';
import { AckWindow, SendWater } from '../../../src/ws/flow.js';

const p0 = { topic: 't', partition: 0 };
const p1 = { topic: 't', partition: 1 };

describe('SendWater', () => {
  it('is over above high water and under again only below low water (hysteresis)', () => {
    const w = new SendWater(1000);
    expect(w.low).toBe(500);
    expect(w.update(1000)).toBe(false);
    expect(w.update(1001)).toBe(true);
    expect(w.over).toBe(true);
    expect(w.update(600)).toBe(false);
    expect(w.over).toBe(true);
    expect(w.update(500)).toBe(true);
    expect(w.over).toBe(false);
  });

  it('refuses a nonsense bound at construction', () => {
    expect(() => new SendWater(0)).toThrow(TypeError);
  });
});

describe('AckWindow', () => {
  it('counts unacknowledged records and is full at its size', () => {
    const w = new AckWindow(3);
    w.delivered(p0, 10);
    w.delivered(p1, 5);
    expect(w.full).toBe(false);
    w.delivered(p0, 11);
    expect(w.unacked).toBe(3);
    expect(w.full).toBe(true);
  });

  it('acks cumulatively per partition; commit = offset + 1', () => {
    const w = new AckWindow(10);
    for (const o of [10, 11, 12]) w.delivered(p0, o);
    w.delivered(p1, 7);
    expect(w.ack(p0, 11)).toEqual({ kind: 'ok', released: 2, commit: 12 });
    expect(w.unacked).toBe(2);
    // Acking the same again releases nothing, still a valid commit.
    expect(w.ack(p0, 11)).toEqual({ kind: 'ok', released: 0, commit: 12 });
    expect(w.ack(p1, 7)).toEqual({ kind: 'ok', released: 1, commit: 8 });
    expect(w.unacked).toBe(1);
  });

  it('refuses acks beyond what was delivered; ignores unknown partitions', () => {
    const w = new AckWindow(10);
    w.delivered(p0, 3);
    expect(w.ack(p0, 4)).toEqual({ kind: 'beyond-delivered', maxDelivered: 3 });
    expect(w.ack(p1, 0)).toEqual({ kind: 'unknown-partition' });
  });

  it('a reassignment forgets revoked partitions and keeps the unacknowledged records of kept ones (not redelivered)', () => {
    const w = new AckWindow(10);
    w.delivered(p0, 1);
    w.delivered(p0, 2);
    w.delivered(p1, 9);
    w.reassign([p0]);
    expect(w.unacked).toBe(2);
    expect(w.ack(p1, 9)).toEqual({ kind: 'unknown-partition' });
    // An ack for a record delivered before the rebalance releases it and commits after it.
    expect(w.ack(p0, 2)).toEqual({ kind: 'ok', released: 2, commit: 3 });
    expect(w.unacked).toBe(0);
  });

  it('a redelivery below the queued offsets replaces them', () => {
    const w = new AckWindow(10);
    for (const o of [5, 6, 7]) w.delivered(p0, o);
    w.delivered(p0, 5);
    expect(w.unacked).toBe(1);
    expect(w.ack(p0, 7)).toEqual({ kind: 'ok', released: 1, commit: 8 });
  });

  it('stays correct over many acks (compaction)', () => {
    const w = new AckWindow(100_000);
    for (let o = 0; o < 5000; o++) w.delivered(p0, o);
    for (let o = 0; o < 4999; o += 2) w.ack(p0, o);
    expect(w.unacked).toBe(1);
    expect(w.ack(p0, 4999)).toEqual({ kind: 'ok', released: 1, commit: 5000 });
  });

  it('keeps partitions apart when their records interleave, and after a partition was revoked and came back', () => {
    const w = new AckWindow(100);
    const other = { topic: `${p0.topic}-other`, partition: p0.partition };
    for (let o = 0; o < 3; o++) {
      w.delivered(p0, o);
      w.delivered(p1, 10 + o);
      w.delivered(other, 20 + o);
    }
    expect(w.unacked).toBe(9);
    expect(w.ack(p1, 11)).toEqual({ kind: 'ok', released: 2, commit: 12 });
    expect(w.ack(p0, 12)).toEqual({ kind: 'beyond-delivered', maxDelivered: 2 });
    w.reassign([p1, other]);
    expect(w.unacked).toBe(4);
    expect(w.ack(p0, 0)).toEqual({ kind: 'unknown-partition' });
    w.delivered(p0, 7); // back after a rebalance: a fresh window for it
    expect(w.ack(p0, 7)).toEqual({ kind: 'ok', released: 1, commit: 8 });
    expect(w.unacked).toBe(4);
  });
});
