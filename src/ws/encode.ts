/**
 * Record → `record` frame text (or an entry of a batched `records` frame), per format. The frame is assembled as text: a JSON key/value that parses is
 * embedded as the producer wrote it (big numbers keep every digit), anything else becomes a JSON string.
 * Broadcast encodes each record once per format and subscription id, as UTF-8 bytes, and hands the same bytes to
 * every socket (sockets that subscribed through the URL shortcut all use id "0").
 */
import { isUtf8 } from 'node:buffer';
import type { ConsumedRecord } from '../kafka/index.js';
import type { FrameSource, TextFrames } from './frames.js';
import type { Format } from './protocol.js';

function jsonOrString(b: Buffer): string {
  const text = b.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    // Not JSON: delivered as a string, never dropped (docs/websocket.md).
    return JSON.stringify(text);
  }
}

function field(b: Buffer | null, format: Format): string {
  if (b === null) return 'null';
  switch (format) {
    case 'json':
      return jsonOrString(b);
    case 'string':
      return JSON.stringify(b.toString('utf8'));
    case 'base64':
      return `"${b.toString('base64')}"`;
  }
}

/** A record's own fields, without braces: `"offset":…,"timestamp":…,"key":…,"value":…,"headers":[…]`. */
export function recordFields(r: ConsumedRecord, format: Format): string {
  let headers = '';
  for (const h of r.headers)
    headers += `${headers ? ',' : ''}{"name":${JSON.stringify(h.name)},"value":${h.value === null ? 'null' : `"${h.value.toString('base64')}"`}}`;
  return `"offset":${r.offset},"timestamp":${r.timestamp},"key":${field(r.key, format)},"value":${field(r.value, format)},"headers":[${headers}]`;
}

/** Where a record is, before its own fields: `"topic":…,"partition":…,` (the same for a whole run of a partition). */
export function recordPlace(topic: string, partition: number): string {
  return `"topic":${JSON.stringify(topic)},"partition":${partition},`;
}

/** Everything after the id: `"topic":…,"headers":[…]}`. */
export function recordBody(r: ConsumedRecord, format: Format): string {
  return `${recordPlace(r.topic, r.partition)}${recordFields(r, format)}}`;
}

/** One element of a `records` frame's `records` array: the record without its topic and partition. */
export function batchEntry(r: ConsumedRecord, format: Format): string {
  return `{${recordFields(r, format)}}`;
}

/** A `records` frame (opt-in batch): records of one partition, in offset order, as made by batchEntry. */
export function recordsFrame(id: string, topic: string, partition: number, entries: readonly string[]): string {
  return `{"type":"records","id":${JSON.stringify(id)},"topic":${JSON.stringify(topic)},"partition":${partition},"records":[${entries.join(',')}]}`;
}

const bodies = new WeakMap<ConsumedRecord, Partial<Record<Format, string>>>();

/** recordBody, remembered per record object (broadcast hands one object to every socket). */
export function sharedRecordBody(r: ConsumedRecord, format: Format): string {
  let m = bodies.get(r);
  if (!m) bodies.set(r, (m = {}));
  return (m[format] ??= recordBody(r, format));
}

export function recordFrame(id: string, body: string): string {
  return `{"type":"record","id":${JSON.stringify(id)},${body}`;
}

/** What every `record` frame of one subscription and partition starts with (recordFrame up to the offset). */
export function recordFramePrefix(id: string, topic: string, partition: number): string {
  return `{"type":"record","id":${JSON.stringify(id)},${recordPlace(topic, partition)}`;
}

/** recordFrame(id, recordBody(r, format)), from the prefix of r's subscription and partition (made once per run). */
export function recordFrameAfter(prefix: string, r: ConsumedRecord, format: Format): string {
  return `${prefix}${recordFields(r, format)}}`;
}

const frames = new WeakMap<ConsumedRecord, Map<string, Buffer>>();

