/**
 * W3's baseline on @platformatic/kafka (`--w3-baseline-platformatic 1`): the same job and result as
 * group-baseline-worker.ts (kafkajs), with the library's own consumer API as its users write it (`consume()` streams,
 * auto-commit after each fetch, from the committed offset or else the earliest), so W3 can say whether the library
 * reads faster than kafkajs and how close the gateway on it comes to it. Needs Node ≥ 22.22.
 *
 *   node --import tsx load/lib/platformatic-group-baseline-worker.ts '<GroupBaselineJob JSON>'
 */
import { Consumer, type MessagesStream } from '@platformatic/kafka';
import type { GroupBaselineJob, GroupBaselineResult } from './group-baseline-worker.js';

const now = () => performance.timeOrigin + performance.now();

async function main(job: GroupBaselineJob): Promise<GroupBaselineResult> {
  const seen = new Map<number, { low: number; bits: Uint8Array }>();
  let expected = 0;
  for (const [p, [low, high]] of Object.entries(job.expect)) {
    seen.set(Number(p), { low, bits: new Uint8Array(Math.max(0, high - low)) });
    expected += Math.max(0, high - low);
  }
  let unique = 0;
  let uniqueAfterStart = 0;
  let duplicates = 0;
  let lastAt = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const consumers = Array.from(
    { length: job.members },
    () =>
      new Consumer({
        clientId: 'bench-group-baseline-platformatic',
        bootstrapBrokers: job.brokers.split(','),
        groupId: job.group,
        sessionTimeout: job.sessionTimeout,
        rebalanceTimeout: Math.max(60_000, job.sessionTimeout),
        heartbeatInterval: job.heartbeatInterval,
        maxWaitTime: job.maxWaitTimeInMs,
        maxBytes: job.maxBytes,
      }),
  );
  // Held (no 'data' listener: the stream does not fetch) until every member owns a partition, then all read together.
  const owned = new Map<number, number>();
  let settled!: () => void;
  const isSettled = new Promise<void>((r) => (settled = r));
  consumers.forEach((c, i) =>
    c.on('consumer:group:join', (e) => {
      owned.set(
        i,
        (e.assignments ?? []).reduce((a, x) => a + x.partitions.length, 0),
      );
      const counts = [...owned.values()];
      if (owned.size === job.members && counts.every((n) => n > 0) && counts.reduce((a, b) => a + b, 0) === seen.size)
        settled();
    }),
  );
  const streams: MessagesStream<Buffer, Buffer, Buffer, Buffer>[] = await Promise.all(
    consumers.map((c) =>
      c.consume({
        topics: [job.topic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: true,
        maxBytes: job.maxBytes,
        maxWaitTime: job.maxWaitTimeInMs,
      }),
    ),
  );
  const timer = setTimeout(() => finish(), job.timeoutMs);
  await Promise.race([isSettled, finished]);
  const startAt = now();
  process.stdout.write('started\n');
  for (const s of streams)
    s.on('data', (m) => {
      const part = seen.get(m.partition);
      const o = Number(m.offset);
      if (!part || o < part.low || o - part.low >= part.bits.length) return;
      if (part.bits[o - part.low]) duplicates++;
      else {
        part.bits[o - part.low] = 1;
        unique++;
        uniqueAfterStart++;
        lastAt = now();
      }
      if (unique >= expected) finish();
    });
  await finished;
  clearTimeout(timer);
  await Promise.allSettled(consumers.map((c) => c.close(true)));
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
