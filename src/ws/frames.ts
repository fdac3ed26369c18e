/**
 * Text frames as the server puts them on the wire (RFC 6455 §5.2: FIN, opcode 1, never masked, no extension bits),
 * many of them laid out in one Buffer so that a run of frames leaves in one socket write. ws frames every `send`
 * on its own (a header Buffer, two stream writes and a callback per frame), which cost more than encoding the
 * record itself at W3's rates. Each frame is encoded straight into that Buffer as it is added (one UTF-8 write per
 * frame: no separate count of its bytes, no list of payloads to copy later): its header's size is chosen from a
 * bound on the payload's bytes (a string of n UTF-16 units is at most 3n bytes), and in the rare frame whose
 * payload came out shorter than the bound's header class the payload moves down next to the header it needs.
 * Pure (no sockets), unit-tested against ws' own parser.
 */

/** Header bytes of an unmasked frame carrying `n` payload bytes. */
export function frameHeaderBytes(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** Strings longer than this are measured (Buffer.byteLength) rather than bounded at 3 bytes per unit. */
const MEASURE_ABOVE = 8 * 1024;
/** The first Buffer of a run holds at least this much more than the last run took (the frame that ends it). */
const SLACK = 1 / 4;
const EMPTY = Buffer.alloc(0);

/**
 * A frame that writes its payload's UTF-8 bytes itself (TextFrames.begin / buffer / end), or gives its text where
 * ws frames it (a socket with an extension). Both are the same bytes.
 */
export interface FrameSource {
  writeTo(frames: TextFrames): number;
  text(): string;
}

/** Frames queued for one write, already laid out in one Buffer. */
export class TextFrames {
  private chunk: Buffer = EMPTY;
  /** Wire bytes of the frames so far (headers included): chunk[0, bytes). */
  bytes = 0;
  private frames = 0;
  /** Wire bytes of the last run taken: the size of the next run's first Buffer. */
  private lastRun = 0;
  /** The frame begun last: where its header goes, and the header size its bound called for. */
  private openAt = 0;
  private openHeader = 2;

  get count(): number {
    return this.frames;
  }

  /** Queue one frame (a string, its UTF-8 bytes, or a source that writes them); returns its wire bytes. */
  add(payload: string | Buffer | FrameSource): number {
    if (typeof payload === 'string') {
      const bound = payload.length > MEASURE_ABOVE ? Buffer.byteLength(payload) : payload.length * 3;
      const at = this.begin(bound);
      return this.end(at + this.chunk.write(payload, at, 'utf8'));
    }
    if (!Buffer.isBuffer(payload)) return payload.writeTo(this);
    const at = this.begin(payload.length);
    payload.copy(this.chunk, at);
    return this.end(at + payload.length);
  }

  /**
   * Starts a frame whose payload is at most `bound` bytes: the caller writes it into `buffer` from the position
   * returned, then calls `end` with where it stopped. A frame begun and never ended is overwritten by the next.
   */
  begin(bound: number): number {
    const h = frameHeaderBytes(bound);
    const at = this.reserve(h + bound);
    this.openAt = at;
    this.openHeader = h;
    return at + h;
  }

  /** The Buffer a frame begun is written into (valid until the next `begin`, `add` or `take`). */
  get buffer(): Buffer {
    return this.chunk;
  }

  /** Ends the frame begun last, its payload ending at `end`; returns its wire bytes. */
  end(end: number): number {
    const at = this.openAt;
    let h = this.openHeader;
    const n = end - at - h;
    const exact = frameHeaderBytes(n);
    if (exact < h) {
      this.chunk.copyWithin(at + exact, at + h, end);
      h = exact;
    }
    writeHeader(this.chunk, at, n);
    this.bytes = at + h + n;
    this.frames++;
    return h + n;
  }

  /** The queued frames, in order, as one Buffer; the queue is empty afterwards. */
  take(): Buffer {
    const out = this.chunk.subarray(0, this.bytes);
    this.lastRun = this.bytes;
    this.chunk = EMPTY;
    this.bytes = 0;
    this.frames = 0;
    return out;
  }

  /** Room for `need` more bytes after the frames so far (a larger Buffer when full); returns where they go. */
  private reserve(need: number): number {
    const at = this.bytes;
    if (this.chunk.length - at >= need) return at;
    const grown = Math.max(at + need, this.chunk.length * 2, Math.ceil(this.lastRun * (1 + SLACK)));
    const next = Buffer.allocUnsafe(grown);
    if (at > 0) this.chunk.copy(next, 0, 0, at);
    this.chunk = next;
    return at;
  }
}

/** Writes the header of a frame of `n` payload bytes at `at`. */
function writeHeader(out: Buffer, at: number, n: number): void {
  out[at] = 0x81; // FIN + text
  if (n < 126) {
    out[at + 1] = n;
  } else if (n < 65_536) {
    out[at + 1] = 126;
    out.writeUInt16BE(n, at + 2);
  } else {
    out[at + 1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
    out.writeUInt32BE(n >>> 0, at + 6);
  }
}
