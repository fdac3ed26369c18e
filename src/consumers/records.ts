/**
 * `GET records` answers: the instance's embedded format picks the media type and how keys and values are written
 * (the same record shape as WebSocket frames: src/ws/encode.ts), and an Accept naming another format is 406 40601.
 */
import { acceptAdmits } from '../core/accept.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { ConsumedRecord } from '../kafka/index.js';
import { recordFields, recordPlace } from '../ws/encode.js';
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

/**
 * The `GET records` array in one pass: each record is `{` + its place + its fields + `}`, as recordBody builds it,
 * with the place written once per run of one partition (the records of a fetch come in such runs).
 */
export function encodeRecords(records: readonly ConsumedRecord[], format: InstanceFormat): string {
  const enc = ENCODING[format];
  let out = '[';
  let place = '';
  let prev: ConsumedRecord | undefined;
  for (const r of records) {
    if (prev === undefined || prev.partition !== r.partition || prev.topic !== r.topic)
      place = recordPlace(r.topic, r.partition);
    out += `${prev === undefined ? '{' : ',{'}${place}${recordFields(r, enc)}}`;
    prev = r;
  }
  return `${out}]`;
}
