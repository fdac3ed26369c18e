/**
 * C1 (docs/performance.md): the v2 consumer API. Two gateway replicas (their own processes, PEER_URLS pointing at each
 * other) behind a non-sticky round-robin balancer; 3 instances in one group on a 3-partition prefilled topic, each
 * looping `GET records?max_bytes=1MiB` and committing every batch (`POST offsets`, no body), against a direct kafkajs
 * consumer group of 3 (W3's baseline worker, the gateway's consumer settings). Both sides start timing once the
 * group settled (the HTTP side seeks its partitions back to the beginning then): rate = unique records ÷ time to the
 * last one. Also the p99 of a `records` call. Like the baseline, the HTTP client loop runs in a process of its own
 * (load/lib/http-consumer-worker.ts, counting records in one bit per offset as the baseline does); the balancer
 * stays in the runner.
 *
 * Each side first reads every record once untimed, in the same processes and in a group of its own (the HTTP client
 * then deletes its instances and makes new ones for the timed pass), and times its second pass: a round starts
 * new processes, and a pass of 200,000 records lasts about a second, so without it a round timed mostly code not
 * yet optimized (as P1–P4 time only after their warm-up). `--c1-warmup 0` times the first pass instead.
 *
 * The balancer is the tests' own (test/helpers/replicas.ts, in Node, in the runner's process) unless
 * `--c1-balancer nginx` puts nginx there (load/lib/nginx-balancer.ts: one process, as a deployment would have some
 * balancer); the result names which, and counts its CPU apart from the replicas'.
 *
 *   npm run bench -- --scenarios C1 [--c1-records 200000] [--c1-warmup 1] [--c1-balancer node|nginx]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { roundRobinProxy } from '../../test/helpers/replicas.js';
import { portsToListenOnLater } from '../../test/helpers/ports.js';
import { ROOT, startGatewayProcess } from '../lib/env.js';
import { nginxBalancer } from '../lib/nginx-balancer.js';
import type { GroupBaselineJob, GroupBaselineResult } from '../lib/group-baseline-worker.js';
import type { HttpConsumerJob, HttpConsumerResult } from '../lib/http-consumer-worker.js';
import { watchProcesses } from '../lib/proc.js';
import { bothSides, cpuPer1000, med, ratioRow } from './common.js';
import type { BenchContext, Measured, Row, Scenario } from './types.js';
import { prefill } from './ws-common.js';

const TOPIC = 'bench-c1';
const PARTITIONS = 3;
const MEMBERS = 3;
const MAX_BYTES = 1024 * 1024;
const CONSUMER = { maxBytes: 1024 * 1024, maxWaitTimeInMs: 500, sessionTimeout: 30_000, heartbeatInterval: 3_000 };
const TIMEOUT_MS = 180_000;
/** Both sides read everything once untimed before the timed pass (the default), or not (`--c1-warmup 0`). */
const warmup = (ctx: BenchContext) => ctx.param('c1-warmup', 1) > 0;
/** The balancer in front of the two replicas: the tests' own in Node (the default), or nginx. */
function balancerKind(ctx: BenchContext): 'node' | 'nginx' {
  const kind = ctx.option('c1-balancer', 'node');
  if (kind !== 'node' && kind !== 'nginx') throw new Error(`--c1-balancer is node or nginx, not ${kind}`);
  return kind;
}

/** The balancer C1 runs through: its URL, the pid whose CPU is its own, and a name for the result. */
async function startBalancer(ctx: BenchContext, targets: string[]) {
  if (balancerKind(ctx) === 'nginx') {
    const [port] = await portsToListenOnLater(1);
    const n = await nginxBalancer(targets, port!);
    ctx.log(`  C1: balancer ${n.version.replace(/^nginx version: /, '')} (one process)`);
    return { url: n.url, pid: n.pid, nginx: 1, close: n.close };
  }
  const p = await roundRobinProxy(targets);
  return { url: p.url, pid: process.pid, nginx: 0, close: p.close };
}

