/**
 * What one request allocates (docs/performance.md, "P4"): the gateway (the bundle, as it ships) runs with a preload
 * that starts V8's sampling heap profiler on SIGUSR2 and writes the profile on the next SIGUSR2, with the objects
 * collected since included. After a warm-up, this probe sends --requests requests of the kind asked (one record per
 * request by default, P4's body) at a steady --rate between the two signals and prints the bytes allocated per
 * request, by function (self) and by package or area.
 *
 *   npx tsx load/probe-alloc.ts [--requests 4000] [--rate 400] [--records 1] [--top 40] [--build-dir DIR]
 *
 * --build-dir runs a compiled build as it is, e.g. a copy of load/.build without its bundle folder: the modules
 * unbundled, so that each allocation is named by its package (in the bundle most are "ours and bundled packages").
 *   (wrap in `flock /tmp/kgw-bench.lock` on a shared machine)
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from './lib/args.js';
import { createTopics, startBroker, startGatewayProcess } from './lib/env.js';
import { openLoopHttp } from './lib/http-open-loop.js';
import { JSON_V2, produceBody } from './lib/payload.js';
import { area } from './profile-summary.js';
import { waitFor } from '../test/helpers/wait.js';

const args = parseArgs(process.argv.slice(2));
const REQUESTS = args.num('requests', 4000);
const RATE = args.num('rate', 400);
const RECORDS = args.num('records', 1);
const TOP = args.num('top', 40);
const BUILD_DIR = args.str('build-dir', '');

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: Node[];
}

const PRELOAD = `
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new inspector.Session();
session.connect();
let on = false;
process.on('SIGUSR2', () => {
  if (!on) {
    on = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    }, () => writeFileSync(process.env.ALLOC_OUT + '.started', ''));
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, r) => {
    writeFileSync(process.env.ALLOC_OUT, JSON.stringify(err ? { error: String(err) } : r.profile));
    process.stderr.write('ALLOC written\\n');
  });
});
`;

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgw-alloc-'));
  const preload = path.join(dir, 'preload.mjs');
  const out = path.join(dir, 'profile.json');
  writeFileSync(preload, PRELOAD);
  const broker = await startBroker();
  try {
    const brokers = broker.bootstrap.PLAINTEXT!;
    await createTopics(brokers, { 'alloc-probe': 3 });
    const gw = await startGatewayProcess({
      brokers,
      nodeArgs: ['--import', preload],
      ...(BUILD_DIR ? { buildDir: path.resolve(BUILD_DIR) } : {}),
      env: { ALLOC_OUT: out },
    });
    try {
      const load = (n: number) =>
        openLoopHttp({
          url: `${gw.url}/topics/alloc-probe`,
          headers: { 'content-type': JSON_V2 },
          body: produceBody(RECORDS, 100),
          rate: RATE,
          durationS: n / RATE,
          connections: 8,
        });
      await load(Math.max(2000, REQUESTS / 2));
      gw.child.kill('SIGUSR2');
      // The profiler starts asynchronously in the gateway, which says so with a file.
      await waitFor('the sampling heap profiler to start', () => existsSync(`${out}.started`), { timeoutMs: 5000 });
      const r = await load(REQUESTS);
      const sent = r.ok + r.non2xx + r.errors;
      gw.child.kill('SIGUSR2');
      for (let i = 0; i < 100; i++) {
        try {
          const profile = JSON.parse(readFileSync(out, 'utf8')) as { head: Node };
          report(profile.head, sent, r.ok);
          return;
        } catch {
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      throw new Error('no profile written');
    } finally {
      await gw.stop();
    }
  } finally {
    await broker.stop();
  }
}

function report(head: Node, sent: number, ok: number) {
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  const walk = (n: Node) => {
    if (n.selfSize > 0) {
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`;
      byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
      const a = area(f.url, f.functionName);
      byArea.set(a, (byArea.get(a) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  walk(head);
  const kib = (b: number) => (b / 1024 / sent).toFixed(2);
  console.log(`\n${sent} requests (${ok} answered 2xx), ${RECORDS} record(s) each: ${kib(total)} KiB per request`);
  console.log('\nby area (KiB per request):');
  for (const [k, v] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`  ${kib(v).padStart(8)}  ${k}`);
  console.log(`\ntop ${TOP} functions by self allocation (KiB per request):`);
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`  ${kib(v).padStart(8)}  ${k}`);
}

await main();
