/**
 * One Confluent v3 produce record (`{"partition_id", "headers", "key": {"type", "data"}, "value", "timestamp"}`)
 * → the record to send, plus what its report says about the key and value (`type`, `size`). Used by the single,
 * streaming and batch forms alike. Bad input is a GatewayError (400, or 404 40402 for a negative partition as
 * Confluent answers); the routes report it for that record alone.
 */
import { ErrorCodes, GatewayError, errors, truncate } from '../errors.js';
import type { ParsedJson } from './json.js';
import { type DecodedRecord, decodeBase64, decodeHeaders, formatIssue, MAX_TIMESTAMP_MS } from './records.js';
import { V3BatchRequestSchema, V3ProduceRequestSchema } from './schemas.js';

export type V3Type = 'BINARY' | 'JSON' | 'STRING';

/** What a report says about a key or value: absent when the record gave no type (a null key/value). */
export interface DataInfo {
  type: V3Type;
  /** Bytes stored; -1 for null data (as Kafka's RecordMetadata says of a null key). */
  size: number;
}

export interface V3Record {
  decoded: DecodedRecord;
  key: DataInfo | undefined;
  value: DataInfo | undefined;
}

const SCHEMA_FIELDS = ['subject', 'subject_name_strategy', 'schema_id', 'schema_version', 'schema'] as const;
const SCHEMA_TYPES = new Set(['AVRO', 'JSONSCHEMA', 'PROTOBUF']);

/** A parsed record object (from the stream or a batch entry) → the record; `where` names it in messages. */
export function decodeV3Record(parsed: ParsedJson, root: unknown, where: string): V3Record {
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw errors.badRequest(`${where}: expected a JSON object (one record).`);
  const r = V3ProduceRequestSchema.safeParse(root);
  if (!r.success) throw errors.badRequest(`Invalid record: ${formatIssue(r.error.issues[0]!)}.`);
  return fromFields(parsed, r.data, where);
}

type RecordFields = {
  partition_id?: number | null | undefined;
  headers?: { name: string; value?: string | null | undefined }[] | null | undefined;
  key?: DataFields | null | undefined;
  value?: DataFields | null | undefined;
  timestamp?: string | number | null | undefined;
};
type DataFields = { type?: string | undefined; data?: unknown } & Partial<
  Record<(typeof SCHEMA_FIELDS)[number], unknown>
>;

function fromFields(parsed: ParsedJson, rec: RecordFields, where: string): V3Record {
  if (rec.partition_id != null && rec.partition_id < 0)
    throw new GatewayError(404, ErrorCodes.PARTITION_NOT_FOUND, `Partition ${rec.partition_id} not found.`);
  const key = serialize(parsed, rec.key, 'key');
  const value = serialize(parsed, rec.value, 'value');
  const decoded: DecodedRecord = {
    key: key.bytes,
    value: value.bytes,
    partition: rec.partition_id ?? undefined,
    headers: decodeHeaders(rec.headers, where),
  };
  if (rec.timestamp != null) decoded.timestamp = parseTimestamp(rec.timestamp);
  return { decoded, key: key.info, value: value.info };
}

/** Key or value bytes, as Confluent's no-schema serializer makes them. */
function serialize(
  parsed: ParsedJson,
  d: DataFields | null | undefined,
  what: 'key' | 'value',
): { bytes: Buffer | null; info: DataInfo | undefined } {
  if (d == null) return { bytes: null, info: undefined };
  const schemaField = SCHEMA_FIELDS.find((f) => d[f] != null);
  if (schemaField)
    throw errors.badRequest(
      `${what}.${schemaField}: schema-registry formats are not supported; use BINARY, JSON or STRING.`,
    );
  const data = d.data;
  if (d.type === undefined) {
    if (data == null) return { bytes: null, info: undefined };
    throw errors.badRequest(`${what}.type is required: BINARY, JSON or STRING.`);
  }
  const type = d.type.toUpperCase();
  if (type !== 'BINARY' && type !== 'JSON' && type !== 'STRING') {
    if (SCHEMA_TYPES.has(type))
      throw errors.badRequest(
        `${what}.type ${type} needs a schema registry, which this gateway does not have; use BINARY, JSON or STRING.`,
      );
    throw errors.badRequest(`${what}.type '${truncate(d.type, 50)}' is not one of BINARY, JSON, STRING.`);
  }
  const bytes = data == null ? null : toBytes(parsed, type, data, what);
  return { bytes, info: { type, size: bytes === null ? -1 : bytes.length } };
}

