/**
 * `GET records` answers: the instance's embedded format picks the media type and how keys and values are written
 * (the same record shape as WebSocket frames: src/ws/encode.ts), and an Accept naming another format is 406 40601.
 */
import { acceptAdmits } from '../core/accept.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { ConsumedRecord } from '../kafka/index.js';
import {
  NULL,
  putJsonString,
  putRecordTail,
  RECORD_TAIL_FIXED_BYTES,
  recordFields,
  recordPlace,
} from '../ws/encode.js';
import type { InstanceFormat } from './instance.js';

/** Instance format → the WebSocket encoder's format of the same meaning. */
const ENCODING = { json: 'json', binary: 'base64', string: 'string' } as const;
/** Accept values that name no format: the answer is in the instance's. */
const ANY = new Set([
  '*/*',
  'application/*',
  'application/json',
  'application/vnd.kafka.v2+json',
  'application/vnd.kafka+json',
]);
const VENDOR = /^application\/vnd\.kafka\.([a-z0-9]+)\.v2\+json$/;

export const recordsMediaType = (format: InstanceFormat) => `application/vnd.kafka.${format}.v2+json`;

export function checkRecordsAccept(accept: string | undefined, format: InstanceFormat): void {
  if (acceptAdmits(accept, (type) => ANY.has(type) || VENDOR.exec(type)?.[1] === format)) return;
  throw new GatewayError(
    406,
    ErrorCodes.CONSUMER_FORMAT_MISMATCH,
    `The requested embedded data format does not match this consumer instance's (${format}): send Accept: ${recordsMediaType(format)}.`,
  );
}

/** Base64 digits (the standard alphabet with padding, as Buffer's toString('base64') writes it). */
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const OFFSET_KEY = Buffer.from('"offset":');
/** A record's bytes other than its place, key and value. */
const FIXED_BYTES = OFFSET_KEY.length + RECORD_TAIL_FIXED_BYTES;

/**
 * The `GET records` array as UTF-8 bytes, in one pass into one Buffer: each record is `{` + its place + its fields +
 * `}`, byte for byte what recordBody writes (test/unit/consumers/records.test.ts compares them), with the place
 * written once per run of one partition (the records of a fetch come in such runs). The common record — no headers,
 * format binary, or format string with UTF-8 key and value — is written straight from its key and value bytes;
 * any other is written from recordFields' text. A 1-MiB answer used to be a 2.6 MB string, built by concatenation and
 * converted to UTF-8 on the way out, in one synchronous piece that other instances' commits waited behind
 * (docs/performance.md, C1).
 */
export function encodeRecords(records: readonly ConsumedRecord[], format: InstanceFormat): Buffer<ArrayBuffer> {
  const enc = ENCODING[format];
  const w = new AnswerWriter(estimate(records, enc));
  w.byte(0x5b); // [
  let place: Buffer | undefined;
  let prev: ConsumedRecord | undefined;
  for (const r of records) {
    if (prev === undefined || prev.partition !== r.partition || prev.topic !== r.topic)
      place = Buffer.from(`{${recordPlace(r.topic, r.partition)}`);
    if (prev !== undefined) w.byte(0x2c); // ,
    w.bytes(place!);
    if (!w.fields(r, enc)) w.text(`${recordFields(r, enc)}}`);
    prev = r;
  }
  w.byte(0x5d); // ]
  return w.done();
}

/** The answer's size when every record takes the direct path (close to exact for binary, a floor for string). */
function estimate(records: readonly ConsumedRecord[], enc: 'json' | 'base64' | 'string'): number {
  let n = 2;
  for (const r of records) {
    const kv = (r.key?.length ?? 0) + (r.value?.length ?? 0);
    n += 64 + r.topic.length + FIXED_BYTES + (enc === 'base64' ? Math.ceil((kv * 4) / 3) + 8 : kv + 4);
  }
  return n;
}

class AnswerWriter {
  private out: Buffer<ArrayBuffer>;
  private at = 0;

  constructor(size: number) {
    this.out = Buffer.allocUnsafe(size);
  }

  byte(c: number): void {
    this.room(1);
    this.out[this.at++] = c;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    this.out.set(b, this.at);
    this.at += b.length;
  }

  text(s: string): void {
    this.room(Buffer.byteLength(s));
    this.at += this.out.write(s, this.at);
  }

  /** A record's fields and closing brace from its bytes; false (nothing written) when it needs the text path. */
  fields(r: ConsumedRecord, enc: 'json' | 'base64' | 'string'): boolean {
    if (enc === 'json' || r.headers.length > 0 || !Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.timestamp))
      return false;
    const kv = (r.key?.length ?? 0) + (r.value?.length ?? 0);
    // Base64 takes 4 bytes per 3; JSON-escaped text at most 6 per byte (`\u00XX`).
    this.room(FIXED_BYTES + 8 + (enc === 'base64' ? Math.ceil((kv * 4) / 3) + 8 : 6 * kv));
    this.out.set(OFFSET_KEY, this.at);
    const end = putRecordTail(this.out, this.at + OFFSET_KEY.length, r, enc === 'base64' ? putBase64 : putJsonString);
    if (end < 0) return false;
    this.at = end;
    return true;
  }

  done(): Buffer<ArrayBuffer> {
    return this.out.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.at + n));
    this.out.copy(bigger, 0, 0, this.at);
    this.out = bigger;
  }
}

/** `b` as `"<base64>"` (null: `null`); returns where it ends. */
function putBase64(out: Buffer, start: number, b: Buffer | null): number {
  if (b === null) {
    out.set(NULL, start);
    return start + NULL.length;
  }
  let at = start;
  out[at++] = 0x22;
  const n = b.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const t = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[at++] = BASE64[t >> 18]!;
    out[at++] = BASE64[(t >> 12) & 63]!;
    out[at++] = BASE64[(t >> 6) & 63]!;
    out[at++] = BASE64[t & 63]!;
  }
  if (n - whole === 1) {
    const t = b[whole]! << 16;
    out[at++] = BASE64[t >> 18]!;
    out[at++] = BASE64[(t >> 12) & 63]!;
    out[at++] = 0x3d;
    out[at++] = 0x3d;
  } else if (n - whole === 2) {
    const t = (b[whole]! << 16) | (b[whole + 1]! << 8);
    out[at++] = BASE64[t >> 18]!;
    out[at++] = BASE64[(t >> 12) & 63]!;
    out[at++] = BASE64[(t >> 6) & 63]!;
    out[at++] = 0x3d;
  }
  out[at++] = 0x22;
  return at;
}
