/**
 * Content types and Accept negotiation for the Confluent v2 wire format (docs/rest-api.md "Media types").
 */
import { acceptAdmits } from '../core/accept.js';
import { errors } from '../errors.js';

export type EmbeddedFormat = 'json' | 'binary' | 'raw';

const VENDOR = /^application\/vnd\.kafka(?:\.([a-z0-9]+))?\.(v[0-9]+)\+json$/;
const SCHEMA_FORMATS = new Set(['avro', 'jsonschema', 'protobuf']);

export const PRODUCE_CONTENT_TYPES = [
  'application/vnd.kafka.json.v2+json',
  'application/vnd.kafka.binary.v2+json',
  'application/json',
  'application/octet-stream',
  'text/plain',
] as const;

function mediaType(header: string | undefined): string | undefined {
  const t = header?.split(';', 1)[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

/** The embedded format of a produce request, from its Content-Type; 415 when we cannot take it. */
export function produceFormat(contentType: string | undefined): EmbeddedFormat {
  const type = mediaType(contentType);
  if (!type)
    throw errors.unsupportedMediaType(`Content-Type is required; use one of: ${PRODUCE_CONTENT_TYPES.join(', ')}.`);
  if (type === 'application/json') return 'json';
  if (type === 'application/octet-stream' || type === 'text/plain') return 'raw';
  const m = VENDOR.exec(type);
  if (m && m[2] === 'v2') {
    if (m[1] === 'json') return 'json';
    if (m[1] === 'binary') return 'binary';
    if (m[1] && SCHEMA_FORMATS.has(m[1]))
      throw errors.unsupportedMediaType(
        `The ${m[1]} embedded format needs a schema registry, which this gateway does not have yet; use json or binary.`,
      );
  }
  throw errors.unsupportedMediaType(
    `Unsupported Content-Type '${type.slice(0, 100)}'; use one of: ${PRODUCE_CONTENT_TYPES.join(', ')}.`,
  );
}

/** Is the body's Content-Type plain JSON (v3 and admin bodies)? */
export function requireJsonBody(contentType: string | undefined): void {
  const type = mediaType(contentType);
  if (type !== 'application/json' && !(type && /^application\/[a-z0-9.+-]*\+json$/.test(type)))
    throw errors.unsupportedMediaType('Content-Type must be application/json.');
}

const V2_ACCEPTABLE = new Set([
  '*/*',
  'application/*',
  'application/json',
  'application/vnd.kafka.v2+json',
  'application/vnd.kafka+json',
]);

/**
 * Responses are `application/vnd.kafka.v2+json`; an Accept that admits none of the satisfiable values
 * (docs/rest-api.md "Media types") → 406.
 */
export function checkAccept(accept: string | undefined, acceptable: ReadonlySet<string> = V2_ACCEPTABLE): void {
  if (acceptAdmits(accept, (type) => acceptable.has(type))) return;
  throw errors.notAcceptable(
    `Cannot answer with any type in Accept '${accept!.slice(0, 200)}'; responses are application/vnd.kafka.v2+json.`,
  );
}

export const V3_ACCEPTABLE: ReadonlySet<string> = new Set(['*/*', 'application/*', 'application/json']);