const sum =
  (...parts: ((m: Measured) => number | undefined)[]) =>
  (m: Measured) => {
    const xs = parts.map((p) => p(m));
    return xs.every((x) => x !== undefined) ? xs.reduce((a, b) => a! + b!, 0) : undefined;
  };
const fixed = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(2));

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
}

async function gatewaySide(
  ctx: BenchContext,
  expect: Record<number, [number, number]>,
  total: number,
): Promise<Measured> {
  const ports = await portsToListenOnLater(2); // distinct, named in each other's PEER_URLS
  const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
  const replicas = await Promise.all(
    ports.map((port) =>
      startGatewayProcess({
        brokers: ctx.brokers,
        port,
        noBuild: true,
        env: { PEER_URLS: peers, PEER_SECRET: 'bench-c1-peer-secret-of-at-least-32-bytes', LOG_LEVEL: 'warn' },
      }),
    ),
  );
  const proxy = await startBalancer(
    ctx,
    replicas.map((r) => r.url),
  );
  try {
    // The client makes its instances itself (load/lib/http-consumer-worker.ts), in a process of its own (as the
    // baseline runs): its JSON parsing is not the runner's.
    const job: HttpConsumerJob = {
      url: proxy.url,
      group: `bench-c1-${ctx.round}-${Date.now()}`,
      topic: TOPIC,
      members: MEMBERS,
      expect: Object.fromEntries(Object.entries(expect)),
      maxBytes: MAX_BYTES,
      timeoutMs: TIMEOUT_MS,
      warmup: warmup(ctx),
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'load/lib/http-consumer-worker.ts'), JSON.stringify(job)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let watch: ReturnType<typeof watchProcesses> | undefined;
    let result: HttpConsumerResult | undefined;
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line === 'started')
        watch = watchProcesses({
          replica1: replicas[0]!.pid,
          replica2: replicas[1]!.pid,
          client: child.pid,
          balancer: proxy.pid,
          broker: ctx.pids.broker,
        });
      else if (line.startsWith('{')) result = JSON.parse(line) as HttpConsumerResult;
    }
    const usage = watch?.stop() ?? { cpuPct: {}, rssMaxMb: {} };
    if (!result) throw new Error('the C1 HTTP client failed (see its stderr above)');
    const seconds = (result.lastAt - result.startAt) / 1000;
    const lat = result.latencies.sort((a, b) => a - b);
    return {
      durationS: seconds,
      records: result.unique,
      recordsPerS: result.unique / seconds,
      latencyMs: {
        p50: lat[Math.floor(lat.length / 2)] ?? 0,
        p90: lat[Math.floor(lat.length * 0.9)] ?? 0,
        p99: p99(lat),
        mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length),
        max: lat[lat.length - 1] ?? 0,
        count: lat.length,
      },
      errors: result.errors + (total - result.unique),
      cpuPct: usage.cpuPct,
      rssMaxMb: usage.rssMaxMb,
      extra: { duplicates: result.duplicates, calls: lat.length, nginx: proxy.nginx },
    };
  } finally {
    await proxy.close();
    await Promise.allSettled(replicas.map((r) => r.stop()));
  }
}

