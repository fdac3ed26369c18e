// The size arithmetic behind the 413 for a record over max.message.bytes and the producer's batch splits.
import { expect, it } from 'vitest';
import { RECORD_OVERHEAD_BYTES, recordSize } from '../../../src/core/record-size.js';

it('counts key, value, and each header’s UTF-8 name and value on top of a fixed overhead', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  expect(recordSize({ key: null, value: null })).toBe(RECORD_OVERHEAD_BYTES);
  expect(recordSize({ key: bytes('k'), value: bytes('value') })).toBe(RECORD_OVERHEAD_BYTES + 1 + 5);
  // 'ü' is two UTF-8 bytes: header names count in bytes, not characters.
  const withHeaders = recordSize({ key: null, value: bytes('v'), headers: [{ name: 'ü', value: bytes('abc') }] });
  expect(withHeaders).toBe(RECORD_OVERHEAD_BYTES + 1 + 10 + 2 + 3);
  expect(recordSize({ key: null, value: null, headers: [{ name: 'h', value: null }] })).toBe(
    RECORD_OVERHEAD_BYTES + 10 + 1,
  );
});
