import type { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import * as wsLib from 'ws';
import { frameHeaderBytes, TextFrames } from '../../../src/ws/frames.js';

/** ws' frame parser (exported by ws, not in its type declarations). */
const { Receiver } = wsLib as unknown as {
  Receiver: new (o: { isServer: boolean; maxPayload?: number }) => EventEmitter & { write(chunk: Buffer): boolean };
};

/** What a client's WebSocket makes of `bytes`: its text messages, or the error that made it fail. */
function receive(bytes: Buffer): string[] {
  const messages: string[] = [];
  const r = new Receiver({ isServer: false, maxPayload: 0 });
  r.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString('utf8'));
  });
  r.on('error', (e: Error) => {
    throw e;
  });
  r.write(bytes);
  return messages;
}

describe('TextFrames', () => {
  it('lays out frames of every length class that a client parses back, in order', () => {
    const payloads = [
      '',
      'a',
      'x'.repeat(125), // the longest 7-bit length
      'y'.repeat(126), // the shortest 16-bit length
      'z'.repeat(65_535), // the longest 16-bit length
      'w'.repeat(65_536), // the shortest 64-bit length
      '{"value":"héllo ✓ 😀"}', // multi-byte UTF-8: lengths are bytes, not characters
    ];
    const f = new TextFrames();
    for (const p of payloads) f.add(p);
    expect(f.count).toBe(payloads.length);
    const expectedBytes = payloads.reduce(
      (a, p) => a + frameHeaderBytes(Buffer.byteLength(p)) + Buffer.byteLength(p),
      0,
    );
    expect(f.bytes).toBe(expectedBytes);
    const out = f.take();
    expect(out.length).toBe(expectedBytes);
    expect(receive(out)).toEqual(payloads);
    // Taken: the queue starts again empty.
    expect(f.count).toBe(0);
    expect(f.bytes).toBe(0);
  });

  it('takes UTF-8 bytes (a shared broadcast frame) as they are, beside strings', () => {
    const f = new TextFrames();
    const shared = Buffer.from('{"type":"record","value":"ä"}');
    f.add(shared);
    f.add('after');
    f.add(shared);
    expect(receive(f.take())).toEqual([shared.toString(), 'after', shared.toString()]);
  });

  it('keeps frames whole over many runs of mixed sizes and characters (the Buffer grows, headers shrink to fit)', () => {
    // A fixed pseudo-random sequence: strings of every length class, ASCII and multi-byte (a lone surrogate is
    // sent as U+FFFD, as Buffer.from would), Buffers beside them, taken at irregular points.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', '"', 'é', '✓', '😀', '\ud800', '\n'];
    const f = new TextFrames();
    for (let run = 0; run < 40; run++) {
      const sent: string[] = [];
      let wire = 0;
      for (let i = rand(60); i >= 0; i--) {
        const len = [0, 1, 40, 41, 42, 124, 125, 126, 127, 300, 9000, 22_000, 70_000][rand(13)]!;
        let s = '';
        const ch = alphabet[rand(alphabet.length)]!;
        while (s.length < len) s += rand(4) === 0 ? ch : 'x';
        const asBuffer = rand(5) === 0;
        wire += f.add(asBuffer ? Buffer.from(s) : s);
        sent.push(Buffer.from(s).toString('utf8'));
      }
      expect(f.bytes).toBe(wire);
      expect(f.count).toBe(sent.length);
      const out = f.take();
      expect(out.length).toBe(wire);
      expect(receive(out)).toEqual(sent);
    }
  });

  it('headers: 2 bytes up to 125, 4 up to 65,535, 10 beyond', () => {
    expect([0, 125, 126, 65_535, 65_536, 2 ** 32].map(frameHeaderBytes)).toEqual([2, 2, 4, 4, 10, 10]);
  });
});
