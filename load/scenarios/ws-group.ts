/**
 * W3 (docs/performance.md): group mode as fast as possible. A topic of 3 partitions is prefilled once; each round, 3
 * sockets (one client process) join a fresh consumer group through the gateway from the earliest offset with manual
 * acks (cumulative, every `--w3-ack-every` records per partition; window `--w3-window`), and a direct kafkajs
 * consumer group of 3 members (its own process, the gateway's consumer settings) reads the same records. Both sides
 * hold their members paused until the group has settled (every member owns a partition), then resume together:
 * rate = unique records received after the resume ÷ (last receipt − resume), so joins and rebalances are not counted.
 *
 * W3b is the same with the opt-in batch frame (`"batch": {"maxRecords": --w3b-batch}`, default 500): the client
 * acks the last offset of a `records` frame once `--w3-ack-every` records of its partition came since its last ack.
 *
 * The baseline is kafkajs as users install it; `--w3-baseline-patched 1` loads the gateway's kafkajs patches into it
 * too (src/kafka/kafkajs-patches.ts: among them the record decoder), so both sides decode alike.
 *
 *   npm run bench -- --scenarios W3,W3b [--w3-records 1000000 --w3-ack-every 100 --w3-window 5000 --w3b-batch 500]
 *                    [--w3-baseline-patched 1] [--w3-baseline-platformatic 1]
 *
 * `--w3-baseline-platformatic 1` makes the baseline a @platformatic/kafka consumer group instead
 * (platformatic-group-baseline-worker.ts; Node ≥ 22.22): the library's own reading speed, for KAFKA_CLIENT.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from '../lib/env.js';
import { watchProcesses } from '../lib/proc.js';
import type { GroupBaselineJob, GroupBaselineResult } from '../lib/group-baseline-worker.js';
import { WsClients } from '../lib/ws-clients.js';
import { bothSides, cpuPer1000, med, ratioRow } from './common.js';
import type { BenchContext, Measured, Row, Scenario } from './types.js';
import { prefill, watchAll, wsBase } from './ws-common.js';

const TOPIC = 'bench-w3';
const PARTITIONS = 3;
const MEMBERS = 3;
/** The gateway's consumer defaults (docs/configuration.md), used by the baseline too. */
const CONSUMER = { maxBytes: 1024 * 1024, maxWaitTimeInMs: 500, sessionTimeout: 30_000, heartbeatInterval: 3_000 };
const TIMEOUT_MS = 180_000;

async function gatewaySide(
  ctx: BenchContext,
  expect: Record<number, [number, number]>,
  total: number,
  batch: number,
): Promise<Measured> {
  const group = `bench-w3-gw-${ctx.round}-${Date.now()}`;
  const ackEvery = ctx.param('w3-ack-every', 100);
  const window = ctx.param('w3-window', 5000);
  const clients = await WsClients.start(
    {
      url: `${wsBase(ctx)}/ws`,
      mode: 'group',
      ackEvery,
      expect: Object.fromEntries(Object.entries(expect)),
      subscribe: [
        {
          type: 'subscribe',
          id: 'w3',
          mode: 'group',
          topics: [TOPIC],
          group,
          from: 'earliest',
          ack: 'manual',
          window,
          format: 'string',
          ...(batch > 0 ? { batch: { maxRecords: batch } } : {}),
        },
      ],
      connectConcurrency: MEMBERS,
      holdUntilPartitions: PARTITIONS,
    },
    MEMBERS,
    1,
    ctx.log,
  );
  let watch: ReturnType<typeof watchAll> | undefined;
  try {
    await clients.started(TIMEOUT_MS);
    watch = watchAll(ctx, clients.pids);
    await clients.done(TIMEOUT_MS);
    const usage = watch.stop();
    const r = await clients.report();
    const seconds = (r.lastAt! - r.startAt!) / 1000;
    return {
      durationS: seconds,
      records: r.uniqueAfterStart,
      recordsPerS: r.uniqueAfterStart / seconds,
      errors: r.errors + (total - r.unique),
      cpuPct: usage.cpuPct,
      rssMaxMb: usage.rssMaxMb,
      extra: {
        duplicates: r.duplicates,
        acks: r.acks,
        ackEvery,
        window,
        batch,
        beforeStart: r.unique - r.uniqueAfterStart,
      },
    };
  } finally {
    watch?.stop();
    await clients.stop().catch(() => clients.kill());
  }
}

async function baselineSide(ctx: BenchContext, expect: Record<number, [number, number]>): Promise<Measured> {
  const job: GroupBaselineJob = {
    brokers: ctx.brokers,
    topic: TOPIC,
    group: `bench-w3-base-${ctx.round}-${Date.now()}`,
    members: MEMBERS,
    expect: Object.fromEntries(Object.entries(expect)),
    ...CONSUMER,
    timeoutMs: TIMEOUT_MS,
    patched: ctx.param('w3-baseline-patched', 0) === 1,
  };
  const platformatic = ctx.param('w3-baseline-platformatic', 0) === 1;
  const worker = platformatic ? 'platformatic-group-baseline-worker.ts' : 'group-baseline-worker.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'load/lib', worker), JSON.stringify(job)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let watch: ReturnType<typeof watchProcesses> | undefined;
  let result: GroupBaselineResult | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'started')
      watch = watchProcesses({ baseline: child.pid, broker: ctx.pids.broker, gateway: ctx.pids.gateway });
    else if (line.startsWith('{')) result = JSON.parse(line) as GroupBaselineResult;
  }
  const usage = watch?.stop() ?? { cpuPct: {}, rssMaxMb: {} };
  if (!result) throw new Error('the W3 baseline failed (see its stderr above)');
  const seconds = (result.lastAt - result.startAt) / 1000;
  return {
    durationS: seconds,
    records: result.uniqueAfterStart,
    recordsPerS: result.recordsPerS,
    errors: 0,
    cpuPct: usage.cpuPct,
    rssMaxMb: usage.rssMaxMb,
    extra: {
      duplicates: result.duplicates,
      beforeStart: result.unique - result.uniqueAfterStart,
      ...(platformatic ? { platformatic: 1 } : {}),
    },
  };
}

