/**
 * The baseline side of the produce scenarios, in its own process (so its CPU is measured apart): a direct
 * kafkajs producer with the gateway's settings (idempotent, acks=all, one request in flight per broker, no
 * compression), sending the same record sizes with the same concurrency. Keyless records go to one partition
 * per send, rotating, as the gateway's spreader does per request.
 *
 *   node --import tsx load/lib/baseline-worker.ts '<BaselineJob JSON>'   → one JSON line (BaselineResult)
 */
import kafkajs from 'kafkajs';
import { jsonValue } from './payload.js';
import { Samples, summarize, type LatencySummary } from './stats.js';

const { Kafka, logLevel } = kafkajs;

export interface BaselineJob {
  brokers: string;
  topic: string;
  partitions: number;
  recordsPerSend: number;
  valueBytes: number;
  /** Closed loop: this many sends in flight at once. */
  concurrency: number;
  /** Open loop instead: this many sends per second, not waiting for earlier ones. */
  rate?: number;
  durationS: number;
  warmupS: number;
}

export interface BaselineResult {
  sends: number;
  records: number;
  errors: number;
  durationS: number;
  recordsPerS: number;
  sendsPerS: number;
  latencyMs: LatencySummary;
}

async function main(job: BaselineJob): Promise<BaselineResult> {
  const kafka = new Kafka({ clientId: 'bench-baseline', brokers: job.brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.from(jsonValue(job.valueBytes));
  const messages = (partition: number) =>
    Array.from({ length: job.recordsPerSend }, () => ({ key: null, value, partition }));
  let next = 0;
  const send = () => producer.send({ topic: job.topic, acks: -1, messages: messages(next++ % job.partitions) });

  const latencies = new Samples();
  let sends = 0;
  let errors = 0;
  let measuring = false;
  const timed = async () => {
    const t = performance.now();
    try {
      await send();
      if (measuring) {
        sends++;
        latencies.push(performance.now() - t);
      }
    } catch {
      if (measuring) errors++;
    }
  };

  const runFor = async (seconds: number) => {
    const end = performance.now() + seconds * 1000;
    if (job.rate) {
      // Open loop: issue on schedule (catching up after a stall), never waiting for answers.
      const interval = 1000 / job.rate;
      const inflight = new Set<Promise<void>>();
      let due = performance.now();
      while (performance.now() < end) {
        while (due <= performance.now()) {
          const p = timed().finally(() => inflight.delete(p));
          inflight.add(p);
          due += interval;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(due - performance.now(), 5))));
      }
      await Promise.all(inflight);
    } else {
      await Promise.all(
        Array.from({ length: job.concurrency }, async () => {
          while (performance.now() < end) await timed();
        }),
      );
    }
  };

  await runFor(job.warmupS);
  process.stdout.write('measuring\n');
  measuring = true;
  const t0 = performance.now();
  await runFor(job.durationS);
  const durationS = (performance.now() - t0) / 1000;
  measuring = false;
  await producer.disconnect();
  return {
    sends,
    records: sends * job.recordsPerSend,
    errors,
    durationS,
    recordsPerS: (sends * job.recordsPerSend) / durationS,
    sendsPerS: sends / durationS,
    latencyMs: summarize(latencies.values()),
  };
}

main(JSON.parse(process.argv[2] ?? '{}') as BaselineJob).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`baseline failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
