/** P1–P4 (docs/performance.md, produce scenarios): the gateway against a direct kafkajs producer, same broker, same run. */
import { produceBody } from '../lib/payload.js';
import { baselineSide, bothSides, cpuPerRecordsRow, cpuRow, gatewaySide, ratioRow } from './common.js';
import type { BenchContext, Measured, RoundResult, Row, Scenario } from './types.js';

const PARTITIONS = 3;

interface ThroughputSpec {
  id: string;
  title: string;
  recordsPerRequest: number;
  valueBytes: number;
  connections: number;
}

function throughput(spec: ThroughputSpec, rows: (rounds: RoundResult[]) => Row[]): Scenario {
  const topic = `bench-${spec.id.toLowerCase()}`;
  const body = produceBody(spec.recordsPerRequest, spec.valueBytes);
  return {
    id: spec.id,
    title: spec.title,
    topics: { [topic]: PARTITIONS },
    round: (ctx: BenchContext) =>
      bothSides(
        ctx,
        () =>
          gatewaySide(ctx, { topic, body, recordsPerRequest: spec.recordsPerRequest, connections: spec.connections }),
        () =>
          baselineSide(ctx, {
            topic,
            partitions: PARTITIONS,
            recordsPerSend: spec.recordsPerRequest,
            valueBytes: spec.valueBytes,
            concurrency: spec.connections,
          }),
      ),
    summarize: rows,
  };
}

const recordsPerS = (m: Measured) => m.recordsPerS;
const p99 = (m: Measured) => m.latencyMs?.p99;

export const P1 = throughput(
  {
    id: 'P1',
    title: '100 records/request, 100 B JSON values, 16 connections',
    recordsPerRequest: 100,
    valueBytes: 100,
    connections: 16,
  },
  (rounds) => [
    ratioRow('P1', 'records/s (gateway ÷ kafkajs)', 'records/s', rounds, recordsPerS, '≥ 0.8×', (r) => r >= 0.8),
    ratioRow('P1', 'p99 latency per request/send', 'ms', rounds, p99, '—'),
    cpuRow('P1', rounds),
    cpuPerRecordsRow('P1', rounds),
  ],
);

export const P2 = throughput(
  {
    id: 'P2',
    title: '100 records/request, 1 KB JSON values, 16 connections',
    recordsPerRequest: 100,
    valueBytes: 1024,
    connections: 16,
  },
  (rounds) => [
    ratioRow('P2', 'records/s (gateway ÷ kafkajs)', 'records/s', rounds, recordsPerS, '≥ 0.8×', (r) => r >= 0.8),
    ratioRow('P2', 'p99 latency per request/send', 'ms', rounds, p99, '—'),
    cpuRow('P2', rounds),
    cpuPerRecordsRow('P2', rounds),
  ],
);

export const P3 = throughput(
  {
    id: 'P3',
    title: '1 record/request, 100 B, 64 connections',
    recordsPerRequest: 1,
    valueBytes: 100,
    connections: 64,
  },
  (rounds) => [
    ratioRow('P3', 'requests/s (gateway ÷ kafkajs sends/s)', 'req/s', rounds, (m) => m.requestsPerS, 'report'),
    ratioRow('P3', 'p99 latency', 'ms', rounds, p99, 'report'),
    cpuRow('P3', rounds),
    cpuPerRecordsRow('P3', rounds),
  ],
);

const P4_RATE = 200;
const p4Topic = 'bench-p4';
export const P4: Scenario = {
  id: 'P4',
  title: `1 record/request at a steady ${P4_RATE} requests/s`,
  topics: { [p4Topic]: PARTITIONS },
  round: (ctx) =>
    bothSides(
      ctx,
      () =>
        gatewaySide(ctx, {
          topic: p4Topic,
          body: produceBody(1, 100),
          recordsPerRequest: 1,
          connections: 16,
          rate: P4_RATE,
        }),
      () =>
        baselineSide(ctx, {
          topic: p4Topic,
          partitions: PARTITIONS,
          recordsPerSend: 1,
          valueBytes: 100,
          concurrency: 1,
          rate: P4_RATE,
        }),
    ),
  summarize(rounds) {
    const overhead = (pick: (m: Measured) => number | undefined) => {
      const xs = rounds
        .map((r) =>
          r.gateway && r.baseline ? (pick(r.gateway) ?? Number.NaN) - (pick(r.baseline) ?? Number.NaN) : Number.NaN,
        )
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      return xs.length ? xs[Math.floor((xs.length - 1) / 2)] : undefined;
    };
    const p99Row = ratioRow('P4', 'p99 latency', 'ms', rounds, p99, '—');
    const p50Row = ratioRow('P4', 'p50 latency', 'ms', rounds, (m) => m.latencyMs?.p50, '—');
    const o99 = overhead(p99);
    const o50 = overhead((m) => m.latencyMs?.p50);
    const rate = ratioRow('P4', 'achieved rate', 'req/s', rounds, (m) => m.requestsPerS, `${P4_RATE}/s`);
    // An overhead means something only when both sides kept the rate (an open loop that fell behind queues up).
    const kept = (rate.gateway ?? 0) >= 0.95 * P4_RATE && (rate.baseline ?? 0) >= 0.95 * P4_RATE;
    const notes = [
      ...(o50 !== undefined ? [`p50 overhead ${o50.toFixed(2)} ms`] : []),
      ...(kept ? [] : ['a side fell below 95% of the rate: no verdict']),
    ];
    return [
      rate,
      p50Row,
      p99Row,
      {
        id: 'P4',
        metric: 'p99 overhead (gateway − kafkajs)',
        unit: 'ms',
        ...(o99 !== undefined ? { gateway: o99, ...(kept ? { ok: o99 <= 2 } : {}) } : {}),
        target: '≤ 2 ms',
        ...(notes.length ? { note: notes.join('; ') } : {}),
      },
    ];
  },
};