/** W3 (a `record` frame per record) and W3b (`records` frames of up to `--w3b-batch`, default 500). */
function groupScenario(id: 'W3' | 'W3B', batched: boolean): Scenario {
  return {
    id,
    title: batched
      ? 'group mode as W3, with batched `records` frames (subscribe `batch`), vs a direct kafkajs consumer group'
      : 'group mode: 3 sockets on 3 partitions, manual acks, as fast as possible, vs a direct kafkajs consumer group',
    topics: { [TOPIC]: PARTITIONS },
    async round(ctx) {
      // 1,000,000: at ~300k records/s each side's window is ~3 s. With 300,000 (until 2026-12-03) it was ~1 s, of
      // which each round's start (new sessions, code not yet optimized) took a large share, and the ratio moved
      // 0.62–0.86× within one run (docs/performance.md, "W3: fetch responses decoded by the gateway").
      const records = ctx.param('w3-records', 1_000_000);
      const batch = batched ? ctx.param('w3b-batch', 500) : 0;
      const expect = await prefill(ctx.brokers, TOPIC, records, 100, ctx.log);
      const total = Object.values(expect).reduce((a, [lo, hi]) => a + hi - lo, 0);
      const r = await bothSides(
        ctx,
        () => gatewaySide(ctx, expect, total, batch),
        () => baselineSide(ctx, expect),
      );
      ctx.log(
        `  ${id}: ${total.toLocaleString('en')} records; gateway ${r.gateway?.recordsPerS?.toFixed(0)} rec/s, ${baselineName(r.baseline)} ${r.baseline?.recordsPerS?.toFixed(0) ?? '—'} rec/s`,
      );
      return r;
    },
    summarize(rounds): Row[] {
      const cpuG = med(rounds, 'gateway', (m) => m.cpuPct?.gateway);
      const cpuC = med(rounds, 'gateway', (m) => m.cpuPct?.clients);
      const cpuB = med(rounds, 'baseline', (m) => m.cpuPct?.baseline);
      const machine = med(rounds, 'gateway', (m) => m.cpuPct?.machine);
      const dup = med(rounds, 'gateway', (m) => m.extra?.duplicates);
      const base = baselineName(rounds.find((r) => r.baseline)?.baseline);
      // CPU per record (µs, the same number as ms per 1,000): what each process costs, whatever share of the machine
      // it got.
      const usG = med(rounds, 'gateway', cpuPer1000('gateway'));
      const usC = med(rounds, 'gateway', cpuPer1000('clients'));
      const usB = med(rounds, 'baseline', cpuPer1000('baseline'));
      return [
        {
          ...ratioRow(
            id,
            batched
              ? `records/s: 3 sockets (group, manual acks, \`records\` frames) vs ${base} group of 3`
              : `records/s: 3 sockets (group, manual acks) vs ${base} group of 3`,
            'rec/s',
            rounds,
            (m) => m.recordsPerS,
            '≥ 0.8× baseline',
            (x) => x >= 0.8,
          ),
          ...(dup !== undefined ? { note: `duplicates (rebalance redelivery): ${dup.toFixed(0)}` } : {}),
        },
        {
          id,
          metric: `CPU: gateway process vs ${base} process`,
          unit: '% of a core',
          ...(cpuG !== undefined ? { gateway: cpuG } : {}),
          ...(cpuB !== undefined ? { baseline: cpuB } : {}),
          target: 'report',
          note: [
            cpuC !== undefined ? `WebSocket client process ${cpuC.toFixed(0)}%` : '',
            machine !== undefined ? `whole machine ${machine.toFixed(0)}% of 200%` : '',
          ]
            .filter(Boolean)
            .join(', '),
        },
        {
          id,
          metric: `CPU per record: gateway process vs ${base} process`,
          unit: 'µs',
          ...(usG !== undefined ? { gateway: usG } : {}),
          ...(usB !== undefined ? { baseline: usB } : {}),
          ...(usG !== undefined && usB ? { ratio: usG / usB } : {}),
          target: 'report',
          note: usC !== undefined ? `WebSocket client process ${usC.toFixed(1)} µs per record` : '',
        },
      ];
    },
  };
}

/** Which library the baseline group ran on (see `--w3-baseline-platformatic`). */
function baselineName(m: Measured | undefined): string {
  return m?.extra?.platformatic ? '@platformatic/kafka' : 'kafkajs';
}

export const W3 = groupScenario('W3', false);
export const W3B = groupScenario('W3B', true);
