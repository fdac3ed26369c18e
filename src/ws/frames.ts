/**
 * Text frames as the server puts them on the wire (RFC 6455 §5.2: FIN, opcode 1, never masked, no extension bits),
 * many of them laid out in one Buffer so that a run of frames leaves in one socket write. ws frames every `send`
 * on its own (a header Buffer, two stream writes and a callback per frame), which cost more than encoding the
 * record itself at W3's rates. Pure (no sockets), unit-tested against ws' own parser.
 */

/** Header bytes of an unmasked frame carrying `n` payload bytes. */
export function frameHeaderBytes(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** Frames queued for one write: payloads (text, or its UTF-8 bytes) and their byte lengths. */
export class TextFrames {
  private payloads: (string | Buffer)[] = [];
  private lengths: number[] = [];
  /** Wire bytes of the frames so far (headers included). */
  bytes = 0;

  get count(): number {
    return this.payloads.length;
  }

  /** Queue one frame; returns its wire bytes. */
  add(payload: string | Buffer): number {
    const n = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const wire = frameHeaderBytes(n) + n;
    this.payloads.push(payload);
    this.lengths.push(n);
    this.bytes += wire;
    return wire;
  }

  /** The queued frames, in order, as one Buffer; the queue is empty afterwards. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    const { payloads, lengths } = this;
    for (let i = 0; i < payloads.length; i++) {
      const p = payloads[i]!;
      const n = lengths[i]!;
      out[at] = 0x81; // FIN + text
      if (n < 126) {
        out[at + 1] = n;
        at += 2;
      } else if (n < 65_536) {
        out[at + 1] = 126;
        out.writeUInt16BE(n, at + 2);
        at += 4;
      } else {
        out[at + 1] = 127;
        out.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
        out.writeUInt32BE(n >>> 0, at + 6);
        at += 10;
      }
      if (typeof p === 'string') out.write(p, at, n, 'utf8');
      else p.copy(out, at);
      at += n;
    }
    this.payloads = [];
    this.lengths = [];
    this.bytes = 0;
    return out;
  }
}
