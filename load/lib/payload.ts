/** Record bodies for the produce scenarios: JSON values of an exact byte size, as docs/performance.md describes. */

/** A compact JSON object whose UTF-8 text is exactly `bytes` long (≥ 12), e.g. {"i":0,"p":"xxxx"}. */
export function jsonValue(bytes: number, seed = 0): string {
  const head = `{"i":${seed},"p":"`;
  const tail = '"}';
  const pad = bytes - head.length - tail.length;
  if (pad < 0) throw new Error(`jsonValue: ${bytes} bytes is too small`);
  return head + 'x'.repeat(pad) + tail;
}

/** A v2 JSON produce body with `records` keyless records, each value `valueBytes` of JSON. */
export function produceBody(records: number, valueBytes: number): string {
  const values: string[] = [];
  for (let i = 0; i < records; i++) values.push(`{"value":${jsonValue(valueBytes, i % 10)}}`);
  return `{"records":[${values.join(',')}]}`;
}

export const JSON_V2 = 'application/vnd.kafka.json.v2+json';
