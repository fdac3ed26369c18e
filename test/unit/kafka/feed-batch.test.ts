import type { EachBatchPayload } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumedRecord } from '../../../src/kafka/consumer-types.js';
import { feedBatch, ROOM_WAIT_MS } from '../../../src/kafka/consumer-common.js';
import type { Logger } from '../../../src/observability/logger.js';

/** A fetched batch of offsets 10.. of t/0 and what feedBatch resolved on it. */
function payload(n: number, opts: { stale?: () => boolean } = {}) {
  const resolved: string[] = [];
  const p = {
    batch: {
      topic: 't',
      partition: 0,
      messages: Array.from({ length: n }, (_, i) => ({
        offset: String(10 + i),
        timestamp: '1732550000000',
        key: null,
        value: Buffer.from(`v${i}`),
        headers: {},
        attributes: 0,
      })),
    },
    resolveOffset: (o: string) => void resolved.push(o),
    isRunning: () => true,
    isStale: opts.stale ?? (() => false),
  } as unknown as EachBatchPayload;
  return { p, resolved };
}
const log = { error: vi.fn() } as unknown as Logger;

afterEach(() => vi.useRealTimers());

describe('feedBatch', () => {
  it('hands every record over in order and resolves the last one once (kafkajs resolving is cumulative)', async () => {
    const { p, resolved } = payload(5);
    const got: number[] = [];
    const refused = await feedBatch(
      p,
      (r) => (got.push(r.offset), true),
      () => false,
      log,
    );
    expect(refused).toBe(false);
    expect(got).toEqual([10, 11, 12, 13, 14]);
    expect(resolved).toEqual(['14']);
  });

  it('without room: stops at the first refusal, resolves what was taken, says refused', async () => {
    const { p, resolved } = payload(5);
    const got: number[] = [];
    const refused = await feedBatch(
      p,
      (r) => r.offset < 12 && (got.push(r.offset), true),
      () => false,
      log,
    );
    expect(refused).toBe(true);
    expect(got).toEqual([10, 11]);
    expect(resolved).toEqual(['11']);
  });

  it('with room: resolves what was taken before waiting, then offers the refused record again', async () => {
    const { p, resolved } = payload(4);
    let capacity = 2;
    const got: number[] = [];
    let open!: () => void;
    const room = vi.fn(() => new Promise<void>((r) => (open = r)));
    const accept = (r: ConsumedRecord) => {
      if (capacity === 0) return false;
      capacity--;
      got.push(r.offset);
      return true;
    };
    const done = feedBatch(p, accept, () => false, log, room);
    await vi.waitFor(() => expect(room).toHaveBeenCalledTimes(1));
    expect(resolved).toEqual(['11']); // resolved before the wait
    capacity = 10;
    open();
    expect(await done).toBe(false);
    expect(got).toEqual([10, 11, 12, 13]);
    expect(resolved).toEqual(['11', '13']);
  });

  it('with room that does not come within ROOM_WAIT_MS: refused (the caller pauses)', async () => {
    vi.useFakeTimers();
    const { p, resolved } = payload(3);
    const done = feedBatch(
      p,
      (r) => r.offset === 10,
      () => false,
      log,
      () => new Promise<void>(() => {}),
    );
    await vi.advanceTimersByTimeAsync(ROOM_WAIT_MS - 1);
    let settled = false;
    void done.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toBe(true);
    expect(resolved).toEqual(['10']);
  });

  it('a sink that keeps waking it without room: refused after ROOM_WAIT_MS in all, never starving the event loop', async () => {
    const { p, resolved } = payload(2);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    try {
      const refused = await feedBatch(
        p,
        () => false,
        () => false,
        log,
        () => Promise.resolve(),
      );
      expect(refused).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(ROOM_WAIT_MS - 1);
    expect(ticks).toBeGreaterThan(5); // timers kept firing meanwhile
    expect(resolved).toEqual([]);
  });

  it('stops when the batch went stale during the wait (a rebalance): nothing more taken or resolved', async () => {
    let stale = false;
    const { p, resolved } = payload(3, { stale: () => stale });
    const got: number[] = [];
    let open!: () => void;
    const done = feedBatch(
      p,
      (r) => r.offset === 10 && (got.push(r.offset), true),
      () => false,
      log,
      () => new Promise<void>((r) => (open = r)),
    );
    await vi.waitFor(() => expect(open).toBeTypeOf('function'));
    stale = true;
    open();
    expect(await done).toBe(true);
    expect(got).toEqual([10]);
    expect(resolved).toEqual(['10']);
  });

  it('room not soon (a socket that stopped reading): refused at once, without waiting, holding nothing', async () => {
    const { p, resolved } = payload(3);
    const room = vi.fn(() => new Promise<void>(() => {}));
    const refused = await feedBatch(
      p,
      (r) => r.offset === 10,
      () => false,
      log,
      room,
      () => false,
    );
    expect(refused).toBe(true);
    expect(room).not.toHaveBeenCalled(); // no wait: the batch (and its fetch response) is let go at once
    expect(resolved).toEqual(['10']);
  });

  it('stops waiting when room is no longer near after a wake (the socket went over its high water meanwhile)', async () => {
    const { p, resolved } = payload(3);
    let soon = true;
    let open!: () => void;
    const room = vi.fn(() => new Promise<void>((r) => (open = r)));
    const done = feedBatch(
      p,
      (r) => r.offset === 10,
      () => false,
      log,
      room,
      () => soon,
    );
    await vi.waitFor(() => expect(room).toHaveBeenCalledTimes(1));
    soon = false;
    open(); // woken, offered again, refused again: it must not wait a second time
    expect(await done).toBe(true);
    expect(room).toHaveBeenCalledTimes(1);
    expect(resolved).toEqual(['10']);
  });

  it('a sink that throws skips that record (logged) rather than looping on it', async () => {
    const { p, resolved } = payload(2);
    const refused = await feedBatch(
      p,
      (r) => {
        if (r.offset === 10) throw new Error('bug');
        return true;
      },
      () => false,
      log,
    );
    expect(refused).toBe(false);
    expect(resolved).toEqual(['11']);
    expect(log.error).toHaveBeenCalled();
  });
});
