/**
 * What a record costs in a produce request, estimated before it is sent: the produce route refuses a record over
 * the topic's max.message.bytes with 413 by this arithmetic, and the batching producer splits batches by it.
 */

/** What a record costs in a batch beyond its key, value and headers (varints, attributes; generous). */
export const RECORD_OVERHEAD_BYTES = 32;
/** A RecordBatch header. */
export const BATCH_OVERHEAD_BYTES = 61;
/** What a header costs beyond its name and value (varint lengths; generous). */
export const HEADER_OVERHEAD_BYTES = 10;

/** The parts of a record that count (structural, so both the route's and the producer's records fit). */
export interface SizedRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: ReadonlyArray<{ name: string; value: Uint8Array | null }> | undefined;
}

export function recordSize(r: SizedRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers)
    for (const h of r.headers) n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(h.name) + (h.value?.length ?? 0);
  return n;
}