async function baselineSide(ctx: BenchContext, expect: Record<number, [number, number]>): Promise<Measured> {
  const job: GroupBaselineJob = {
    brokers: ctx.brokers,
    topic: TOPIC,
    group: `bench-c1-base-${ctx.round}-${Date.now()}`,
    members: MEMBERS,
    expect: Object.fromEntries(Object.entries(expect)),
    ...CONSUMER,
    timeoutMs: TIMEOUT_MS,
    warmup: warmup(ctx),
  };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'load/lib/group-baseline-worker.ts'), JSON.stringify(job)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let watch: ReturnType<typeof watchProcesses> | undefined;
  let result: GroupBaselineResult | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'started') watch = watchProcesses({ baseline: child.pid, broker: ctx.pids.broker });
    else if (line.startsWith('{')) result = JSON.parse(line) as GroupBaselineResult;
  }
  const usage = watch?.stop() ?? { cpuPct: {}, rssMaxMb: {} };
  if (!result) throw new Error('the C1 baseline failed (see its stderr above)');
  return {
    durationS: (result.lastAt - result.startAt) / 1000,
    records: result.uniqueAfterStart,
    recordsPerS: result.recordsPerS,
    errors: 0,
    cpuPct: usage.cpuPct,
    rssMaxMb: usage.rssMaxMb,
    extra: { duplicates: result.duplicates },
  };
}

export const C1: Scenario = {
  id: 'C1',
  title: 'v2 consumer API: 3 instances on 3 partitions through 2 replicas in round-robin, vs a kafkajs group of 3',
  topics: { [TOPIC]: PARTITIONS },
  async round(ctx) {
    const records = ctx.param('c1-records', 200_000);
    const expect = await prefill(ctx.brokers, TOPIC, records, 100, ctx.log);
    const total = Object.values(expect).reduce((a, [lo, hi]) => a + hi - lo, 0);
    const r = await bothSides(
      ctx,
      () => gatewaySide(ctx, expect, total),
      () => baselineSide(ctx, expect),
    );
    ctx.log(
      `  C1: ${total.toLocaleString('en')} records; HTTP ${r.gateway?.recordsPerS?.toFixed(0)} rec/s (records p99 ${r.gateway?.latencyMs?.p99.toFixed(0)} ms), kafkajs ${r.baseline?.recordsPerS?.toFixed(0) ?? '—'} rec/s`,
    );
    return r;
  },
  summarize(rounds): Row[] {
    const p = med(rounds, 'gateway', (m) => m.latencyMs?.p99);
    const gw = (pick: (m: Measured) => number | undefined) => med(rounds, 'gateway', pick);
    const base = (pick: (m: Measured) => number | undefined) => med(rounds, 'baseline', pick);
    const coresBusy = (m: Measured) => Object.values(m.cpuPct ?? {}).reduce((a, b) => a + b, 0) / 100;
    const balancer = rounds.some((r) => r.gateway?.extra?.nginx) ? 'nginx' : "the tests' own, in Node";
    const replicas = gw(sum(cpuPer1000('replica1'), cpuPer1000('replica2')));
    const kafkajs = base(cpuPer1000('baseline'));
    return [
      {
        ...ratioRow(
          'C1',
          'records/s: 3 HTTP consumer instances (GET records 1 MiB, commit per batch, 2 replicas round-robin) vs kafkajs group of 3',
          'rec/s',
          rounds,
          (m) => m.recordsPerS,
          '≥ 0.5× baseline',
          (x) => x >= 0.5,
        ),
        note: `balancer: ${balancer}`,
      },
      {
        id: 'C1',
        metric: 'CPU per 1,000 records: both replicas vs the kafkajs process',
        unit: 'ms',
        ...(replicas !== undefined ? { gateway: replicas } : {}),
        ...(kafkajs !== undefined ? { baseline: kafkajs } : {}),
        target: 'report',
        note: [
          `HTTP client ${fixed(gw(cpuPer1000('client')))}`,
          `balancer ${fixed(gw(cpuPer1000('balancer')))}`,
          `broker ${fixed(gw(cpuPer1000('broker')))} vs ${fixed(base(cpuPer1000('broker')))} ms`,
          `cores busy ${fixed(gw(coresBusy))} vs ${fixed(base(coresBusy))}`,
        ].join('; '),
      },
      {
        id: 'C1',
        metric: 'p99 of a GET records call',
        unit: 'ms',
        ...(p !== undefined ? { gateway: p } : {}),
        target: 'report',
      },
    ];
  },
};
