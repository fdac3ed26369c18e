/**
 * `npm run bench` — docs/performance.md's scenarios side by side in one run, on one broker started here (free ports),
 * with the gateway in a child process and each baseline in its own process. Several rounds, alternating which
 * side goes first; medians and ratios; a table, the raw JSON and a chart under load/results/.
 *
 *   npm run bench -- [--duration 5] [--warmup 1.5] [--rounds 3] [--scenarios M1,P1,P2,P3,P4,P5,M2]
 *                    [--p5-records 1000000] [--tsx | --no-build] [--cpu-prof] [--no-baseline] [--update-docs]
 *                    [--gateway-env NAME=value,...] [--gateway-node /path]   (another node for the gateway, or a
 *                    wrapper that execs node, e.g. inside a memory cgroup: docs/performance.md, "In a pod")
 *                    [--gateway-node-args='--no-memory-reducer ...']   (node/V8 flags for the gateway, after the
 *                    ones it ships with; V8's own flags are not accepted in NODE_OPTIONS)
 *
 * Durations are shorter than the scenarios' nominal 20 s so a full run stays near 5 minutes; raise --duration for
 * steadier numbers. Never part of the test suite.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOnSupportedNode } from '../scripts/node-runtime.mjs';
import { keyValues, parseArgs } from './lib/args.js';
import {
  BUILD_DIR,
  createTopics,
  gatewayEntry,
  ROOT,
  startBroker,
  startGatewayProcess,
  type GatewayProcess,
} from './lib/env.js';
import { machineLoad } from './lib/proc.js';
import { markdownTable, svgChart, svgToPng, type ChartBar } from './lib/report.js';
import { RESULTS_DOC, withBenchRun } from './lib/results-doc.js';
import { DEFAULT_SCENARIOS, scenarios } from './scenarios/index.js';
import { med } from './scenarios/common.js';
import type { BenchContext, RoundResult, Row } from './scenarios/types.js';
import { summarizeProfile } from './profile-summary.js';

// On an end-of-life `node` (20 here) this re-runs itself on Node 24 from npm: the gateway it measures then runs
// on a supported runtime too (it is started with this process's Node). docs/runtime.md.
await runOnSupportedNode(import.meta.url, 'bench', ['--import', 'tsx']);

const args = parseArgs(process.argv.slice(2));
const durationS = args.num('duration', 5);
const warmupS = args.num('warmup', 1.5);
const rounds = args.num('rounds', 3);
const selected = args.list('scenarios', DEFAULT_SCENARIOS).map((s) => s.toUpperCase());
const registry = scenarios({ p5Records: args.num('p5-records', 1_000_000) });
const outDir = path.resolve(ROOT, args.str('out', 'load/results'));
const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

for (const id of selected)
  if (!registry.has(id)) throw new Error(`unknown scenario ${id} (known: ${[...registry.keys()].join(', ')})`);

async function main(): Promise<void> {
  const before = machineLoad();
  log(
    `machine: ${before.cores} cores, load average ${before.load1} (other work on the machine skews absolute numbers; ratios hold up better)`,
  );
  if (before.load1 > before.cores) log('warning: the machine is busy; results will be noisy');
  const started = Date.now();
  const kafka = await startBroker();
  const brokers = kafka.bootstrap.PLAINTEXT;
  let gateway: GatewayProcess | undefined;
  const stopAll = async () => {
    await gateway?.stop().catch(() => {});
    await kafka.stop().catch(() => {});
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const results = new Map<string, RoundResult[]>();
  const failures: { id: string; round: number; error: string }[] = [];
  const profileDir = args.bool('cpu-prof') ? path.join(outDir, 'profiles', stamp()) : undefined;
  try {
    const topics = Object.assign({}, ...selected.map((id) => registry.get(id)!.topics ?? {})) as Record<string, number>;
    await createTopics(brokers, topics);
    gateway = await startGatewayProcess({
      brokers,
      tsx: args.bool('tsx'),
      noBuild: args.bool('no-build'),
      env: gatewayEnv(args.str('gateway-env', '')),
      ...(profileDir ? { cpuProfDir: profileDir } : {}),
      ...(args.str('gateway-node-args', '') ? { nodeArgs: args.str('gateway-node-args', '').split(/\s+/) } : {}),
      ...(args.str('gateway-node', '') ? { node: args.str('gateway-node', '') } : {}),
    });
    for (let round = 1; round <= rounds; round++) {
      const ctx: BenchContext = {
        brokers,
        gatewayUrl: gateway.url,
        gatewayEnv: gatewayEnv(args.str('gateway-env', '')),
        pids: { gateway: gateway.pid, ...(kafka.nodes[0]?.pid ? { broker: kafka.nodes[0].pid } : {}) },
        durationS,
        warmupS,
        gatewayFirst: round % 2 === 1,
        baseline: !args.bool('no-baseline'),
        round,
        param: (name, def) => args.num(name, def),
        option: (name, def) => args.str(name, def),
        log,
      };
      for (const id of selected) {
        log(`round ${round}/${rounds}: ${id} (${ctx.gatewayFirst ? 'gateway first' : 'baseline first'})`);
        try {
          const load1 = machineLoad().load1;
          const r = { ...(await registry.get(id)!.round(ctx)), load1 };
          (results.get(id) ?? results.set(id, []).get(id)!).push(r);
          const g = r.gateway?.recordsPerS;
          const b = r.baseline?.recordsPerS;
          const perBatch = r.gateway?.extra?.recordsPerBatch;
          if (g !== undefined || b !== undefined)
            log(
              `  ${id}: gateway ${g?.toFixed(0) ?? '—'} rec/s${perBatch ? ` (${perBatch.toFixed(0)} records/batch)` : ''}, baseline ${b?.toFixed(0) ?? '—'} rec/s`,
            );
        } catch (e) {
          failures.push({ id, round, error: e instanceof Error ? e.message : String(e) });
          log(`  ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  } finally {
    await stopAll();
  }

  const rows: Row[] = selected.flatMap((id) => registry.get(id)!.summarize(results.get(id) ?? [], results));
  const after = machineLoad();
  const table = markdownTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  const totalS = (Date.now() - started) / 1000;
  log(`done in ${totalS.toFixed(0)} s; load average before ${before.load1}, after ${after.load1}`);

  mkdirSync(outDir, { recursive: true });
  const name = freeName(outDir, stamp());
  const meta = {
    date: new Date().toISOString(),
    machine: {
      cores: before.cores,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      loadBefore: before.load1,
      loadAfter: after.load1,
    },
    node: process.version,
    kafka: kafkaVersion(),
    settings: {
      durationS,
      warmupS,
      rounds,
      scenarios: selected,
      // The entry file started: load/.build/bundle/main.js (as the image runs) since 2026-12-04, main.js before.
      gateway: args.bool('tsx') ? 'tsx' : path.relative(ROOT, gatewayEntry(BUILD_DIR)),
      gatewayEnv: gatewayEnv(args.str('gateway-env', '')),
      gatewayNodeArgs: args.str('gateway-node-args', ''),
    },
    totalS,
  };
  const json = { ...meta, rows, failures, rounds: Object.fromEntries(results) };
  writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(outDir, `${name}.md`), `${table}\n`);
  const svg = chart(
    results,
    rows,
    `${before.cores} cores (shared), Node ${process.version}, Kafka ${meta.kafka}, ${rounds} rounds × ${durationS} s, medians`,
  );
  const svgFile = path.join(outDir, `${name}.svg`);
  writeFileSync(svgFile, svg);
  const png = svgToPng(svgFile, svgFile.replace(/\.svg$/, '.png'));
  log(`wrote ${path.relative(ROOT, path.join(outDir, name))}.{json,md,svg${png ? ',png' : ''}}`);
  if (args.bool('update-docs')) updateDocs(table, meta, svgFile, png);
  if (failures.length)
    log(`${failures.length} scenario run(s) failed: ${failures.map((f) => `${f.id}#${f.round}`).join(', ')}`);

  if (profileDir) {
    const files = (await import('node:fs')).readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files)
      process.stdout.write(
        `\nCPU profile ${path.relative(ROOT, path.join(profileDir, f))}:\n${summarizeProfile(path.join(profileDir, f), 25)}\n`,
      );
  }
}

/** `--gateway-env KAFKA_PRODUCER_LINGER_MS=0,LOG_LEVEL=warn`: settings for the gateway process. */
const gatewayEnv = (spec: string) => keyValues(spec, '--gateway-env');

