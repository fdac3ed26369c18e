/**
 * `GET records` answers: the instance's embedded format picks the media type and how keys and values are written
 * (the same record shape as WebSocket frames: src/ws/encode.ts), and an Accept naming another format is 406 40601.
 */
import { acceptAdmits } from '../core/accept.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { ConsumedRecord } from '../kafka/index.js';
import { recordBody } from '../ws/encode.js';
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

export function encodeRecords(records: readonly ConsumedRecord[], format: InstanceFormat): string {
  const enc = ENCODING[format];
  return `[${records.map((r) => `{${recordBody(r, enc)}`).join(',')}]`;
}
