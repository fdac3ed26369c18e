/**
 * Splits a byte stream of concatenated JSON values (`{...}{...}` or one per line, any whitespace between) into
 * one chunk of bytes per top-level value, without parsing them: the v3 streaming produce body. Each value is then
 * parsed on its own, so one malformed record is reported for itself while the stream goes on.
 *
 * It only tracks nesting depth and strings (quotes and backslash escapes), on bytes: every byte of a multi-byte
 * UTF-8 character is ≥ 0x80, so it can never be mistaken for a bracket or a quote. A value longer than `maxBytes`
 * is not kept: it is scanned to its end and reported as too large, and the stream goes on after it.
 */

export type SplitItem =
  | { kind: 'value'; bytes: Buffer }
  /** The value passed maxBytes (its bytes were dropped). */
  | { kind: 'tooLarge'; size: number }
  /** The body ended inside a value. */
  | { kind: 'truncated'; bytes: Buffer };

const OPEN_OBJ = 0x7b; // {
const CLOSE_OBJ = 0x7d; // }
const OPEN_ARR = 0x5b; // [
const CLOSE_ARR = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** What ends a bare top-level token (a number, true, garbage): whitespace or the start of another value. */
function endsBareToken(b: number): boolean {
  return isSpace(b) || b === OPEN_OBJ || b === OPEN_ARR || b === QUOTE || b === CLOSE_OBJ || b === CLOSE_ARR;
}

export class JsonSplitter {
  /** Parts of the value being read, from earlier chunks. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes of the current value seen so far (kept or not). */
  private size = 0;
  private inValue = false;
  /** The current value is a bare token (number, literal or junk) rather than an object, array or string. */
  private bare = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private dropped = false;

  constructor(private readonly maxBytes: number) {}

  /** The values that ended within this chunk, in order. */
  push(chunk: Uint8Array): SplitItem[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: SplitItem[] = [];
    let start = 0; // where the current value starts within this chunk (when it started here)
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (!this.inValue) {
        // Between values: skip whitespace, then start a value at i.
        while (i < n && isSpace(buf[i]!)) i++;
        if (i === n) break;
        this.begin();
        start = i;
        const b = buf[i]!;
        if (b === OPEN_OBJ || b === OPEN_ARR) {
          this.depth = 1;
          i++;
        } else if (b === QUOTE) {
          this.inString = true;
          i++;
        } else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
          // A stray closing bracket is a value of its own (a malformed one), so the stream can go on after it.
          i++;
          this.finish(out, buf.subarray(start, i));
          continue;
        } else {
          this.bare = true;
          i++;
        }
      }
      // Inside a value: scan to its end or to the end of the chunk.
      let ended = false;
      if (this.bare) {
        while (i < n && !endsBareToken(buf[i]!)) i++;
        ended = i < n;
      } else {
        while (i < n) {
          const b = buf[i++]!;
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (b === BACKSLASH) this.escaped = true;
            else if (b === QUOTE) {
              this.inString = false;
              if (this.depth === 0) {
                ended = true;
                break;
              }
            }
          } else if (b === QUOTE) this.inString = true;
          else if (b === OPEN_OBJ || b === OPEN_ARR) this.depth++;
          else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
            if (--this.depth === 0) {
              ended = true;
              break;
            }
          }
        }
      }
      if (ended) this.finish(out, buf.subarray(start, i));
      else this.keep(buf.subarray(start, n));
    }
    return out;
  }

  /** The body ended: a value still open is reported as truncated (a bare token simply ends here). */
  end(): SplitItem[] {
    if (!this.inValue) return [];
    const out: SplitItem[] = [];
    if (this.bare) this.finish(out, Buffer.alloc(0));
    else if (this.dropped) this.finish(out, Buffer.alloc(0));
    else {
      const bytes = this.take(Buffer.alloc(0));
      this.inValue = false;
      out.push({ kind: 'truncated', bytes });
    }
    return out;
  }

  /** Bytes held for the value being read (memory accounting). */
  get heldBytes(): number {
    return this.partsBytes;
  }

  private begin(): void {
    this.inValue = true;
    this.bare = false;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.dropped = false;
    this.size = 0;
  }

  private keep(piece: Buffer): void {
    this.size += piece.length;
    if (this.dropped) return;
    if (this.size > this.maxBytes) {
      this.dropped = true;
      this.parts = [];
      this.partsBytes = 0;
      return;
    }
    // A copy: the chunk's memory may be reused by the caller's source.
    this.parts.push(Buffer.from(piece));
    this.partsBytes += piece.length;
  }

  private take(last: Buffer): Buffer {
    const bytes =
      this.parts.length === 0 ? Buffer.from(last) : Buffer.concat([...this.parts, last], this.partsBytes + last.length);
    this.parts = [];
    this.partsBytes = 0;
    return bytes;
  }

  private finish(out: SplitItem[], last: Buffer): void {
    this.inValue = false;
    const size = this.size + last.length;
    if (this.dropped || size > this.maxBytes) {
      this.parts = [];
      this.partsBytes = 0;
      out.push({ kind: 'tooLarge', size });
      return;
    }
    out.push({ kind: 'value', bytes: this.take(last) });
  }
}
