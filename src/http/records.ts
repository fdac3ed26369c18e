/**
 * Turns a produce request body into records: parses and validates it for its embedded format, decodes keys
 * and values to bytes, and reports bad input as 400 (wrong types, bad base64) or 422 (empty, too many,
 * negative partition), before anything reaches Kafka.
 */
import type { z } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import type { EmbeddedFormat } from './media.js';
import { parseJsonBody, type ParsedJson } from './json.js';
import { BinaryProduceRequestSchema, JsonProduceRequestSchema } from './schemas.js';
import { compactJsonRecords } from './compact-json-records.js';

export interface DecodedRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** Explicit partition from the record (or the path, or `?partition=`). */
  partition: number | undefined;
  headers: { name: string; value: Buffer | null }[] | undefined;
  /** The record's CreateTime (epoch ms); absent: the producer's clock. */
  timestamp?: number | undefined;
}

export interface DecodeOptions {
  format: EmbeddedFormat;
  maxRecords: number;
  /** From the path `/partitions/{p}`; a record's own `partition` overrides it. */
  pathPartition?: number | undefined;
  /** Raw bodies: `?key=` and `?partition=`. */
  query?: { key?: string | undefined; partition?: string | undefined };
}

const BASE64 = /^([A-Za-z0-9+/]*)(={0,2})$/;

/** Standard base64; padding optional, but when present it must be the right amount (as Java's decoder wants). */
export function decodeBase64(s: string, what: string): Buffer {
  const m = BASE64.exec(s);
  const rest = m ? m[1]!.length % 4 : 1;
  const pad = m ? m[2]!.length : 0;
  if (!m || rest === 1 || (pad > 0 && rest + pad !== 4)) throw errors.badRequest(`${what} is not valid base64.`);
  return Buffer.from(s, 'base64');
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}

export function parsePartition(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,10}$/.test(raw)) throw errors.badRequest(`${what} must be an integer.`);
  return Number(raw);
}

function checkPartition(p: number | null | undefined, index: number): number | undefined {
  if (p === null || p === undefined) return undefined;
  if (p < 0) throw errors.unprocessable(`records[${index}].partition must not be negative.`);
  return p;
}

/** `where` names the record in messages (`records[3]`). */
export function decodeHeaders(
  hs: { name: string; value?: string | null | undefined }[] | null | undefined,
  where: string,
): DecodedRecord['headers'] {
  if (!hs || hs.length === 0) return undefined;
  return hs.map((h, j) => ({
    name: h.name,
    value: h.value === null || h.value === undefined ? null : decodeBase64(h.value, `${where}.headers[${j}].value`),
  }));
}

/** Kafka's timestamps are non-negative longs; beyond year 9999 no ISO-8601 form can carry it back either. */
export const MAX_TIMESTAMP_MS = 253402300799999;

/** v2's per-record `timestamp` (epoch ms, our addition): a non-negative integer, or absent/null for "now". */
function checkTimestamp(t: number | null | undefined, index: number): number | undefined {
  if (t === null || t === undefined) return undefined;
  if (t < 0 || t > MAX_TIMESTAMP_MS)
    throw errors.unprocessable(
      `records[${index}].timestamp must be epoch milliseconds between 0 and ${MAX_TIMESTAMP_MS} (year 9999).`,
    );
  return t;
}

export function decodeRecords(body: Buffer, opts: DecodeOptions): DecodedRecord[] {
  if (opts.format === 'raw') {
    const partition = parsePartition(opts.query?.partition, 'partition');
    if (partition !== undefined && partition < 0) throw errors.unprocessable('partition must not be negative.');
    return [
      {
        key: opts.query?.key === undefined ? null : Buffer.from(opts.query.key, 'utf8'),
        value: body,
        partition: partition ?? opts.pathPartition,
        headers: undefined,
      },
    ];
  }

  if (opts.format === 'json') {
    // The common body (keys and values already compact JSON, nothing else per record): no parse, no copies.
    const compact = compactJsonRecords(body, opts.maxRecords, opts.pathPartition);
    if (compact) return compact;
  }

  const parsed: ParsedJson = parseJsonBody(body);
  const root = parsed.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw errors.badRequest('Request body must be a JSON object with a "records" array.');
  const recs = (root as { records?: unknown }).records;
  if (recs === undefined || (Array.isArray(recs) && recs.length === 0))
    throw errors.unprocessable('records must not be empty.');
  if (!Array.isArray(recs)) throw errors.badRequest('records: expected an array.');
  if (recs.length > opts.maxRecords)
    throw errors.unprocessable(
      `Too many records: ${recs.length} (the limit is ${opts.maxRecords}, MAX_RECORDS_PER_REQUEST).`,
    );

  if (opts.format === 'binary') {
    const r = BinaryProduceRequestSchema.safeParse(root);
    if (!r.success) throw errors.badRequest(`Invalid request: ${formatIssue(r.error.issues[0]!)}.`);
    return r.data.records.map((rec, i) => ({
      key: rec.key == null ? null : decodeBase64(rec.key, `records[${i}].key`),
      value: rec.value == null ? null : decodeBase64(rec.value, `records[${i}].value`),
      partition: checkPartition(rec.partition, i) ?? opts.pathPartition,
      headers: decodeHeaders(rec.headers, `records[${i}]`),
      timestamp: checkTimestamp(rec.timestamp, i),
    }));
  }

  const r = JsonProduceRequestSchema.safeParse(root);
  if (!r.success) throw errors.badRequest(`Invalid request: ${formatIssue(r.error.issues[0]!)}.`);
  return r.data.records.map((rec, i) => ({
    key: rec.key == null ? null : Buffer.from(parsed.stringify(rec.key), 'utf8'),
    value: rec.value == null ? null : Buffer.from(parsed.stringify(rec.value), 'utf8'),
    partition: checkPartition(rec.partition, i) ?? opts.pathPartition,
    headers: decodeHeaders(rec.headers, `records[${i}]`),
    timestamp: checkTimestamp(rec.timestamp, i),
  }));
}
