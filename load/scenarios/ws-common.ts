/**
 * What the WebSocket scenarios (W1–W4) share: a paced kafkajs producer that stamps each record with its produce
 * time, one measured broadcast window (sockets in client processes, latency = produce time → client receipt on this
 * machine's clock), prefilling a topic, and per-process CPU/RSS naming.
 */
import { readFileSync } from 'node:fs';
import kafkajs, { type Producer } from 'kafkajs';
import { watchProcesses, type ProcUsage } from '../lib/proc.js';
import { rssSeries, type WsClients, type MergedReport } from '../lib/ws-clients.js';
import type { BenchContext, Measured } from './types.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

export const epochNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function wsBase(ctx: BenchContext): string {
  return ctx.gatewayUrl.replace(/^http/, 'ws');
}

/**
 * An open-loop producer at `ratePerS` (10 ms ticks); each value is `{"t":<epoch ms when the record was made>,…}`.
 * Records made while a send is in flight go out together in the next one (as a client library's linger would), so
 * a slow broker round trip delays records (and shows in the latency) but never builds an unbounded queue.
 */
export class PacedProducer {
  private producer: Producer;
  private running = false;
  private loop: Promise<void> | undefined;
  private pending: { value: string }[] = [];
  private inflight: Promise<void> | undefined;
  /** When each record was made, for counting those inside a window. */
  private readonly times: number[] = [];
  errors = 0;
  sends = 0;

