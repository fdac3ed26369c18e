/**
 * What an idle gateway holds after a burst of load (docs/performance.md, "Memory after load"): a fresh gateway
 * (compiled build) gets P1's requests (100 records × 100 B, 16 connections) as fast as it answers for --load
 * seconds, then nothing for --idle seconds; RSS (private and file-backed) and V8's heap (from /metrics) are read
 * before, at the end of the load, and every 5 s while idle. Node/V8 flags for the gateway with --node-args (e.g.
 * --node-args=--max-old-space-size=64), to see which of them bound what is kept and what they cost in CPU.
 *
 *   npx tsx load/probe-after-load.ts [--load 15] [--idle 30] [--rate 800] [--node-args=…] [--node /path/to/node]
 *
 * --node runs the gateway on another binary, or a wrapper that execs node: e.g. one that first moves itself into a
 * memory cgroup, to see the gateway as a pod with a memory limit sees it (V8 sizes its heap from that limit).
 *
 * Wrap in the bench lock: flock /tmp/kgw-bench.lock ...
 */
import { parseArgs } from './lib/args.js';
import { createTopics, scrapeSum, startBroker, startGatewayProcess } from './lib/env.js';
import { openLoopHttp } from './lib/http-open-loop.js';
import { JSON_V2, produceBody } from './lib/payload.js';
import { cpuSeconds, machineLoad, rssPartsMb } from './lib/proc.js';

const args = parseArgs(process.argv.slice(2));
const loadS = args.num('load', 15);
const idleS = args.num('idle', 30);
const rate = args.num('rate', 800);
const nodeArgs = args.str('node-args', '').split(' ').filter(Boolean);
const topic = 'probe-after-load';
const log = (m: string) => void process.stderr.write(`[after-load] ${m}\n`);

const kafka = await startBroker();
const brokers = kafka.bootstrap.PLAINTEXT;
const node = args.str('node', '');
const gateway = await startGatewayProcess({ brokers, noBuild: true, nodeArgs, ...(node ? { node } : {}) });
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
async function sample(label: string): Promise<void> {
  const rss = rssPartsMb(gateway.pid);
  const heapTotal = await scrapeSum(gateway.url, 'nodejs_heap_size_total_bytes');
  const heapUsed = await scrapeSum(gateway.url, 'nodejs_heap_size_used_bytes');
  const external = await scrapeSum(gateway.url, 'nodejs_external_memory_bytes');
  log(
    `${label}: RSS ${(rss.anon + rss.file + rss.shmem).toFixed(1)} MiB (private ${rss.anon.toFixed(1)}, file ${rss.file.toFixed(1)}); ` +
      `V8 heap ${mib(heapTotal)} MiB committed, ${mib(heapUsed)} used; external ${mib(external)}`,
  );
}
try {
  await createTopics(brokers, { [topic]: 3 });
  log(`node ${node || process.execPath}, args: ${nodeArgs.join(' ') || '(none)'}; load average ${machineLoad().load1}`);
  await new Promise((r) => setTimeout(r, 3000));
  await sample('idle before load');
  const cpu0 = cpuSeconds(gateway.pid);
  const r = await openLoopHttp({
    url: `${gateway.url}/topics/${topic}`,
    headers: { 'content-type': JSON_V2, accept: 'application/vnd.kafka.v2+json' },
    body: produceBody(100, 100),
    rate,
    durationS: loadS,
    connections: 16,
  });
  const cpu = cpuSeconds(gateway.pid) - cpu0;
  log(
    `load: ${r.requestsPerS.toFixed(0)} req/s, errors ${r.non2xx + r.errors}, CPU ${((cpu * 1e6) / (r.ok * 100)).toFixed(2)} µs per record`,
  );
  await sample('end of load');
  for (let t = 5; t <= idleS; t += 5) {
    await new Promise((res) => setTimeout(res, 5000));
    await sample(`idle ${t} s after`);
  }
} finally {
  await gateway.stop();
  await kafka.stop();
}
