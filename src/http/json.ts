/**
 * JSON for the embedded json format. `JSON.parse` silently rounds integers beyond 2^53, so bodies with long
 * digit runs are parsed with lossless-json, which keeps each number's text; values are written back as
 * compact JSON with the numbers the client sent. Duplicate keys: the last one wins (as JSON.parse does).
 */
import {
  parse as losslessParse,
  stringify as losslessStringify,
  isLosslessNumber,
  isSafeNumber,
  LosslessNumber,
} from 'lossless-json';
import { errors } from '../errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * A number JSON.parse may not hold exactly: 16+ digits (a dot may split them), or a 3-digit exponent (beyond
 * the double range JSON.parse gives Infinity or 0, which JSON.stringify writes as null or 0).
 */
const LONG_DIGITS = /\d[\d.]{15}|[eE][+-]?\d{3}/;

export interface ParsedJson {
  value: unknown;
  /** Compact JSON text of a value from this document (exact numbers when needed). */
  stringify(v: unknown): string;
}

/** JSON.parse takes deeper nesting than JSON.stringify can write: that is a 400, not a crash. */
function safeStringify(write: (v: unknown) => string): (v: unknown) => string {
  return (v) => {
    try {
      return write(v);
    } catch (e) {
      if (e instanceof RangeError) throw errors.badRequest('Malformed JSON in request body: nested too deeply.');
      throw e;
    }
  };
}

const plain: Pick<ParsedJson, 'stringify'> = { stringify: safeStringify((v) => JSON.stringify(v)) };
const lossless: Pick<ParsedJson, 'stringify'> = { stringify: safeStringify((v) => losslessStringify(v) ?? 'null') };

function parseNumber(text: string): number | LosslessNumber {
  return isSafeNumber(text) ? Number(text) : new LosslessNumber(text);
}

export function decodeUtf8(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    throw errors.badRequest('Request body is not valid UTF-8.');
  }
}

export function parseJsonBody(body: Uint8Array): ParsedJson {
  const text = decodeUtf8(body);
  if (text.trim() === '') throw errors.badRequest('Request body is empty; expected JSON.');
  try {
    if (!LONG_DIGITS.test(text)) return { value: JSON.parse(text), ...plain };
    const value = losslessParse(text, undefined, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
    return { value, ...lossless };
  } catch (e) {
    const detail =
      e instanceof RangeError ? 'nested too deeply' : e instanceof Error ? e.message.slice(0, 200) : 'malformed';
    throw errors.badRequest(`Malformed JSON in request body: ${detail}.`);
  }
}

/** A JSON number from either parser as a JS number (huge ones lose precision, which callers range-check). */
export function toNumber(v: unknown): unknown {
  return isLosslessNumber(v) ? Number(v.value) : v;
}
