/**
 * The common v2 json-format produce body, decoded without building its values: `{"records":[{"value":…}, …]}`
 * whose records carry only `key` and/or `value`, each already written as compact JSON, and maybe a plain
 * `partition` number. The bytes sent to Kafka for a json-format key or value are its compact JSON text (records.ts:
 * parse, then JSON.stringify); when the client's text already is that text, the record's bytes are a view of the
 * body itself. Parsing every value into objects and writing it back cost 17 % of the gateway's CPU per record in P1
 * (docs/performance.md "P5: the gateway's CPU per record").
 *
 * It decides only what it can prove: a value's text is taken as is when JSON.stringify(JSON.parse(text)) would
 * give the same bytes (no whitespace inside, numbers as JavaScript writes them, only the escapes JSON.stringify
 * writes, no repeated or integer-like object keys, which JSON.parse would merge or reorder). Anything else
 * (other record fields, other shapes, bad or unusual JSON, too many records, invalid UTF-8) answers `undefined`,
 * and records.ts's general path decides, with its own errors and messages.
 */
import { isUtf8 } from 'node:buffer';

/**
 * A record as the body gives it: compact JSON bytes (views of the body), null for absent or JSON null; in the shape
 * of records.ts's decoded records, so they are handed on as they are.
 */
export interface CompactRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** The record's own `partition`, else the path's, if any. */
  partition: number | undefined;
  headers: undefined;
  timestamp: undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Deeper values go to the general path, which knows how deep JSON.stringify can write. */
const MAX_DEPTH = 64;
/** An object with more members than this goes to the general path (repeated keys are looked for pairwise). */
const MAX_MEMBERS = 64;

const RECORDS = '"records"';
const KEY = '"key"';
const VALUE = '"value"';
const PARTITION = '"partition"';
const CONTROL = /[\x00-\x1f]/;

/** The body as a one-byte string, and whether it has any backslash (else a string ends at the next quote). */
interface Scan {
  s: string;
  escapes: boolean;
}

