/**
 * C1's HTTP client, in a process of its own (as the kafkajs baseline runs in its own): the v2 consumer loop of every
 * instance — `GET records` (parsed as any client would), then `POST offsets` (no body: commit what was handed out) —
 * through the balancer, until every expected record was seen. Unique records are counted in one bit per offset,
 * as the baseline counts them. Prints `started` when its clock starts, then one JSON result line.
 *
 *   node --import tsx load/lib/http-consumer-worker.ts '<HttpConsumerJob JSON>'
 */
export interface HttpConsumerJob {
  /** The balancer. */
  url: string;
  group: string;
  names: string[];
  /** Each instance's partitions: positions/beginning on them, then the clock starts. */
  owned: { topic: string; partition: number }[][];
  /** partition → [low, high) of the records to see. */
  expect: Record<string, [number, number]>;
  maxBytes: number;
  timeoutMs: number;
}

export interface HttpConsumerResult {
  unique: number;
  duplicates: number;
  errors: number;
  startAt: number;
  lastAt: number;
  /** Every `GET records` call that returned records, ms. */
  latencies: number[];
}

const V2 = 'application/vnd.kafka.v2+json';
const BINARY = 'application/vnd.kafka.binary.v2+json';

async function call(url: string, method: string, accept: string, body?: unknown): Promise<string> {
  const res = await fetch(url, {
    method,
    headers: { accept, ...(body === undefined ? {} : { 'content-type': V2 }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

async function main(job: HttpConsumerJob): Promise<HttpConsumerResult> {
  const base = (n: string) => `${job.url}/consumers/${job.group}/instances/${n}`;
  const seen = new Map(
    Object.entries(job.expect).map(([p, [low, high]]) => [Number(p), { low, bits: new Uint8Array(high - low) }]),
  );
  const total = Object.values(job.expect).reduce((a, [lo, hi]) => a + hi - lo, 0);
  // Fetched ahead while the group formed: start every partition over, then time.
  await Promise.all(
    job.names.map((n, i) => call(`${base(n)}/positions/beginning`, 'POST', V2, { partitions: job.owned[i] })),
  );
  let unique = 0;
  let duplicates = 0;
  let errors = 0;
  let lastAt = 0;
  const latencies: number[] = [];
  const startAt = performance.now();
  process.stdout.write('started\n');
  const deadline = Date.now() + job.timeoutMs;
  await Promise.all(
    job.names.map(async (n) => {
      while (unique < total && Date.now() < deadline) {
        const t0 = performance.now();
        let recs: { partition: number; offset: number }[];
        try {
          recs = JSON.parse(
            await call(`${base(n)}/records?timeout=1000&max_bytes=${job.maxBytes}`, 'GET', BINARY),
          ) as typeof recs;
        } catch {
          errors++;
          continue;
        }
        if (recs.length === 0) continue;
        const t = performance.now();
        latencies.push(t - t0);
        for (const r of recs) {
          const part = seen.get(r.partition);
          if (!part || r.offset < part.low || r.offset - part.low >= part.bits.length) continue;
          if (part.bits[r.offset - part.low]) duplicates++;
          else {
            part.bits[r.offset - part.low] = 1;
            unique++;
            lastAt = t;
          }
        }
        await call(`${base(n)}/offsets`, 'POST', V2).catch(() => errors++);
      }
    }),
  );
  return { unique, duplicates, errors, startAt, lastAt, latencies };
}

main(JSON.parse(process.argv[2] ?? '{}') as HttpConsumerJob).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
  },
  (e: unknown) => {
    process.stderr.write(`http consumer worker failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
