/**
 * Record → `record` frame text, per format. The frame is assembled as text: a JSON key/value that parses is
 * embedded as the producer wrote it (big numbers keep every digit), anything else becomes a JSON string.
 * Broadcast encodes each record once per format and reuses the text for every socket (only the id differs).
 */
import type { ConsumedRecord } from '../kafka/index.js';
import type { Format } from './protocol.js';

function jsonOrString(b: Buffer): string {
  const text = b.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    // Not JSON: delivered as a string, never dropped (WS_PROTOCOL.md).
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

/** Everything after the id: `"topic":…,"headers":[…]}`. */
export function recordBody(r: ConsumedRecord, format: Format): string {
  const headers = r.headers.map((h) => `{"name":${JSON.stringify(h.name)},"value":${h.value === null ? 'null' : `"${h.value.toString('base64')}"`}}`);
  return (
    `"topic":${JSON.stringify(r.topic)},"partition":${r.partition},"offset":${r.offset},"timestamp":${r.timestamp},` +
    `"key":${field(r.key, format)},"value":${field(r.value, format)},"headers":[${headers.join(',')}]}`
  );
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