/** The `record` frame of a broadcast record as UTF-8 bytes, remembered per record object, format and id. */
export function sharedRecordFrame(r: ConsumedRecord, id: string, format: Format): Buffer {
  let m = frames.get(r);
  if (!m) frames.set(r, (m = new Map()));
  const key = `${format}\u0000${id}`;
  let b = m.get(key);
  if (!b) m.set(key, (b = Buffer.from(recordFrame(id, sharedRecordBody(r, format)))));
  return b;
}

const TIMESTAMP_KEY = Buffer.from(',"timestamp":');
const KEY_KEY = Buffer.from(',"key":');
const VALUE_KEY = Buffer.from(',"value":');
const NO_HEADERS_END = Buffer.from(',"headers":[]}');
export const NULL = Buffer.from('null');
/** The bytes of a record after `"offset":` other than key and value: keys, two integers (sign, 16 digits). */
export const RECORD_TAIL_FIXED_BYTES =
  TIMESTAMP_KEY.length + KEY_KEY.length + VALUE_KEY.length + NO_HEADERS_END.length + 2 * 17;
/** Keys and values larger than this (together) go through the text encoder (their bound would be 6 bytes each). */
const DIRECT_MAX_BYTES = 8 * 1024;
const HEX = Buffer.from('0123456789abcdef');
/** What putJsonString does with each byte value: copy it, escape it, or copy it once the value is known UTF-8. */
const PLAIN = 0;
const ESCAPED = 1;
const NON_ASCII = 2;
const BYTE_KIND = new Uint8Array(256).map((_, c) =>
  c < 0x20 || c === 0x22 || c === 0x5c ? ESCAPED : c >= 0x80 ? NON_ASCII : PLAIN,
);

/**
 * A subscription's `record` frames of one partition, written as UTF-8 straight into the socket's outgoing Buffer
 * (TextFrames): byte for byte recordFrameAfter(prefix, record, format), without the strings in between (the value
 * decoded, quoted by JSON.stringify, concatenated, encoded again). That covers the common record: format `string`,
 * no headers, key and value of at most 8 KiB that are valid UTF-8; any other takes the text path. One per
 * subscription and partition run, reused: `record` is set for one send only (never kept: its key and value are
 * slices of the whole fetch response).
 */
export class RecordFrameWriter implements FrameSource {
  record: ConsumedRecord | undefined;
  /** The prefix and `"offset":`, as bytes. */
  private readonly head: Buffer;

  constructor(
    readonly prefix: string,
    private readonly format: Format,
  ) {
    this.head = Buffer.from(`${prefix}"offset":`);
  }

  text(): string {
    return recordFrameAfter(this.prefix, this.record!, this.format);
  }

  writeTo(frames: TextFrames): number {
    const r = this.record!;
    const { key, value } = r;
    if (
      this.format !== 'string' ||
      r.headers.length > 0 ||
      (key?.length ?? 0) + (value?.length ?? 0) > DIRECT_MAX_BYTES ||
      !Number.isSafeInteger(r.offset) ||
      !Number.isSafeInteger(r.timestamp)
    )
      return frames.add(this.text());
    // JSON-escaped, a byte takes at most 6 (`\u00XX`).
    const bound =
      this.head.length + RECORD_TAIL_FIXED_BYTES + (key ? 6 * key.length + 2 : 4) + (value ? 6 * value.length + 2 : 4);
    const at = frames.begin(bound);
    const out = frames.buffer;
    out.set(this.head, at);
    const end = putRecordTail(out, at + this.head.length, r, putJsonString);
    return end < 0 ? frames.add(this.text()) : frames.end(end);
  }
}

/**
 * A record without headers from its offset's digits on, as recordFields writes it after `"offset":`: offset,
 * timestamp, key and value (each written by `put`, as JSON text or base64) and `,"headers":[]}`. Returns where it
 * ends, or -1 when `put` refused a key or value (it is not valid UTF-8: the text path writes it). The room needed is
 * RECORD_TAIL_FIXED_BYTES plus what `put` writes. Shared by the WebSocket `record` frames and `GET records` answers
 * (src/consumers/records.ts).
 */
