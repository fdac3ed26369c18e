import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventEmitter } from 'node:events';
import * as wsLib from 'ws';
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

function setup<T = undefined>(
  high = 100,
  slowMs = 1000,
  budget?: SendBudget,
  /** Give the socket a TCP socket under it (before the sender looks for one). */
  under?: (ws: FakeSocket) => T,
) {
  const ws = new FakeSocket();
  const extra = under?.(ws);
  const flips: boolean[] = [];
  const slow: string[] = [];
  const s = new SocketSender(ws as unknown as WebSocket, {
    highWaterBytes: high,
    slowClientMs: slowMs,
    onFlip: (over) => flips.push(over),
    onTooSlow: (reason) => slow.push(reason),
    budget,
  });
  return { ws, s, flips, slow, extra };
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

/** The TCP socket under a FakeSocket: takes whole chunks; the test decides when the OS took them. */
class FakeTcp {
  chunks: Buffer[] = [];
  private cbs: Array<(err?: Error | null) => void> = [];
  constructor(private readonly ws: FakeSocket) {}
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean {
    this.chunks.push(chunk);
    this.ws.bufferedAmount += chunk.length;
    this.cbs.push(cb);
    return true;
  }
  /** The OS took every chunk so far. */
  drain(err?: Error) {
    for (const [i, cb] of this.cbs.splice(0).entries()) {
      this.ws.bufferedAmount -= this.chunks[i]?.length ?? 0;
      cb(err ?? null);
    }
  }
}

/** ws' frame parser (exported by ws, not in its type declarations). */
const { Receiver } = wsLib as unknown as {
  Receiver: new (o: { isServer: boolean }) => EventEmitter & { write(chunk: Buffer): boolean };
};

/** Frames in `chunks`, parsed by ws' own receiver (as a client would). */
function parse(chunks: Buffer[]): string[] {
  const out: string[] = [];
  const r = new Receiver({ isServer: false });
  r.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    out.push(data.toString('utf8'));
  });
  for (const c of chunks) r.write(c);
  return out;
}

function rawSetup(high = 1_000_000) {
  const t = setup(high, 1000, undefined, (ws) => {
    const tcp = new FakeTcp(ws);
    Object.assign(ws, { _socket: tcp, extensions: '' });
    return tcp;
  });
  return { ...t, tcp: t.extra! };
}

const nextTick = () => new Promise((r) => process.nextTick(r));

describe('SocketSender, frames written to the socket directly', () => {
  it('writes the frames of one synchronous run as one chunk once that work returns, in order', async () => {
    const { ws, s, tcp } = rawSetup();
    s.send('a');
    s.send(Buffer.from('{"b":"é"}'));
    s.send('c'.repeat(300));
    expect(tcp.chunks).toHaveLength(0);
    expect(ws.sent).toEqual([]); // not through ws' send
    await nextTick();
    expect(tcp.chunks).toHaveLength(1);
    expect(parse(tcp.chunks)).toEqual(['a', '{"b":"é"}', 'c'.repeat(300)]);
    s.send('d');
    await nextTick();
    expect(tcp.chunks).toHaveLength(2);
    expect(parse(tcp.chunks.slice(1))).toEqual(['d']);
  });

  it('runs each onWritten once its chunk was written, and none for a failed write', async () => {
    const { s, tcp } = rawSetup();
    const done: string[] = [];
    s.send('a', () => done.push('a'));
    s.send('b');
    s.send('c', () => done.push('c'));
    await nextTick();
    expect(done).toEqual([]);
    tcp.drain();
    expect(done).toEqual(['a', 'c']);
    s.send('d', () => done.push('d'));
    await nextTick();
    tcp.drain(new Error('EPIPE'));
    expect(done).toEqual(['a', 'c']);
  });

  it('writes at once when held-back frames reach a quarter of the high water; they count as buffered meanwhile', async () => {
    const { ws, s, tcp, flips } = rawSetup(4000); // holds back at most 1000 bytes
    s.send('x'.repeat(600));
    expect(tcp.chunks).toHaveLength(0);
    expect(s.maxBufferedAmount).toBe(604); // 600 bytes and a 4-byte header, not yet in the socket
    s.send('y'.repeat(600)); // 1208 held back: out now
    expect(tcp.chunks).toHaveLength(1);
    expect(ws.bufferedAmount).toBe(1208);
    s.send('z');
    await nextTick();
    expect(parse(tcp.chunks)).toEqual(['x'.repeat(600), 'y'.repeat(600), 'z']);
    expect(flips).toEqual([]);
  });

  it('goes over its high water on frames not yet written, and back under once the socket drained', async () => {
    const { s, tcp, flips } = rawSetup(400); // holds back at most 100 bytes: every frame below goes out at once
    s.send('x'.repeat(300));
    s.send('x'.repeat(300));
    expect(s.over).toBe(true);
    expect(flips).toEqual([true]);
    tcp.drain();
    expect(s.over).toBe(false);
    expect(flips).toEqual([true, false]);
  });

  it('stop writes what was sent before it (so it leaves ahead of a close frame); a closed socket gets nothing', async () => {
    const a = rawSetup();
    a.s.send('last');
    a.s.stop();
    expect(parse(a.tcp.chunks)).toEqual(['last']);
    a.s.send('never');
    await nextTick();
    expect(a.tcp.chunks).toHaveLength(1);

    const b = rawSetup();
    b.s.send('lost');
    b.ws.readyState = 3; // the peer closed before the write
    await nextTick();
    expect(b.tcp.chunks).toHaveLength(0);
  });

  it('a socket with a negotiated extension goes through ws, frame by frame', async () => {
    const t = setup(1_000_000, 1000, undefined, (ws) => {
      const tcp = new FakeTcp(ws);
      Object.assign(ws, { _socket: tcp, extensions: 'permessage-deflate' });
      return tcp;
    });
    t.s.send('a');
    t.s.send('b');
    await nextTick();
    expect(t.extra!.chunks).toHaveLength(0);
    expect(t.ws.sent).toEqual(['a', 'b']);
  });
});

describe('SocketSender and the send budget', () => {
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
    // Over the budget for the grace: the socket holding the most (b: 110 bytes) is evicted as too slow, held or
    // not; its bytes leave with it.
    b.s.send('x'.repeat(100));
    a.s.send('x'.repeat(100));
    expect(a.s.over).toBe(true);
    t += 100;
    budget.check();
    expect([a.slow, b.slow]).toEqual([[], ['budget']]);
    b.s.stop();
    expect(budget.queuedBytes).toBe(100);
  });
});
