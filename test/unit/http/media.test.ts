// Content-Type → embedded format (or 415) and Accept negotiation (or 406), docs/rest-api.md "Media types" and
// "Accept on produce and metadata".
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { V3_ACCEPTABLE, checkAccept, produceFormat, requireJsonBody } from '../../../src/http/media.js';

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return e as GatewayError;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

describe('produceFormat', () => {
  it.each([
    ['application/vnd.kafka.json.v2+json', 'json'],
    ['application/vnd.kafka.binary.v2+json', 'binary'],
    ['application/json', 'json'],
    ['application/octet-stream', 'raw'],
    ['text/plain', 'raw'],
    // Parameters and case do not matter.
    ['application/vnd.kafka.json.v2+json; charset=utf-8', 'json'],
    ['Application/VND.Kafka.Binary.V2+JSON', 'binary'],
    ['application/json;charset=UTF-8', 'json'],
    ['text/plain; charset=utf-8', 'raw'],
    ['  application/octet-stream  ', 'raw'],
  ])('maps %j to %s', (ct, format) => {
    expect(produceFormat(ct)).toBe(format);
  });

  it.each(['avro', 'jsonschema', 'protobuf'])('refuses the schema-registry format %s with 415 naming it', (fmt) => {
    const e = refusal(() => produceFormat(`application/vnd.kafka.${fmt}.v2+json`));
    expect(e.status).toBe(415);
    expect(e.errorCode).toBe(415);
    expect(e.message).toContain(fmt);
    expect(e.message).toMatch(/schema registry/i);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['v1 json', 'application/vnd.kafka.json.v1+json'],
    ['v3 binary', 'application/vnd.kafka.binary.v3+json'],
    ['v2 without a format', 'application/vnd.kafka.v2+json'],
    ['unknown embedded format', 'application/vnd.kafka.xml.v2+json'],
    ['form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['xml', 'application/xml'],
    ['text/html', 'text/html'],
    ['parameter only', '; charset=utf-8'],
  ])('answers 415 for a %s Content-Type', (_name, ct) => {
    const e = refusal(() => produceFormat(ct));
    expect(e.status).toBe(415);
    expect(e.errorCode).toBe(415);
  });

  it('keeps an absurdly long Content-Type out of the message', () => {
    const e = refusal(() => produceFormat(`application/${'x'.repeat(10_000)}`));
    expect(e.message.length).toBeLessThan(400);
  });
});

describe('requireJsonBody (v3 bodies)', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'])('accepts %j', (ct) => {
    expect(() => requireJsonBody(ct)).not.toThrow();
  });

  it.each([undefined, 'text/plain', 'application/octet-stream', 'application/xml'])('answers 415 for %j', (ct) => {
    expect(refusal(() => requireJsonBody(ct)).status).toBe(415);
  });
});

describe('checkAccept (v2)', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['*/*', '*/*'],
    ['application/*', 'application/*'],
    ['application/json', 'application/json'],
    ['the v2 type', 'application/vnd.kafka.v2+json'],
    ['the versionless vendor type', 'application/vnd.kafka+json'],
    ['a q-value', 'application/vnd.kafka.v2+json; q=0.9'],
    ['a list with one satisfiable type', 'text/html, application/xml;q=0.9, */*;q=0.8'],
    ["Confluent's usual list", 'application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json'],
    ['upper case', 'APPLICATION/JSON'],
    ['q=0 on one type but another acceptable', 'application/json;q=0, */*;q=0.1'],
  ])('accepts %s', (_name, accept) => {
    expect(() => checkAccept(accept)).not.toThrow();
  });

  it.each([
    ['text/html', 'text/html'],
    ['application/xml', 'application/xml'],
    ['an embedded-format type (not a response type)', 'application/vnd.kafka.binary.v2+json'],
    ['v1', 'application/vnd.kafka.v1+json'],
    ['text/*', 'text/*'],
    ['q=0 on the only acceptable type', 'application/json;q=0'],
    ['q=0 on */*', '*/*; q=0'],
    ['q=0.0 everywhere', 'application/vnd.kafka.v2+json;q=0.0, application/json;q=0.000'],
    ['a list of only unsatisfiable types', 'text/html, image/png'],
  ])('answers 406 for %s', (_name, accept) => {
    const e = refusal(() => checkAccept(accept));
    expect(e.status).toBe(406);
    expect(e.errorCode).toBe(406);
  });
});

describe('checkAccept (v3)', () => {
  it('accepts application/json and wildcards', () => {
    for (const a of ['application/json', '*/*', 'application/*', undefined])
      expect(() => checkAccept(a, V3_ACCEPTABLE)).not.toThrow();
  });

  it('answers 406 for the v2 vendor type on v3 routes', () => {
    expect(refusal(() => checkAccept('application/vnd.kafka.v2+json', V3_ACCEPTABLE)).status).toBe(406);
  });
});
