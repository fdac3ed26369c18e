/**
 * P5: Kafka's own Java ProducerPerformance (from the broker's jars) on the same broker: the ceiling the HTTP
 * path is compared with. acks=all; the Java client is idempotent by default with acks=all.
 */
import { spawn } from 'node:child_process';
import { classpath } from '../../deploy/local-kafka/kafka.mjs';
import { watchProcesses } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { med } from './common.js';
import type { BenchContext, Measured, Row, Scenario } from './types.js';

export const P5_MAIN_CLASS = 'org.apache.kafka.tools.ProducerPerformance';
const topic = 'bench-p5';

export interface PerfResult {
  records: number;
  recordsPerS: number;
  avgMs: number;
  maxMs: number;
  p50: number;
  p99: number;
}

/** Parses ProducerPerformance's final line: "1000000 records sent, 285714.3 records/sec (27.25 MB/sec), 45.2 ms avg latency, 200.0 ms max latency, 40 ms 50th, 90 ms 95th, 150 ms 99th, 190 ms 99.9th." */
export function parsePerfSummary(out: string): PerfResult | undefined {
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/.exec(
      out,
    );
  if (!m) return undefined;
  return {
    records: Number(m[1]),
    recordsPerS: Number(m[2]),
    avgMs: Number(m[3]),
    maxMs: Number(m[4]),
    p50: Number(m[5]),
    p99: Number(m[7]),
  };
}

export function producerPerformance(ctx: BenchContext, records: number): Promise<Measured> {
  const args = [
    '-Xmx512m',
    '-cp',
    classpath(),
    P5_MAIN_CLASS,
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    '100',
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${ctx.brokers}`,
    'acks=all',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const watch = watchProcesses({ ceiling: child.pid, broker: ctx.pids.broker, gateway: ctx.pids.gateway });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const usage = watch.stop();
      const r = parsePerfSummary(out);
      if (code !== 0 || !r) return reject(new Error(`ProducerPerformance exited ${code}: ${out.slice(-500)}`));
      resolve({
        durationS: r.records / r.recordsPerS,
        records: r.records,
        recordsPerS: r.recordsPerS,
        latencyMs: { p50: r.p50, p90: Number.NaN, p99: r.p99, mean: r.avgMs, max: r.maxMs, count: r.records },
        errors: 0,
        cpuPct: usage.cpuPct,
        rssMaxMb: usage.rssMaxMb,
      });
    });
  });
}

export function ceilingScenario(records = 1_000_000): Scenario {
  return {
    id: 'P5',
    title: `Kafka's ProducerPerformance, ${records.toLocaleString('en')} × 100 B, acks=all (ceiling)`,
    topics: { [topic]: 3 },
    round: async (ctx) => ({ baseline: await producerPerformance(ctx, records) }),
    summarize(rounds, all): Row[] {
      const ceiling = med(rounds, 'baseline', (m) => m.recordsPerS);
      const rows: Row[] = [
        {
          id: 'P5',
          metric: 'ProducerPerformance records/s (Java client)',
          unit: 'records/s',
          ...(ceiling !== undefined ? { baseline: ceiling } : {}),
          target: 'ceiling',
        },
      ];
      const p1 = all.get('P1');
      if (p1 && ceiling) {
        // Per-round fractions (same round = same machine state), then the median.
        const frac = (side: 'gateway' | 'baseline') => {
          const xs = p1
            .map((r, i) => (r[side]?.recordsPerS ?? Number.NaN) / (rounds[i]?.baseline?.recordsPerS ?? Number.NaN))
            .filter(Number.isFinite);
          return xs.length ? median(xs) : undefined;
        };
        const g = frac('gateway');
        const b = frac('baseline');
        if (g !== undefined)
          rows.push({
            id: 'P5',
            metric: 'P1 gateway ÷ ProducerPerformance',
            unit: '×',
            ratio: g,
            target: '≥ 0.5×',
            ok: g >= 0.5,
          });
        if (b !== undefined)
          rows.push({
            id: 'P5',
            metric: 'P1 kafkajs baseline ÷ ProducerPerformance',
            unit: '×',
            ratio: b,
            target: 'context: the client ceiling',
          });
      }
      return rows;
    },
  };
}