function stamp(): string {
  return new Date().toISOString().slice(0, 16).replace(':', '-');
}

/** `name`, or `name-2`, `name-3`… when a run of the same minute already wrote its results (never overwritten). */
function freeName(dir: string, name: string): string {
  let n = name;
  for (let i = 2; existsSync(path.join(dir, `${n}.json`)); i++) n = `${name}-${i}`;
  return n;
}

function kafkaVersion(): string {
  try {
    const m = /<kafka\.version>([^<]+)</.exec(readFileSync(path.join(ROOT, 'deploy/local-kafka/pom.xml'), 'utf8'));
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const GATEWAY = '#1f77b4';
const BASELINE = '#ff7f0e';
const CEILING = '#2ca02c';

function chart(results: ReadonlyMap<string, RoundResult[]>, rows: readonly Row[], subtitle: string): string {
  const bar = (group: string, label: string, value: number | undefined, color: string): ChartBar[] =>
    value === undefined || !Number.isFinite(value) ? [] : [{ group, label, value, color }];
  const get = (
    id: string,
    side: 'gateway' | 'baseline',
    pick: (m: NonNullable<RoundResult['gateway']>) => number | undefined,
  ) => med(results.get(id) ?? [], side, pick);
  const rps = (m: NonNullable<RoundResult['gateway']>) => m.recordsPerS;
  const p99 = (m: NonNullable<RoundResult['gateway']>) => m.latencyMs?.p99;
  const throughput = [
    ...bar('P1 100×100 B', 'gateway (HTTP)', get('P1', 'gateway', rps), GATEWAY),
    ...bar('P1 100×100 B', 'kafkajs direct', get('P1', 'baseline', rps), BASELINE),
    ...bar('P1 100×100 B', 'Java client (P5 ProducerPerformance)', get('P5', 'baseline', rps), CEILING),
    ...bar('P2 100×1 KB', 'gateway (HTTP)', get('P2', 'gateway', rps), GATEWAY),
    ...bar('P2 100×1 KB', 'kafkajs direct', get('P2', 'baseline', rps), BASELINE),
    ...bar('P3 1×100 B', 'gateway (HTTP)', get('P3', 'gateway', rps), GATEWAY),
    ...bar('P3 1×100 B', 'kafkajs direct', get('P3', 'baseline', rps), BASELINE),
  ];
  const latency = [
    ...bar('P3 64 conns', 'gateway', get('P3', 'gateway', p99), GATEWAY),
    ...bar('P3 64 conns', 'kafkajs', get('P3', 'baseline', p99), BASELINE),
    ...bar('P4 200/s', 'gateway', get('P4', 'gateway', p99), GATEWAY),
    ...bar('P4 200/s', 'kafkajs', get('P4', 'baseline', p99), BASELINE),
  ];
  const memory = [
    ...bar('M1', 'idle after start', rows.find((r) => r.id === 'M1')?.gateway, GATEWAY),
    ...bar('M2', 'peak during P1', rows.find((r) => r.id === 'M2')?.gateway, GATEWAY),
  ];
  const panels = [
    { title: 'Produce throughput (records/s, higher is better)', unit: 'rec/s', bars: throughput },
    { title: 'p99 latency per request / send (ms, lower is better)', unit: 'ms', bars: latency },
    { title: 'Gateway RSS (MiB)', unit: 'MiB', bars: memory },
  ].filter((p) => p.bars.length > 0);
  return svgChart('kafka-gateway: HTTP produce vs direct kafkajs vs Kafka’s Java client', subtitle, panels);
}

/** Replaces the generated part of docs/performance.md (between the bench markers) with this run's table and chart. */
function updateDocs(
  table: string,
  meta: { date: string; settings: { durationS: number; rounds: number } },
  svgFile: string,
  png: boolean,
): void {
  const doc = path.join(ROOT, RESULTS_DOC);
  if (!existsSync(doc)) return log(`${RESULTS_DOC} not found; not updated`);
  const image = png ? svgFile.replace(/\.svg$/, '.png') : svgFile;
  const imageName = `performance${path.extname(image)}`;
  const text = withBenchRun(readFileSync(doc, 'utf8'), {
    date: meta.date,
    rounds: meta.settings.rounds,
    durationS: meta.settings.durationS,
    table,
    image: imageName,
  });
  if (text === undefined) return log(`${RESULTS_DOC} has no bench markers; not updated`);
  writeFileSync(path.join(path.dirname(doc), imageName), readFileSync(image));
  writeFileSync(doc, text);
  log(`updated the results table in ${RESULTS_DOC}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
