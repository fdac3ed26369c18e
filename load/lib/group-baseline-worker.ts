/**
 * W3's baseline, in its own process: a direct kafkajs consumer group of `members` consumers (one process, as the
 * gateway holds its members in one process) reading a prefilled topic from the beginning with the gateway's own
 * consumer settings (fetch size, max wait, session timings), as fast as it can, committing as kafkajs does by
 * default (auto-commit of resolved offsets). Counts each (partition, offset) once; done when all expected arrived.
 * kafkajs as users install it, unless the job says `patched` (then with the gateway's kafkajs patches, W3's
 * `--w3-baseline-patched 1`: the same decoder on both sides).
 *
 *   node --import tsx load/lib/group-baseline-worker.ts '<GroupBaselineJob JSON>'
 *   → `started` when the settled group is resumed (CPU is measured from there), then one JSON line (GroupBaselineResult)
 */

export interface GroupBaselineJob {
  brokers: string;
  topic: string;
  group: string;
  members: number;
  /** partition → [low, high) of the records to read. */
  expect: Record<string, [number, number]>;
  maxBytes: number;
  maxWaitTimeInMs: number;
  sessionTimeout: number;
  heartbeatInterval: number;
  timeoutMs: number;
  /** Load the gateway's kafkajs patches first (src/kafka/kafkajs-patches.ts): kafkajs as the gateway runs it. */
  patched?: boolean;
  /**
   * Read everything once untimed first, in a group of its own in this same process, so the timed pass runs warm
   * code, as C1's HTTP side warms its replicas and client with a pass of its own.
   */
  warmup?: boolean;
}

export interface GroupBaselineResult {
  unique: number;
  uniqueAfterStart: number;
  duplicates: number;
  startAt: number;
  lastAt: number;
  recordsPerS: number;
}

const now = () => performance.timeOrigin + performance.now();

type KafkaModule = typeof import('kafkajs');

async function main(job: GroupBaselineJob): Promise<GroupBaselineResult> {
  if (job.patched) (await import('../../src/kafka/kafkajs-patches.js')).applyKafkajsPatches();
  const lib = (await import('kafkajs')).default;
  if (job.warmup) await readAll(lib, { ...job, group: `${job.group}-warmup` }, false);
  return readAll(lib, job, true);
}

/** One group reads every expected record; `timed`: announce `started` when it settled (the measured pass). */
async function readAll(lib: KafkaModule, job: GroupBaselineJob, timed: boolean): Promise<GroupBaselineResult> {
  const kafka = new lib.Kafka({
    clientId: 'bench-group-baseline',
    brokers: job.brokers.split(','),
    logLevel: lib.logLevel.NOTHING,
  });
  const seen = new Map<number, { low: number; bits: Uint8Array }>();
  let expected = 0;
  for (const [p, [low, high]] of Object.entries(job.expect)) {
    seen.set(Number(p), { low, bits: new Uint8Array(Math.max(0, high - low)) });
    expected += Math.max(0, high - low);
  }
  let unique = 0;
  let uniqueAfterStart = 0;
  let duplicates = 0;
  let startAt: number | undefined;
  let lastAt = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const topics = [{ topic: job.topic }];

  const consumers = Array.from({ length: job.members }, () =>
    kafka.consumer({
      groupId: job.group,
      sessionTimeout: job.sessionTimeout,
      heartbeatInterval: job.heartbeatInterval,
      maxWaitTimeInMs: job.maxWaitTimeInMs,
      maxBytes: job.maxBytes,
      maxBytesPerPartition: job.maxBytes,
      allowAutoTopicCreation: false,
    }),
  );
  // Held paused until the group has settled (every member owns a partition), then resumed together (as W3's
  // WebSocket side does), so joins and rebalances are not part of the measured window.
  const owned = new Map<number, number>();
  let settled!: () => void;
  const isSettled = new Promise<void>((r) => (settled = r));
  consumers.forEach((c, i) =>
    c.on(c.events.GROUP_JOIN, (e) => {
      owned.set(
        i,
        Object.values(e.payload.memberAssignment).reduce((a, ps) => a + ps.length, 0),
      );
      const counts = [...owned.values()];
      if (owned.size === job.members && counts.every((n) => n > 0) && counts.reduce((a, b) => a + b, 0) === seen.size)
        settled();
    }),
  );
  await Promise.all(
    consumers.map(async (c) => {
      await c.connect();
      await c.subscribe({ topics: [job.topic], fromBeginning: true });
      await c.run({
        eachBatch: async ({ batch }) => {
          const t = now();
          const part = seen.get(batch.partition);
          for (const m of batch.messages) {
            const o = Number(m.offset);
            if (!part || o < part.low || o - part.low >= part.bits.length) continue;
            if (part.bits[o - part.low]) duplicates++;
            else {
              part.bits[o - part.low] = 1;
              unique++;
              if (startAt !== undefined) uniqueAfterStart++;
              lastAt = t;
            }
          }
          if (unique >= expected) finish();
        },
      });
      c.pause(topics);
    }),
  );
  const timer = setTimeout(() => finish(), job.timeoutMs);
  await Promise.race([isSettled, finished]);
  startAt = now();
  if (timed) process.stdout.write('started\n');
  for (const c of consumers) c.resume(topics);
  await finished;
  clearTimeout(timer);
  await Promise.all(consumers.map((c) => c.disconnect()));
  if (unique < expected) throw new Error(`only ${unique} of ${expected} records within ${job.timeoutMs / 1000} s`);
  const seconds = (lastAt - startAt) / 1000;
  return { unique, uniqueAfterStart, duplicates, startAt, lastAt, recordsPerS: uniqueAfterStart / seconds };
}

main(JSON.parse(process.argv[2] ?? '{}') as GroupBaselineJob).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
  },
  (e: unknown) => {
    process.stderr.write(`group baseline failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
