/** The two sides of a produce scenario (HTTP through the gateway, direct kafkajs) and row helpers. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { BaselineJob, BaselineResult } from '../lib/baseline-worker.js';
import { ROOT, scrapeSum } from '../lib/env.js';
import { httpLoad } from '../lib/http-load.js';
import { openLoopHttp } from '../lib/http-open-loop.js';
import { JSON_V2 } from '../lib/payload.js';
import { watchProcesses } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import type { BenchContext, Measured, RoundResult, Row } from './types.js';

export interface GatewayLoad {
  topic: string;
  body: string;
  recordsPerRequest: number;
  connections: number;
  /** Open loop, requests/s. */
  rate?: number;
}

/** Produce through the gateway with autocannon: warm-up (discarded), then the measured window. */
export async function gatewaySide(ctx: BenchContext, o: GatewayLoad): Promise<Measured> {
  const load = {
    url: `${ctx.gatewayUrl}/topics/${o.topic}`,
    headers: { 'content-type': JSON_V2, accept: 'application/vnd.kafka.v2+json' },
    body: o.body,
    connections: o.connections,
  };
  // A steady rate needs our own open-loop client (autocannon's rate limit sends in bursts, see http-open-loop.ts).
  const run = (durationS: number) =>
    o.rate ? openLoopHttp({ ...load, rate: o.rate, durationS }) : httpLoad({ ...load, durationS });
  if (ctx.warmupS > 0) await run(ctx.warmupS);
  const scrape = (name: string) => scrapeSum(ctx.gatewayUrl, name).catch(() => Number.NaN);
  const errorsBefore = await scrape('kafka_gateway_produce_errors_total');
  const batchesBefore = await scrape('kafka_gateway_produce_batch_records_count');
  const batchRecordsBefore = await scrape('kafka_gateway_produce_batch_records_sum');
  const watch = watchProcesses({ gateway: ctx.pids.gateway, broker: ctx.pids.broker, loadgen: process.pid });
  const r = await run(ctx.durationS);
  const usage = watch.stop();
  const recordErrors = (await scrape('kafka_gateway_produce_errors_total')) - errorsBefore;
  const batches = (await scrape('kafka_gateway_produce_batch_records_count')) - batchesBefore;
  const batchRecords = (await scrape('kafka_gateway_produce_batch_records_sum')) - batchRecordsBefore;
  const records = r.ok * o.recordsPerRequest;
  return {
    durationS: r.durationS,
    records,
    recordsPerS: records / r.durationS,
    requestsPerS: r.requestsPerS,
    latencyMs: r.latencyMs,
    errors: r.non2xx + r.errors + (Number.isFinite(recordErrors) ? recordErrors : 0),
    cpuPct: usage.cpuPct,
    rssMaxMb: usage.rssMaxMb,
    // From the gateway's own /metrics: how many records each sendBatch carried (the batching effect).
    ...(batches > 0 ? { extra: { batches, recordsPerBatch: batchRecords / batches } } : {}),
  };
}

/** The same load straight from kafkajs, in a child process of its own. */
export async function baselineSide(
  ctx: BenchContext,
  job: Omit<BaselineJob, 'brokers' | 'durationS' | 'warmupS'>,
): Promise<Measured> {
  const full: BaselineJob = { ...job, brokers: ctx.brokers, durationS: ctx.durationS, warmupS: ctx.warmupS };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'load/lib/baseline-worker.ts'), JSON.stringify(full)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    },
  );
  let watch: ReturnType<typeof watchProcesses> | undefined;
  let result: BaselineResult | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'measuring')
      watch = watchProcesses({
        baseline: child.pid,
        broker: ctx.pids.broker,
        loadgen: process.pid,
        gateway: ctx.pids.gateway,
      });
    else if (line.startsWith('{')) result = JSON.parse(line) as BaselineResult;
  }
  const usage = watch?.stop();
  if (!result) throw new Error('the baseline worker failed (see its stderr above)');
  return {
    durationS: result.durationS,
    records: result.records,
    recordsPerS: result.recordsPerS,
    requestsPerS: result.sendsPerS,
    latencyMs: result.latencyMs,
    errors: result.errors,
    ...(usage ? { cpuPct: usage.cpuPct, rssMaxMb: usage.rssMaxMb } : {}),
  };
}