export function putRecordTail(
  out: Buffer,
  start: number,
  r: ConsumedRecord,
  put: (out: Buffer, start: number, b: Buffer | null) => number,
): number {
  let at = putInteger(out, start, r.offset);
  out.set(TIMESTAMP_KEY, at);
  at = putInteger(out, at + TIMESTAMP_KEY.length, r.timestamp);
  out.set(KEY_KEY, at);
  at = put(out, at + KEY_KEY.length, r.key);
  if (at < 0) return -1;
  out.set(VALUE_KEY, at);
  at = put(out, at + VALUE_KEY.length, r.value);
  if (at < 0) return -1;
  out.set(NO_HEADERS_END, at);
  return at + NO_HEADERS_END.length;
}

/** A safe integer in decimal, as `${n}` writes it; returns where it ends. */
export function putInteger(out: Buffer, start: number, n: number): number {
  let at = start;
  let rest = n;
  if (rest < 0) {
    out[at++] = 0x2d;
    rest = -rest;
  }
  if (rest < 1e8) return putSmall(out, at, rest);
  // Two halves below 2^31, so the digits come from integer division (a timestamp has 13 digits).
  let high = Math.floor(rest / 1e8);
  let low = rest - high * 1e8;
  // Defensive: were rest / 1e8 ever rounded up to the next integer (just below a multiple of 1e8), low is negative.
  if (low < 0) {
    high--;
    low += 1e8;
  }
  at = putSmall(out, at, high);
  for (let i = at + 7; i >= at; i--) {
    const q = (low / 10) | 0;
    out[i] = 0x30 + (low - q * 10);
    low = q;
  }
  return at + 8;
}

/** 0 <= n < 2^31 in decimal; returns where it ends. */
function putSmall(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
  const end = at + digits;
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    const q = (rest / 10) | 0;
    out[i] = 0x30 + (rest - q * 10);
    rest = q;
  }
  return end;
}

/**
 * `b` as JSON.stringify(b.toString('utf8')) encodes it (null: `null`); returns where it ends, or -1 when `b` is not
 * valid UTF-8 (decoding would replace bytes with U+FFFD: the text path does that). Valid UTF-8 has no byte below
 * 0x80 inside a multi-byte character, so escaping byte by byte is escaping character by character; JSON.stringify
 * escapes `"`, `\` and the control characters below U+0020 only (the five short forms, else \u00xx in lowercase).
 */
export function putJsonString(out: Buffer, start: number, b: Buffer | null): number {
  if (b === null) {
    out.set(NULL, start);
    return start + NULL.length;
  }
  let at = start;
  out[at++] = 0x22;
  let checked = false;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    // One table lookup decides the common byte (measured ~10-25 % faster than the three comparisons).
    const kind = BYTE_KIND[c]!;
    if (kind === PLAIN) {
      out[at++] = c;
      continue;
    }
    if (kind === NON_ASCII) {
      if (!checked) {
        if (!isUtf8(b)) return -1;
        checked = true;
      }
      out[at++] = c;
      continue;
    }
    at = putEscape(out, at, c);
  }
  out[at++] = 0x22;
  return at;
}

/** `"`, `\` or a control character, escaped as JSON.stringify writes it; returns where it ends. */
function putEscape(out: Buffer, start: number, c: number): number {
  let at = start;
  out[at++] = 0x5c;
  switch (c) {
    case 0x22:
    case 0x5c:
      out[at++] = c;
      break;
    case 0x08:
      out[at++] = 0x62; // b
      break;
    case 0x09:
      out[at++] = 0x74; // t
      break;
    case 0x0a:
      out[at++] = 0x6e; // n
      break;
    case 0x0c:
      out[at++] = 0x66; // f
      break;
    case 0x0d:
      out[at++] = 0x72; // r
      break;
    default:
      out[at++] = 0x75; // u00XX
      out[at++] = 0x30;
      out[at++] = 0x30;
      out[at++] = HEX[c >> 4]!;
      out[at++] = HEX[c & 15]!;
  }
  return at;
}
