/**
 * Record → `record` frame text (or an entry of a batched `records` frame), per format. The frame is assembled as text: a JSON key/value that parses is
 * embedded as the producer wrote it (big numbers keep every digit), anything else becomes a JSON string.
 * Broadcast encodes each record once per format and subscription id, as UTF-8 bytes, and hands the same bytes to
 * every socket (sockets that subscribed through the URL shortcut all use id "0").
 */
import type { ConsumedRecord } from '../kafka/index.js';
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