/** Runs both sides in this round's order; the baseline only when asked. */
export async function bothSides(
  ctx: BenchContext,
  gw: () => Promise<Measured>,
  base: () => Promise<Measured>,
): Promise<RoundResult> {
  if (!ctx.baseline) return { gateway: await gw() };
  if (ctx.gatewayFirst) {
    const gateway = await gw();
    return { gateway, baseline: await base() };
  }
  const baseline = await base();
  return { gateway: await gw(), baseline };
}

/** Median over rounds of one number picked from a side. */
export function med(
  rounds: readonly RoundResult[],
  side: 'gateway' | 'baseline',
  pick: (m: Measured) => number | undefined,
): number | undefined {
  const xs = rounds
    .map((r) => (r[side] ? pick(r[side]) : undefined))
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return xs.length ? median(xs) : undefined;
}

/** A gateway-vs-baseline row: medians of both sides and their ratio (median of per-round ratios). */
export function ratioRow(
  id: string,
  metric: string,
  unit: string,
  rounds: readonly RoundResult[],
  pick: (m: Measured) => number | undefined,
  target: string,
  ok?: (ratio: number) => boolean,
): Row {
  const gateway = med(rounds, 'gateway', pick);
  const baseline = med(rounds, 'baseline', pick);
  const perRound = rounds
    .map((r) =>
      r.gateway && r.baseline ? (pick(r.gateway) ?? Number.NaN) / (pick(r.baseline) ?? Number.NaN) : Number.NaN,
    )
    .filter(Number.isFinite);
  const ratio = perRound.length ? median(perRound) : undefined;
  return {
    id,
    metric,
    unit,
    ...(gateway !== undefined ? { gateway } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    target,
    ...(ok && ratio !== undefined ? { ok: ok(ratio) } : {}),
  };
}

/** CPU milliseconds that process `proc` (a key of `cpuPct`) spent per 1,000 records of a side's timed run. */
export const cpuPer1000 = (proc: string) => (m: Measured) =>
  m.cpuPct?.[proc] !== undefined && m.records ? ((m.cpuPct[proc]! / 100) * m.durationS * 1e6) / m.records : undefined;

/** CPU milliseconds a side's own process spent per 1,000 records (less sensitive to a busy machine than rates). */
export function cpuPerRecordsRow(id: string, rounds: readonly RoundResult[]): Row {
  const gateway = med(rounds, 'gateway', cpuPer1000('gateway'));
  const baseline = med(rounds, 'baseline', cpuPer1000('baseline'));
  return {
    id,
    metric: 'CPU per 1,000 records: gateway process vs kafkajs process',
    unit: 'ms',
    ...(gateway !== undefined ? { gateway } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(gateway !== undefined && baseline !== undefined ? { ratio: gateway / baseline } : {}),
    target: 'report',
  };
}

/** Context row: CPU of the gateway vs the baseline process (median % of one core). */
export function cpuRow(id: string, rounds: readonly RoundResult[]): Row {
  const gateway = med(rounds, 'gateway', (m) => m.cpuPct?.gateway);
  const baseline = med(rounds, 'baseline', (m) => m.cpuPct?.baseline);
  const broker = med(rounds, 'gateway', (m) => m.cpuPct?.broker);
  return {
    id,
    metric: 'CPU: gateway process vs baseline process',
    unit: '% of a core',
    ...(gateway !== undefined ? { gateway } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    target: '—',
    ...(broker !== undefined ? { note: `broker ${Math.round(broker)}% during the gateway run` } : {}),
  };
}
