import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { SendBudget } from '../../../src/ws/send-budget.js';
import { SocketSender } from '../../../src/ws/sender.js';

/** A WebSocket stand-in: `bufferedAmount` grows on send and shrinks when the test "writes" frames out. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  private pending: Array<{ bytes: number; cb?: (err?: Error) => void }> = [];
  send(data: string | Buffer, opts: { binary?: boolean }, cb?: (err?: Error) => void) {
    // Every frame goes out as text, Buffers (shared UTF-8 bytes) included.
    expect(opts.binary).toBe(false);
    this.sent.push(data.toString());
    this.bufferedAmount += data.length;
    this.pending.push({ bytes: data.length, ...(cb ? { cb } : {}) });
  }
  /** The OS took the oldest `n` frames. */
  write(n = this.pending.length) {
    for (const p of this.pending.splice(0, n)) {
      this.bufferedAmount -= p.bytes;
      p.cb?.();
    }
  }
}

function setup(high = 100, slowMs = 1000, budget?: SendBudget) {
  const ws = new FakeSocket();
  const flips: boolean[] = [];
  const slow: string[] = [];
  const s = new SocketSender(ws as unknown as WebSocket, {
    highWaterBytes: high,
    slowClientMs: slowMs,
    onFlip: (over) => flips.push(over),
    onTooSlow: (reason) => slow.push(reason),
    budget,
  });
  return { ws, s, flips, slow };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SocketSender', () => {
  it('flips over above high water and back under below low water, on write callbacks', () => {
    const { ws, s, flips } = setup(100);
    s.send('x'.repeat(60));
    s.send('x'.repeat(60));
    expect(s.over).toBe(true);
    expect(flips).toEqual([true]);
    ws.write(1); // 60 left: above low water (50)
    expect(s.over).toBe(true);
    ws.write(1);
    expect(s.over).toBe(false);
    expect(flips).toEqual([true, false]);
    expect(s.maxBufferedAmount).toBe(120);
  });

  it('runs onWritten once the frame was written', () => {
    const { ws, s } = setup();
    const done = vi.fn();
    s.send('a', done);
    expect(done).not.toHaveBeenCalled();
    ws.write();
    expect(done).toHaveBeenCalledOnce();
  });

  it('broadcast frames queue while over, in order, and flush when the socket drains', () => {
    const { ws, s, slow } = setup(100);
    s.send('x'.repeat(120));
    s.sendLossless('a'.repeat(30));
    s.sendLossless('b'.repeat(30));
    expect(ws.sent).toHaveLength(1);
    expect(s.backlogBytes).toBe(60);
    ws.write();
    expect(ws.sent.slice(1)).toEqual(['a'.repeat(30), 'b'.repeat(30)]);
    expect(s.backlogBytes).toBe(0);
    expect(slow).toEqual([]);
  });

  it('an overflowing backlog is too slow at once', () => {
    const { s, slow } = setup(100);
    s.send('x'.repeat(120));
    s.sendLossless('a'.repeat(60));
    expect(slow).toEqual([]);
    s.sendLossless('b'.repeat(60));
    expect(slow).toEqual(['overflow']);
  });

  it('a backlog that outlives slowClientMs is too slow; one that drains in time is not', () => {
    vi.useFakeTimers();
    const a = setup(100, 1000);
    a.s.send('x'.repeat(120));
    a.s.sendLossless('q');
    vi.advanceTimersByTime(999);
    expect(a.slow).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(a.slow).toEqual(['timeout']);

    const b = setup(100, 1000);
    b.s.send('x'.repeat(120));
    b.s.sendLossless('q');
    vi.advanceTimersByTime(500);
    b.ws.write();
    vi.advanceTimersByTime(1000);
    expect(b.slow).toEqual([]);
  });

  it('writes nothing once stopped or closed', () => {
    const { ws, s } = setup();
    s.stop();
    s.send('a');
    s.sendLossless('b');
    expect(ws.sent).toEqual([]);
    const c = setup();
    c.ws.readyState = 2;
    c.s.send('a');
    expect(c.ws.sent).toEqual([]);
  });
});

describe('SocketSender corking', () => {
  it('corks the TCP socket at the first frame and uncorks once the synchronous writes are done', async () => {
    const { ws, s } = setup(1_000_000);
    const calls: string[] = [];
    (ws as unknown as { _socket: unknown })._socket = {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
    };
    s.send('a');
    s.send('b');
    s.send('c');
    expect(calls).toEqual(['cork']);
    expect(ws.sent).toEqual(['a', 'b', 'c']);
    await new Promise((r) => process.nextTick(r));
    expect(calls).toEqual(['cork', 'uncork']);
    s.send('d');
    await new Promise((r) => process.nextTick(r));
    expect(calls).toEqual(['cork', 'uncork', 'cork', 'uncork']);
  });

  it('writes out at once when the corked bytes reach a quarter of the high water, so they never look like a slow reader', async () => {
    const { ws, s, flips } = setup(4000); // corks at most 1000 bytes
    const calls: string[] = [];
    (ws as unknown as { _socket: unknown })._socket = {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
    };
    s.send('x'.repeat(600));
    expect(calls).toEqual(['cork']);
    s.send('x'.repeat(600)); // 1200 corked: out now
    expect(calls).toEqual(['cork', 'uncork']);
    s.send('x'.repeat(600)); // a new cork
    expect(calls).toEqual(['cork', 'uncork', 'cork']);
    await new Promise((r) => process.nextTick(r));
    expect(calls).toEqual(['cork', 'uncork', 'cork', 'uncork']);
    expect(flips).toEqual([]);
  });

  it('counts its send buffer and backlog against the process budget; held, it is over; evicted, it is too slow', () => {
    let t = 0;
    const budget = new SendBudget(150, 100, () => t);
    const a = setup(100, 10_000, budget);
    const b = setup(100, 10_000, budget);
    a.s.send('x'.repeat(90));
    expect(budget.queuedBytes).toBe(90);
    b.s.send('x'.repeat(40));
    expect(b.s.over).toBe(false);
    b.s.send('x'.repeat(40)); // 170 > 150: b is held, over although under its own high water
    expect(b.s.over).toBe(true);
    expect(b.flips).toEqual([true]);
    // Held, broadcast frames queue (and count) instead of being written.
    b.s.sendLossless('y'.repeat(10));
    expect(b.ws.sent).toHaveLength(2);
    expect(budget.queuedBytes).toBe(180);
    // a drains: 90 left (b's 80 + 10 queued), half the budget is 75: b stays held.
    a.ws.write();
    expect(budget.queuedBytes).toBe(90);
    budget.check();
    expect(b.s.over).toBe(true);
    // b's client reads: the total falls under half, b goes on and its backlog is written.
    b.ws.write();
    budget.check();
    expect(b.s.over).toBe(false);
    expect(b.flips).toEqual([true, false]);
    expect(b.ws.sent.at(-1)).toBe('y'.repeat(10));
    // Held past the grace while over budget: evicted as too slow; its bytes leave with it.
    b.s.send('x'.repeat(100));
    a.s.send('x'.repeat(100));
    expect(a.s.over).toBe(true);
    t += 100;
    budget.check();
    expect([a.slow, b.slow]).toEqual([['budget'], []]);
    a.s.stop();
    expect(budget.queuedBytes).toBe(110);
  });
});
