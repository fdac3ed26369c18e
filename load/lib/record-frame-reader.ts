/**
 * The load client's cheap look at a `record` frame (W3): its partition and offset, read from the frame's bytes
 * without decoding it to a string or parsing it as JSON. The gateway writes a `record` frame as
 * `{"type":"record","id":<id>,"topic":<topic>,"partition":<n>,"offset":<n>,...` (docs/websocket.md), so a client
 * that knows its subscription id and topic knows the bytes every frame of it starts with; what follows is two
 * integers. Anything else (another frame type, another id or topic, an unexpected shape, a number that is not a
 * plain non-negative integer below 2^53) is not read here: the caller parses that frame in full, so the counts stay
 * exact whatever arrives.
 */

const OFFSET_KEY = Buffer.from(',"offset":');
/** Digits of the largest integer read here (15 digits stay below 2^53). */
const MAX_DIGITS = 15;

export class RecordFrameReader {
  /** `{"type":"record","id":…,"topic":…,"partition":` for this subscription and topic. */
  private readonly prefix: Buffer;
  /** Set by a successful `read`. */
  partition = -1;
  offset = -1;

  constructor(
    readonly id: string,
    readonly topic: string,
  ) {
    this.prefix = Buffer.from(
      `{"type":"record","id":${JSON.stringify(id)},"topic":${JSON.stringify(topic)},"partition":`,
    );
  }

  /** True (partition and offset set) for a `record` frame of this id and topic; false: parse the frame in full. */
  read(frame: Buffer): boolean {
    const head = this.prefix.length;
    if (frame.length <= head + OFFSET_KEY.length + 2 || !bytesAt(frame, 0, this.prefix)) return false;
    const partition = readInt(frame, head);
    if (partition < 0) return false;
    const at = head + digitsAfter(frame, head);
    if (!bytesAt(frame, at, OFFSET_KEY)) return false;
    const from = at + OFFSET_KEY.length;
    const offset = readInt(frame, from);
    if (offset < 0) return false;
    const end = from + digitsAfter(frame, from);
    // A number is followed by `,` or `}` in JSON; anything else (a fraction, an exponent) is not ours to read.
    if (end >= frame.length || (frame[end] !== 0x2c && frame[end] !== 0x7d)) return false;
    this.partition = partition;
    this.offset = offset;
    return true;
  }
}

/**
 * Whether `b` holds `expected` at `at`. A loop, not Buffer#compare: for a few dozen bytes the native call's
 * argument checks cost more than the comparison (it was ~15% of the client's CPU in a W3 profile).
 */
function bytesAt(b: Buffer, at: number, expected: Buffer): boolean {
  if (at + expected.length > b.length) return false;
  for (let i = 0; i < expected.length; i++) if (b[at + i] !== expected[i]) return false;
  return true;
}

/** How many ASCII digits start at `at`. */
function digitsAfter(b: Buffer, at: number): number {
  let i = at;
  while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  return i - at;
}

/** The non-negative integer written at `at` (JSON: no leading zero unless it is 0), or -1 when there is none. */
function readInt(b: Buffer, at: number): number {
  const n = digitsAfter(b, at);
  if (n === 0 || n > MAX_DIGITS || (n > 1 && b[at] === 0x30)) return -1;
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + (b[i]! - 0x30);
  return v;
}