function toBytes(parsed: ParsedJson, type: V3Type, data: unknown, what: string): Buffer {
  switch (type) {
    case 'BINARY':
      if (typeof data !== 'string') throw errors.badRequest(`${what}.data is not a base64 string.`);
      return decodeBase64(data, `${what}.data`);
    case 'STRING':
      if (typeof data !== 'string') throw errors.badRequest(`${what}.data is not a string.`);
      return Buffer.from(data, 'utf8');
    case 'JSON':
      return Buffer.from(parsed.stringify(data), 'utf8');
  }
}

// ISO-8601 date-time with a zone, as Java's Instant parser takes it (fraction up to nanoseconds; Z or ±hh:mm).
const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** The record's `timestamp` → epoch ms (CreateTime). Sub-millisecond digits are dropped, as Kafka keeps ms. */
export function parseTimestamp(t: string | number): number {
  let ms: number;
  if (typeof t === 'number') {
    // Jackson reads a JSON number as epoch seconds (with a fraction).
    ms = Math.floor(t * 1000 + 1e-6);
  } else {
    const m = ISO.exec(t);
    if (!m) throw badTimestamp(t);
    const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const base = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s));
    const check = new Date(base);
    if (
      check.getUTCFullYear() !== year ||
      check.getUTCMonth() !== month - 1 ||
      check.getUTCDate() !== day ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(s) > 59 ||
      Number(oh ?? 0) > 18 ||
      Number(om ?? 0) > 59
    )
      throw badTimestamp(t);
    const offsetMs = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
    ms = base + (frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0) - offsetMs;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIMESTAMP_MS)
    throw errors.badRequest(
      `timestamp ${truncate(String(t), 60)} is outside what Kafka keeps (1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z).`,
    );
  return ms;
}

function badTimestamp(t: string) {
  return errors.badRequest(
    `timestamp '${truncate(t, 60)}' is not an ISO-8601 date-time with a zone (e.g. 2026-12-02T10:00:00.123Z).`,
  );
}

/** Epoch ms → ISO-8601 as Java's Instant writes it (no fraction when it is zero). */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

export interface V3BatchEntry {
  id: string;
  /** The decoded record, or why this entry cannot be sent. */
  result: V3Record | GatewayError;
}

/** Checks the batch's shape (400, or 422 42208 for the entry list and ids) and decodes each entry on its own. */
export function decodeV3Batch(parsed: ParsedJson, maxEntries: number): V3BatchEntry[] {
  const root = parsed.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw errors.badRequest('Request body must be a JSON object with an "entries" array.');
  const entries = (root as { entries?: unknown }).entries;
  if (entries === undefined || entries === null || (Array.isArray(entries) && entries.length === 0))
    throw batchError('Empty batch.');
  if (Array.isArray(entries) && entries.length > maxEntries)
    throw batchError(
      `Too many entries in batch: ${entries.length} (the limit is ${maxEntries}, MAX_RECORDS_PER_REQUEST).`,
    );
  const r = V3BatchRequestSchema.safeParse(root);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.path.length === 3 && issue.path[0] === 'entries' && issue.path[2] === 'id')
      throw batchError(
        `Batch entry identifier is not a valid string (entries.${String(issue.path[1])}.id: 1 to 80 of [0-9a-zA-Z_-]).`,
      );
    throw errors.badRequest(`Invalid request: ${formatIssue(issue)}.`);
  }
  const seen = new Set<string>();
  for (const e of r.data.entries) {
    if (seen.has(e.id)) throw batchError(`Batch entry IDs are not distinct ('${e.id}' is used twice).`);
    seen.add(e.id);
  }
  return r.data.entries.map((e, i) => {
    try {
      return { id: e.id, result: fromFields(parsed, e, `entries[${i}]`) };
    } catch (err) {
      if (err instanceof GatewayError) return { id: e.id, result: err };
      throw err;
    }
  });
}

function batchError(message: string) {
  return errors.unprocessable(message, ErrorCodes.BATCH_INVALID);
}
