/**
 * C1's HTTP client, in a process of its own (as the kafkajs baseline runs in its own): it creates the instances of a
 * group through the balancer (all creates first, so round-robin spreads them over the replicas), subscribes them,
 * waits until every one holds a partition, starts every partition over, and runs the v2 consumer loop of every
 * instance — `GET records` (parsed as any client would), then `POST offsets` (no body: commit what was handed out)
 * — until every expected record was seen, then deletes the instances. Unique records are counted in one bit per
 * offset, as the baseline counts them. With `warmup`, all of that runs first untimed in a group of its own (as the
 * baseline's untimed pass does): the replicas, the balancer and this client then run warm code in the timed pass,
 * whose instances start fresh (a seek at the log's end would wait out the reader's long poll). Prints `started`
 * when the timed pass's clock starts, then one JSON result line.
 *
 *   node --import tsx load/lib/http-consumer-worker.ts '<HttpConsumerJob JSON>'
 */
import { onePartitionEach } from '../../test/helpers/consumers.js';

export interface HttpConsumerJob {
  /** The balancer. */
  url: string;
  group: string;
  topic: string;
  members: number;
  /** partition → [low, high) of the records to see. */
  expect: Record<string, [number, number]>;
  maxBytes: number;
  timeoutMs: number;
  /** Read everything once untimed first, with instances of a group of its own. */
  warmup?: boolean;
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
const SETTLE_MS = 60_000;

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
  const total = Object.values(job.expect).reduce((a, [lo, hi]) => a + hi - lo, 0);
  if (job.warmup) {
    const w = await pass(job, total, `${job.group}-warmup`, false);
    if (w.unique < total) throw new Error(`the untimed pass saw only ${w.unique} records (${w.errors} failed calls)`);
  }
  return pass(job, total, job.group, true);
}

/** One group's instances read every expected record; `timed`: announce `started` (the measured pass). */
async function pass(job: HttpConsumerJob, total: number, group: string, timed: boolean): Promise<HttpConsumerResult> {
  const groupUrl = `${job.url}/consumers/${group}`;
  const names: string[] = [];
  for (let i = 0; i < job.members; i++) {
    const created = JSON.parse(
      await call(groupUrl, 'POST', V2, {
        name: `c${i}`,
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'auto.commit.enable': 'false',
      }),
    ) as { instance_id: string };
    names.push(created.instance_id);
  }
  const base = (n: string) => `${groupUrl}/instances/${n}`;
  try {
    for (const n of names) await call(`${base(n)}/subscription`, 'POST', V2, { topics: [job.topic] });
    const settle = Date.now() + SETTLE_MS;
    let owned: { topic: string; partition: number }[][];
    for (;;) {
      owned = await Promise.all(
        names.map(
          async (n) =>
            (
              JSON.parse(await call(`${base(n)}/assignments`, 'GET', V2)) as {
                partitions: { topic: string; partition: number }[];
              }
            ).partitions,
        ),
      );
      if (onePartitionEach(owned)) break;
      if (Date.now() > settle) throw new Error(`the group did not settle: ${JSON.stringify(owned)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Fetched ahead while the group formed: start every partition over, then time.
    await Promise.all(
      names.map((n, i) => call(`${base(n)}/positions/beginning`, 'POST', V2, { partitions: owned[i] })),
    );
    return await loop(job, total, names.map(base), timed);
  } finally {
    await Promise.all(names.map((n) => call(base(n), 'DELETE', V2).catch(() => {})));
  }
}

/** Every instance's loop until all `total` expected records were seen. */
async function loop(
  job: HttpConsumerJob,
  total: number,
  instances: string[],
  timed: boolean,
): Promise<HttpConsumerResult> {
  const seen = new Map(
    Object.entries(job.expect).map(([p, [low, high]]) => [Number(p), { low, bits: new Uint8Array(high - low) }]),
  );
  let unique = 0;
  let duplicates = 0;
  let errors = 0;
  let lastAt = 0;
  const latencies: number[] = [];
  const startAt = performance.now();
  if (timed) process.stdout.write('started\n');
  const deadline = Date.now() + job.timeoutMs;
  await Promise.all(
    instances.map(async (instance) => {
      while (unique < total && Date.now() < deadline) {
        const t0 = performance.now();
        let recs: { partition: number; offset: number }[];
        try {
          recs = JSON.parse(
            await call(`${instance}/records?timeout=1000&max_bytes=${job.maxBytes}`, 'GET', BINARY),
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
        await call(`${instance}/offsets`, 'POST', V2).catch(() => errors++);
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