/** The records of a body in the common shape, or undefined: then the general path decodes it. */
export function compactJsonRecords(
  body: Buffer,
  maxRecords: number,
  partition: number | undefined,
): CompactRecord[] | undefined {
  // Scanned as a one-byte string: the engine's string scanning (indexOf, charCodeAt) is much faster than a Buffer's.
  // Multi-byte UTF-8 only occurs inside strings, where its bytes are carried, not read.
  const text = body.toString('latin1');
  // A raw control character is either invalid JSON (in a string) or line breaks and tabs between tokens (a
  // pretty-printed body): both are left to the general path, and strings then need no check of their own.
  if (CONTROL.test(text)) return undefined;
  const b: Scan = { s: text, escapes: text.includes('\\') };
  const n = text.length;
  let i = skipWs(b, 0);
  if (b.s.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipWs(b, i + 1);
  if (!startsWith(b, i, RECORDS)) return undefined;
  i = skipWs(b, i + RECORDS.length);
  if (b.s.charCodeAt(i) !== COLON) return undefined;
  i = skipWs(b, i + 1);
  if (b.s.charCodeAt(i) !== OPEN_ARRAY) return undefined;
  i = skipWs(b, i + 1);
  if (b.s.charCodeAt(i) === CLOSE_ARRAY) return undefined; // empty: the general path's 422
  const records: CompactRecord[] = [];
  for (;;) {
    if (records.length === maxRecords) return undefined; // too many: the general path's 422
    if (b.s.charCodeAt(i) !== OPEN_OBJECT) return undefined;
    i = skipWs(b, i + 1);
    let key: Buffer | null | undefined;
    let value: Buffer | null | undefined;
    let own: number | undefined;
    if (b.s.charCodeAt(i) !== CLOSE_OBJECT) {
      for (;;) {
        if (startsWith(b, i, PARTITION)) {
          if (own !== undefined) return undefined; // repeated
          i = skipWs(b, i + PARTITION.length);
          if (b.s.charCodeAt(i) !== COLON) return undefined;
          i = skipWs(b, i + 1);
          const end = partitionEnd(b, i);
          if (end < 0) return undefined;
          own = Number(b.s.slice(i, end));
          i = skipWs(b, end);
        } else {
          const isKey = startsWith(b, i, KEY);
          if (!isKey && !startsWith(b, i, VALUE)) return undefined;
          if ((isKey ? key : value) !== undefined) return undefined; // repeated: the last one wins there
          i = skipWs(b, i + (isKey ? KEY.length : VALUE.length));
          if (b.s.charCodeAt(i) !== COLON) return undefined;
          i = skipWs(b, i + 1);
          const end = compactValueEnd(b, i);
          if (end < 0) return undefined;
          const bytes = end - i === 4 && b.s.charCodeAt(i) === 0x6e ? null : body.subarray(i, end); // JSON null
          if (isKey) key = bytes;
          else value = bytes;
          i = skipWs(b, end);
        }
        if (b.s.charCodeAt(i) === CLOSE_OBJECT) break;
        if (b.s.charCodeAt(i) !== COMMA) return undefined;
        i = skipWs(b, i + 1);
      }
    }
    records.push({
      key: key ?? null,
      value: value ?? null,
      partition: own ?? partition,
      headers: undefined,
      timestamp: undefined,
    });
    i = skipWs(b, i + 1);
    if (b.s.charCodeAt(i) === CLOSE_ARRAY) break;
    if (b.s.charCodeAt(i) !== COMMA) return undefined;
    i = skipWs(b, i + 1);
  }
  i = skipWs(b, i + 1);
  if (b.s.charCodeAt(i) !== CLOSE_OBJECT) return undefined;
  if (skipWs(b, i + 1) !== n) return undefined;
  // Structure is ASCII; string contents may be anything but must be UTF-8 (else the general path's 400).
  return isUtf8(body) ? records : undefined;
}

/** The end of a record's `partition` at i: a non-negative integer of up to 9 digits without leading zeros; else -1. */
function partitionEnd(b: Scan, i: number): number {
  const start = i;
  while (b.s.charCodeAt(i) >= ZERO && b.s.charCodeAt(i) <= NINE) i++;
  const digits = i - start;
  if (digits === 0 || digits > 9 || (digits > 1 && b.s.charCodeAt(start) === ZERO)) return -1;
  return i;
}

/** Spaces between tokens (the other JSON whitespace never gets here, see CONTROL). */
function skipWs(b: Scan, i: number): number {
  while (b.s.charCodeAt(i) === 0x20) i++;
  return i;
}

function startsWith(b: Scan, i: number, word: string): boolean {
  return b.s.startsWith(word, i);
}

// Open containers while a value is scanned (reused: scanning is synchronous; fixed arrays and counters, since
// emptying a JS array costs more than the scan of a small value): kinds[d] is the kind of the container at depth d
// (1-based), and for an object keys[d] holds the start/end offsets of its first keyCount[d] keys.
const kinds = new Uint8Array(MAX_DEPTH + 1);
const keys: Int32Array[] = Array.from({ length: MAX_DEPTH + 1 }, () => new Int32Array(2 * MAX_MEMBERS));
const keyCount = new Int32Array(MAX_DEPTH + 1);

/**
 * Where the value starting at `start` ends, when its text is exactly its compact JSON (see the module comment);
 * -1 otherwise (also for invalid JSON).
 */
function compactValueEnd(b: Scan, start: number): number {
  const s = b.s;
  let depth = 0;
  let i = start;
  for (;;) {
    // A value at i.
    const c = s.charCodeAt(i);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      if (s.charCodeAt(i + 1) === close) {
        i += 2;
      } else {
        if (depth === MAX_DEPTH) return -1;
        kinds[++depth] = c;
        i++;
        if (c === OPEN_ARRAY) continue;
        keyCount[depth] = 0;
        i = memberKey(b, i, depth);
        if (i < 0) return -1;
        continue;
      }
    } else if (c === QUOTE) {
      i = stringEnd(b, i);
      if (i < 0) return -1;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = numberEnd(b, i);
      if (i < 0) return -1;
    } else if (c === 0x74) {
      if (!s.startsWith('true', i)) return -1;
      i += 4;
    } else if (c === 0x66) {
      if (!s.startsWith('false', i)) return -1;
      i += 5;
    } else if (c === 0x6e) {
      if (!s.startsWith('null', i)) return -1;
      i += 4;
    } else return -1;
    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      if (depth === 0) return i;
      const kind = kinds[depth];
      const d = s.charCodeAt(i);
      if (d === COMMA) {
        i++;
        if (kind === OPEN_OBJECT) {
          i = memberKey(b, i, depth);
          if (i < 0) return -1;
        }
        break;
      }
      if (kind === OPEN_OBJECT ? d !== CLOSE_OBJECT : d !== CLOSE_ARRAY) return -1;
      depth--;
      i++;
    }
  }
}

