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

  it('headers: 2 bytes up to 125, 4 up to 65,535, 10 beyond', () => {
    expect([0, 125, 126, 65_535, 65_536, 2 ** 32].map(frameHeaderBytes)).toEqual([2, 2, 4, 4, 10, 10]);
  });
});
