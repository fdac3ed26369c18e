/**
 * The SSE event id: where a stream stands on every partition it reads, so a reconnect with `Last-Event-ID` to any
 * replica goes on exactly after the last event the client saw. Opaque to users; compact because it rides on every
 * event. Layout: `1.` (version) + base64url of
 *   4 bytes  FNV-1a 32 of the topic name (an id from another topic's stream is refused, not misapplied)
 *   then per partition, ascending: varint(partition − previous partition), varint(next offset to send)
 * (unsigned LEB128 varints; the first "previous partition" is −1). One partition at offset 1,000,000 → 16 chars.
 */
import { errors } from '../errors.js';

export const EVENT_ID_VERSION = '1';
/** Longest id accepted back (64 KiB of header would be no id of ours: 10,000 partitions fit in ~20 KiB). */
export const MAX_EVENT_ID_LENGTH = 32_768;

/** Next offset to send, per partition. */
export type StreamPositions = ReadonlyMap<number, number>;

export function topicHash(topic: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(topic, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function pushVarint(out: number[], n: number): void {
  // Safe integers only (offsets < 2^53): division, not bit operations, which would cut at 32 bits.
  while (n >= 0x80) {
    out.push((n % 0x80) + 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

export function encodeEventId(topic: string, positions: StreamPositions): string {
  const h = topicHash(topic);
  const out: number[] = [h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  let prev = -1;
  for (const p of [...positions.keys()].sort((a, b) => a - b)) {
    pushVarint(out, p - prev);
    pushVarint(out, positions.get(p)!);
    prev = p;
  }
  return `${EVENT_ID_VERSION}.${Buffer.from(out).toString('base64url')}`;
}

/** The positions in an id this gateway issued for `topic`; a 400 for anything else. */
export function decodeEventId(topic: string, id: string): Map<number, number> {
  const bad = (why: string) =>
    errors.badRequest(`Last-Event-ID: not an event id of a stream on this topic (${why}); reconnect without it.`);
  if (id.length > MAX_EVENT_ID_LENGTH) throw bad('too long');
  const dot = id.indexOf('.');
  if (dot < 0 || id.slice(0, dot) !== EVENT_ID_VERSION) throw bad('unknown version');
  const body = id.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw bad('not base64url');
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length < 4) throw bad('too short');
  if (bytes.readUInt32BE(0) !== topicHash(topic)) throw bad('another topic');
  let i = 4;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (i >= bytes.length) throw bad('truncated');
      const b = bytes[i++]!;
      n += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(n)) throw bad('number out of range');
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  };
  const out = new Map<number, number>();
  let prev = -1;
  while (i < bytes.length) {
    const delta = varint();
    if (delta === 0) throw bad('partitions out of order');
    const partition = prev + delta;
    if (partition > 2 ** 31 - 1) throw bad('partition out of range');
    out.set(partition, varint());
    prev = partition;
  }
  return out;
}
