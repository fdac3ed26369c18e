/**
 * The baseline side of the produce scenarios, in its own process (so its CPU is measured apart): a direct
 * producer with the gateway's settings (idempotent, acks=all, one request in flight per broker, no
 * compression), sending the same record sizes with the same concurrency. Keyless records go to one partition
 * per send, rotating, as the gateway's spreader does per request. The client is kafkajs unless the job names
 * @platformatic/kafka (the K scenarios compare the two bare clients, docs/performance.md).
 *
 *   node --import tsx load/lib/baseline-worker.ts '<BaselineJob JSON>'   → one JSON line (BaselineResult)
 */
import { Producer as PlatformaticProducer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { jsonValue } from './payload.js';
import { Samples, summarize, type LatencySummary } from './stats.js';

const { Kafka, logLevel } = kafkajs;

export type BaselineClient = 'kafkajs' | 'platformatic';

export interface BaselineJob {
  /** Which client library produces; kafkajs when absent. */
  client?: BaselineClient;
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

interface BareProducer {
  send(partition: number): Promise<unknown>;
  close(): Promise<void>;
}

async function kafkajsProducer(job: BaselineJob, value: Buffer): Promise<BareProducer> {
  const kafka = new Kafka({ clientId: 'bench-baseline', brokers: job.brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const messages = (partition: number) =>
    Array.from({ length: job.recordsPerSend }, () => ({ key: null, value, partition }));
  return {
    send: (partition) => producer.send({ topic: job.topic, acks: -1, messages: messages(partition) }),
    close: () => producer.disconnect(),
  };
}

async function platformaticProducer(job: BaselineJob, value: Buffer): Promise<BareProducer> {
  // idempotent forces acks=all and one request in flight per connection (the library's own rule).
  const producer = new PlatformaticProducer({
    clientId: 'bench-baseline',
    bootstrapBrokers: job.brokers.split(','),
    idempotent: true,
    acks: -1,
    autocreateTopics: false,
  });
  await producer.initIdempotentProducer({});
  const messages = (partition: number) =>
    Array.from({ length: job.recordsPerSend }, () => ({ topic: job.topic, key: undefined, value, partition }));
  return {
    send: (partition) => producer.send({ messages: messages(partition) }),
    close: () => producer.close(),
  };
}

async function main(job: BaselineJob): Promise<BaselineResult> {
  const value = Buffer.from(jsonValue(job.valueBytes));
  const producer = await (job.client === 'platformatic' ? platformaticProducer : kafkajsProducer)(job, value);
  let next = 0;
  const send = () => producer.send(next++ % job.partitions);

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
  await producer.close();
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
