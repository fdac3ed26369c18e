/**
 * CPU per record of two compiled builds of the gateway, measured at the same time: both run side by side on one
 * broker, each gets the same steady open-loop load of P1's requests (100 records × 100 B, 16 connections; P2's 1 KB with --value-bytes) in the
 * same windows, and each process's CPU is read over the window. Both meet the same machine at the same moments, so
 * their ratio holds up on a shared, busy machine where runs one after the other do not (docs/performance.md, "P5:
 * the gateway's CPU per record"). The rate is kept below what either build can carry, so both do the same work.
 * Run it both ways round (--a and --b swapped) to see that the side a build sits on does not matter: the geometric
 * mean of b ÷ a and 1 / (the swapped run's b ÷ a) is the answer.
 *
 *   npx tsx load/probe-build-ab.ts --a load/.build-before --b load/.build [--rate 300] [--duration 15] [--runs 4]
 *                                  [--value-bytes 100]   (1024: P2's records)
 *                                  [--a-node-args=…] [--b-node-args=--max-semi-space-size=32]   (Node/V8 flags per side,
 *                                  space-separated; with the same build on both sides this compares flags)
 *                                  [--a-node /path] [--b-node /path]   (another node binary per side, or a wrapper
 *                                  that execs node, e.g. inside a memory cgroup: docs/performance.md, "In a pod")
 *
 * Builds: `npx tsc -p tsconfig.build.json --outDir load/.build-<name> --sourceMap false` on each version (folders
 * inside the repository, so node_modules resolve). Wrap in the bench lock: flock /tmp/kgw-bench.lock ...
 */
import path from 'node:path';
import { parseArgs } from './lib/args.js';
import { createTopics, ROOT, startBroker, startGatewayProcess, type GatewayProcess } from './lib/env.js';
import { openLoopHttp } from './lib/http-open-loop.js';
import { JSON_V2, produceBody } from './lib/payload.js';
import { machineLoad, watchProcesses } from './lib/proc.js';
import { median } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const builds = {
  a: path.resolve(ROOT, args.str('a', 'load/.build-before')),
  b: path.resolve(ROOT, args.str('b', 'load/.build')),
};
const rate = args.num('rate', 300);
const durationS = args.num('duration', 15);
const runs = args.num('runs', 4);
const topic = 'probe-build-ab';
const valueBytes = args.num('value-bytes', 100);
const body = produceBody(100, valueBytes);
const log = (m: string) => void process.stderr.write(`[build-ab] ${m}\n`);

const kafka = await startBroker();
const brokers = kafka.bootstrap.PLAINTEXT;
const gateways: Partial<Record<'a' | 'b', GatewayProcess>> = {};
try {
  await createTopics(brokers, { [topic]: 3 });
  for (const side of ['a', 'b'] as const)
    gateways[side] = await startGatewayProcess({
      brokers,
      buildDir: builds[side],
      nodeArgs: args.str(`${side}-node-args`, '').split(' ').filter(Boolean),
      ...(args.str(`${side}-node`, '') ? { node: args.str(`${side}-node`, '') } : {}),
    });
  const load = (g: GatewayProcess, seconds: number) =>
    openLoopHttp({
      url: `${g.url}/topics/${topic}`,
      headers: { 'content-type': JSON_V2, accept: 'application/vnd.kafka.v2+json' },
      body,
      rate,
      durationS: seconds,
      connections: 16,
    });
  // Which side's requests are issued first alternates per run.
  const both = async (seconds: number, bFirst = false) => {
    if (!bFirst) return Promise.all([load(gateways.a!, seconds), load(gateways.b!, seconds)]);
    const [rb, ra] = await Promise.all([load(gateways.b!, seconds), load(gateways.a!, seconds)]);
    return [ra, rb] as const;
  };
  await both(3); // warm-up
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const load1 = machineLoad().load1;
    const watch = watchProcesses({ a: gateways.a!.pid, b: gateways.b!.pid }, 250, []);
    const t0 = performance.now();
    const [ra, rb] = await both(durationS, run % 2 === 0);
    const wallS = (performance.now() - t0) / 1000;
    const usage = watch.stop();
    // CPU milliseconds over the common window per 1,000 records answered 200.
    const perK = (cpuPct: number, ok: number) => (cpuPct * 10 * wallS) / ((ok * 100) / 1000);
    const ka = perK(usage.cpuPct.a!, ra.ok);
    const kb = perK(usage.cpuPct.b!, rb.ok);
    ratios.push(kb / ka);
    log(
      `run ${run} (load average ${load1}): a ${ra.requestsPerS.toFixed(0)} req/s, ${usage.cpuPct.a!.toFixed(1)}% of a core, ${ka.toFixed(2)} ms per 1,000 records; ` +
        `b ${rb.requestsPerS.toFixed(0)} req/s, ${usage.cpuPct.b!.toFixed(1)}%, ${kb.toFixed(2)} ms; b ÷ a ${(kb / ka).toFixed(3)}; errors ${ra.non2xx + ra.errors}/${rb.non2xx + rb.errors}`,
    );
  }
  log(
    `median b ÷ a CPU per record: ${median(ratios).toFixed(3)} (runs: ${ratios.map((r) => r.toFixed(3)).join(', ')})`,
  );
} finally {
  await Promise.allSettled([gateways.a?.stop(), gateways.b?.stop()]);
  await kafka.stop();
}
