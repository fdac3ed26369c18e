// The v2 produce response body (docs/rest-api.md "v2 produce"): written out directly, it must be the JSON of the
// Confluent shape, byte for byte, for acknowledged, failed and acks=0 records alike.
import { describe, expect, it } from 'vitest';
import type { RecordResult } from '../../../../src/kafka/index.js';
import { produceResponseJson } from '../../../../src/http/routes/produce.js';

/** The Confluent v2 shape, built as objects and serialized by JSON.stringify. */
function confluent(results: RecordResult[]): string {
  return JSON.stringify({
    key_schema_id: null,
    value_schema_id: null,
    offsets: results.map((r) =>
      r.ok
        ? { partition: r.partition, offset: r.offset, error_code: null, error: null }
        : { partition: r.partition, offset: null, error_code: r.errorCode, error: r.message },
    ),
  });
}

describe('produceResponseJson', () => {
  it('writes one entry per record, in order, as JSON.stringify of the Confluent shape does', () => {
    const results: RecordResult[] = [
      { ok: true, partition: 0, offset: 0 },
      { ok: true, partition: 2, offset: 9007199254740991 },
      { ok: true, partition: 1, offset: -1 },
      { ok: false, partition: null, errorCode: 50003, message: 'Kafka did not "answer"; \\ unknown\n\u0001 é ✓' },
      { ok: false, partition: 3, errorCode: 50002, message: '' },
    ];
    const body = produceResponseJson(results);
    expect(body).toBe(confluent(results));
    expect(JSON.parse(body).offsets[3]).toEqual({
      partition: null,
      offset: null,
      error_code: 50003,
      error: 'Kafka did not "answer"; \\ unknown\n\u0001 é ✓',
    });
  });

  it('writes an empty offsets list for no records', () => {
    expect(produceResponseJson([])).toBe('{"key_schema_id":null,"value_schema_id":null,"offsets":[]}');
  });
});