  constructor(
    brokers: string,
    private readonly topic: string,
    private readonly ratePerS: number,
    private readonly valueBytes = 100,
  ) {
    const kafka = new Kafka({ clientId: 'bench-ws-producer', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = true;
    this.loop = this.run();
  }

  private flush(): void {
    if (this.inflight || this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    this.sends++;
    this.inflight = this.producer
      .send({ topic: this.topic, acks: -1, messages })
      .then(
        () => {},
        () => void (this.errors += messages.length),
      )
      .finally(() => {
        this.inflight = undefined;
        this.flush();
      });
  }

  private async run(): Promise<void> {
    const pad = 'x'.repeat(Math.max(0, this.valueBytes - 40));
    const tickMs = 10;
    const perTick = this.ratePerS / (1000 / tickMs);
    let owed = 0;
    let next = performance.now();
    let seq = 0;
    while (this.running) {
      owed += perTick;
      const n = Math.floor(owed);
      if (n > 0) {
        owed -= n;
        const t = epochNow();
        for (let i = 0; i < n; i++) {
          this.pending.push({ value: `{"t":${t.toFixed(3)},"s":${seq++},"p":"${pad}"}` });
          this.times.push(t);
        }
        this.flush();
      }
      next += tickMs;
      // Catch up after a stall rather than drift: sleep only until the next tick is due.
      await sleep(Math.max(0, next - performance.now()));
    }
  }

  /** Records made at or after `from` and before `until`. */
  countBetween(from: number, until: number): number {
    let n = 0;
    for (const t of this.times) if (t >= from && t < until) n++;
    return n;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.inflight) await this.inflight;
    await this.producer.disconnect();
  }
}

/**
 * Stamps the topic's records with the broker's append time (message.timestamp.type=LogAppendTime), so a frame's
 * `timestamp` tells broker append → receipt apart from the producer's own latency. Keeps the bench retention.
 */
export async function useAppendTime(brokers: string, topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'message.timestamp.type', value: 'LogAppendTime' },
            { name: 'retention.bytes', value: String(256 * 1024 * 1024) },
          ],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Fills `topic` up to `records` records (value `valueBytes`), as fast as kafkajs goes; skips what is there already. */
export async function prefill(
  brokers: string,
  topic: string,
  records: number,
  valueBytes: number,
  log: (m: string) => void,
): Promise<Record<number, [number, number]>> {
  const kafka = new Kafka({ clientId: 'bench-prefill', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ranges = async () =>
      Object.fromEntries(
        (await admin.fetchTopicOffsets(topic)).map((p) => [
          p.partition,
          [Number(p.low), Number(p.high)] as [number, number],
        ]),
      );
    let have = Object.values(await ranges()).reduce((a, [lo, hi]) => a + hi - lo, 0);
    if (have < records) {
      const t0 = performance.now();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      const value = Buffer.from(`{"p":"${'x'.repeat(Math.max(0, valueBytes - 8))}"}`);
      const partitions = Object.keys(await ranges()).length;
      const batch = 2000;
      let p = 0;
      while (have < records) {
        const n = Math.min(batch, records - have);
        await Promise.all(
          Array.from({ length: 4 }, () =>
            producer.send({
              topic,
              acks: -1,
              messages: Array.from({ length: Math.ceil(n / 4) }, () => ({ value, partition: p++ % partitions })),
            }),
          ),
        );
        have += 4 * Math.ceil(n / 4);
      }
      await producer.disconnect();
      log(
        `prefilled ${topic} to ${have.toLocaleString('en')} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    return await ranges();
  } finally {
    await admin.disconnect();
  }
}

/** All CPUs' busy and total jiffies from /proc/stat (Linux), and the core count. */
function machineTicks(): { busy: number; total: number; cores: number } {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const f = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total, cores: lines.filter((l) => /^cpu\d/.test(l)).length };
  } catch {
    return { busy: Number.NaN, total: Number.NaN, cores: 0 };
  }
}

/**
 * CPU/RSS watch of the gateway, broker, this process (producer) and the client processes (summed as `clients`),
 * plus `machine`: every process on the machine together (% of one core; 200 = both cores of a 2-core box busy).
 * On a shared machine the per-process numbers stay low when the machine is saturated: `machine` says so.
 */
export function watchAll(ctx: BenchContext, clientPids: number[]): { stop(): ProcUsage } {
  const m0 = machineTicks();
  const w = watchProcesses({
    gateway: ctx.pids.gateway,
    broker: ctx.pids.broker,
    producer: process.pid,
    ...Object.fromEntries(clientPids.map((pid, i) => [`client${i + 1}`, pid])),
  });
  return {
    stop() {
      const u = w.stop();
      // The client processes together, as `clients`.
      const sum = (rec: Record<string, number>) => {
        const vals = Object.entries(rec).filter(([k]) => k.startsWith('client'));
        for (const [k] of vals) delete rec[k];
        if (vals.length) rec.clients = vals.reduce((a, [, v]) => a + v, 0);
      };
      sum(u.cpuPct);
      sum(u.rssMaxMb);
      sum(u.rssEndMb);
      const m1 = machineTicks();
      u.cpuPct.machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * m1.cores * 100;
      return u;
    },
  };
}

export interface BroadcastWindow {
  report: MergedReport;
  usage: ProcUsage;
  rss: ReturnType<ReturnType<typeof rssSeries>['stop']>;
  produced: number;
  expected: number;
  durationS: number;
  /** Producer requests during the window (records per request = produced ÷ sends). */
  sends: number;
}

/**
 * One measured window on already-open latency clients while `producer` runs: counts the frames of records produced
 * inside the window, waits (bounded) for the stragglers, and returns counters, latency, CPU and RSS.
 */
export async function measureWindow(
  ctx: BenchContext,
  clients: WsClients,
  producer: PacedProducer,
  durationS: number,
  sockets: number,
): Promise<BroadcastWindow> {
  const from = epochNow();
  const sends0 = producer.sends;
  clients.measure(from);
  const watch = watchAll(ctx, clients.pids);
  const rss = rssSeries(ctx.pids.gateway);
  await sleep(durationS * 1000);
  const until = epochNow();
  clients.until(until);
  const usage = watch.stop();
  const rssWindow = rss.stop();
  const produced = producer.countBetween(from, until);
  const sends = producer.sends - sends0;
  const expected = produced * sockets;
  // Frames still in flight when the window closed: wait for them, a bounded while (late ones count as lost).
  const grace = performance.now() + 10_000;
  let report = await clients.report();
  while (report.frames < expected - report.dropped * produced && performance.now() < grace) {
    await sleep(250);
    report = await clients.report();
  }
  return { report, usage, rss: rssWindow, produced, expected, durationS: (until - from) / 1000, sends };
}

export function windowMeasured(w: BroadcastWindow, extra: Record<string, number> = {}): Measured {
  const lat = w.report.latency.summary();
  return {
    durationS: w.durationS,
    records: w.report.frames,
    recordsPerS: w.report.frames / w.durationS,
    latencyMs: lat,
    errors: w.report.dropped + Math.max(0, w.expected - w.report.frames),
    cpuPct: w.usage.cpuPct,
    rssMaxMb: w.usage.rssMaxMb,
    extra: {
      produced: w.produced,
      framesExpected: w.expected,
      framesLost: Math.max(0, w.expected - w.report.frames),
      socketsDropped: w.report.dropped,
      rssStartMb: w.rss.startMb,
      rssEndMb: w.rss.endMb,
      appendP50Ms: w.report.appendLatency.percentile(50),
      appendP99Ms: w.report.appendLatency.percentile(99),
      producerSends: w.sends,
      ...extra,
    },
  };
}