/**
 * A member's key and its colon at i, in the object at `depth`: returns where its value starts, or -1 (also for keys
 * JSON.parse would merge or reorder).
 */
function memberKey(b: Scan, i: number, depth: number): number {
  const s = b.s;
  if (s.charCodeAt(i) !== QUOTE) return -1;
  const end = stringEnd(b, i);
  if (end < 0 || s.charCodeAt(end) !== COLON) return -1;
  // An integer-like key ("0", "12") is an array index to JavaScript: JSON.parse's object lists it first.
  let digits = true;
  for (let j = i + 1; j < end - 1; j++) {
    const c = s.charCodeAt(j);
    if (c < ZERO || c > NINE) {
      digits = false;
      break;
    }
  }
  if (digits && end - i > 2) return -1;
  // A repeated key: JSON.parse keeps one of them. (Keys hold only escapes written one way, so equal text is
  // equal keys.)
  const len = end - i;
  const seen = keys[depth]!;
  const n = keyCount[depth]!;
  for (let k = 0; k < 2 * n; k += 2) {
    const from = seen[k]!;
    if (seen[k + 1]! - from === len && s.startsWith(s.slice(i, end), from)) return -1;
  }
  if (n === MAX_MEMBERS) return -1;
  seen[2 * n] = i;
  seen[2 * n + 1] = end;
  keyCount[depth] = n + 1;
  return end + 1;
}

/**
 * The end of the string at i (after its closing quote), or -1: unterminated, or an escape JSON.stringify writes
 * otherwise (`\u…`, `\/`). Raw control characters were ruled out for the whole body.
 */
function stringEnd(b: Scan, i: number): number {
  const s = b.s;
  if (!b.escapes) {
    const q = s.indexOf('"', i + 1);
    return q < 0 ? -1 : q + 1;
  }
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) {
      const e = s.charCodeAt(j + 1);
      // The escapes JSON.stringify itself writes for these characters.
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74)
        return -1;
      j++;
    }
  }
  return -1;
}

/**
 * The end of the number at i, or -1 unless JavaScript writes it back the same: integers of up to 15 digits
 * (exact in a double) without leading zeros, other than -0; any other form (fraction, exponent) only when
 * String(Number(text)) gives the text back.
 */
function numberEnd(b: Scan, i: number): number {
  const start = i;
  if (b.s.charCodeAt(i) === MINUS) i++;
  const first = i;
  while (b.s.charCodeAt(i)! >= ZERO && b.s.charCodeAt(i)! <= NINE) i++;
  const digits = i - first;
  if (digits === 0) return -1;
  const c = b.s.charCodeAt(i);
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    if (digits > 15) return -1;
    if (b.s.charCodeAt(first) === ZERO && (digits > 1 || first > start)) return -1; // 01, -0
    return i;
  }
  while (i < b.s.length) {
    const d = b.s.charCodeAt(i)!;
    if ((d >= ZERO && d <= NINE) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS) i++;
    else break;
  }
  if (i - start > 24) return -1;
  const text = b.s.slice(start, i);
  return String(Number(text)) === text ? i : -1;
}
