/**
 * K1–K4: the two bare client libraries side by side, no gateway involved (issue 14 §1: the second Kafka client is
 * decided by measurement). Both sides are the produce baseline worker (load/lib/baseline-worker.ts) with the
 * gateway's producer settings (idempotent, acks=all, one request in flight per broker): in the table's columns,
 * "gateway" is the bare @platformatic/kafka producer and "baseline" the bare kafkajs producer, so the ratio is
 * platformatic ÷ kafkajs. The loads are P1–P4's; run with P5 to see both against Kafka's Java client.
 * Needs Node ≥ 22.22 for @platformatic/kafka (run the bench on Node 24, docs/performance.md).
 */
import { median } from '../lib/stats.js';
import { baselineSide, bothSides, cpuPer1000, ratioRow } from './common.js';
import type { BaselineJob } from '../lib/baseline-worker.js';
import type { BenchContext, Measured, RoundResult, Row, Scenario } from './types.js';

const PARTITIONS = 3;

interface ClientLoad {
  id: string;
  title: string;
  recordsPerSend: number;
  valueBytes: number;
  concurrency: number;
  rate?: number;
}

function clients(load: ClientLoad, rows: (rounds: RoundResult[], all: ReadonlyMap<string, RoundResult[]>) => Row[]) {
  const topic = `bench-${load.id.toLowerCase()}`;
  const job = (client: BaselineJob['client']) => ({
    client,
    topic,
    partitions: PARTITIONS,
    recordsPerSend: load.recordsPerSend,
    valueBytes: load.valueBytes,
    concurrency: load.concurrency,
    ...(load.rate ? { rate: load.rate } : {}),
  });
  const scenario: Scenario = {
    id: load.id,
    title: `${load.title}: bare @platformatic/kafka ("gateway" column) vs bare kafkajs`,
    topics: { [topic]: PARTITIONS },
    round: (ctx: BenchContext) =>
      bothSides(
        { ...ctx, baseline: true },
        () => baselineSide(ctx, job('platformatic')),
        () => baselineSide(ctx, job('kafkajs')),
      ),
    summarize: rows,
  };
  return scenario;
}

const recordsPerS = (m: Measured) => m.recordsPerS;
const p99 = (m: Measured) => m.latencyMs?.p99;
const cpuPerK = cpuPer1000('baseline');

/** Each client's records/s as a fraction of P5's ProducerPerformance in the same round (median over rounds). */
function ofCeiling(id: string, rounds: readonly RoundResult[], all: ReadonlyMap<string, RoundResult[]>): Row[] {
  const p5 = all.get('P5');
  if (!p5) return [];
  const frac = (side: 'gateway' | 'baseline') => {
    const xs = rounds
      .map((r, i) => (r[side]?.recordsPerS ?? Number.NaN) / (p5[i]?.baseline?.recordsPerS ?? Number.NaN))
      .filter(Number.isFinite);
    return xs.length ? median(xs) : undefined;
  };
  const p = frac('gateway');
  const k = frac('baseline');
  return [
    ...(p !== undefined
      ? [{ id, metric: 'platformatic ÷ ProducerPerformance', unit: '×', ratio: p, target: 'context' }]
      : []),
    ...(k !== undefined
      ? [{ id, metric: 'kafkajs ÷ ProducerPerformance', unit: '×', ratio: k, target: 'context' }]
      : []),
  ];
}

const throughputRows =
  (id: string) =>
  (rounds: RoundResult[], all: ReadonlyMap<string, RoundResult[]>): Row[] => [
    ratioRow(id, 'records/s (platformatic ÷ kafkajs)', 'records/s', rounds, recordsPerS, 'report'),
    ratioRow(id, 'p99 latency per send', 'ms', rounds, p99, 'report'),
    ratioRow(id, 'CPU per 1,000 records (client process)', 'ms', rounds, cpuPerK, 'report'),
    ...ofCeiling(id, rounds, all),
  ];

export const K1 = clients(
  {
    id: 'K1',
    title: 'P1 load: 100 records/send, 100 B, 16 concurrent',
    recordsPerSend: 100,
    valueBytes: 100,
    concurrency: 16,
  },
  throughputRows('K1'),
);
export const K2 = clients(
  {
    id: 'K2',
    title: 'P2 load: 100 records/send, 1 KB, 16 concurrent',
    recordsPerSend: 100,
    valueBytes: 1024,
    concurrency: 16,
  },
  throughputRows('K2'),
);
export const K3 = clients(
  {
    id: 'K3',
    title: 'P3 load: 1 record/send, 100 B, 64 concurrent',
    recordsPerSend: 1,
    valueBytes: 100,
    concurrency: 64,
  },
  (rounds) => [
    ratioRow('K3', 'sends/s (platformatic ÷ kafkajs)', 'sends/s', rounds, (m) => m.requestsPerS, 'report'),
    ratioRow('K3', 'p99 latency', 'ms', rounds, p99, 'report'),
    ratioRow('K3', 'CPU per 1,000 records (client process)', 'ms', rounds, cpuPerK, 'report'),
  ],
);
export const K4 = clients(
  {
    id: 'K4',
    title: 'P4 load: 1 record/send at 200 sends/s',
    recordsPerSend: 1,
    valueBytes: 100,
    concurrency: 1,
    rate: 200,
  },
  (rounds) => [
    ratioRow('K4', 'achieved rate', 'sends/s', rounds, (m) => m.requestsPerS, '200/s'),
    ratioRow('K4', 'p50 latency', 'ms', rounds, (m) => m.latencyMs?.p50, 'report'),
    ratioRow('K4', 'p99 latency', 'ms', rounds, p99, 'report'),
  ],
);
