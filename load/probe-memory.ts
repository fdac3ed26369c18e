/**
 * Each module's share of M1's idle memory (docs/performance.md, "Idle memory"): a fresh `node --expose-gc` process
 * (no tsx, nothing of this script) imports the gateway's packages one after another, then the compiled gateway
 * (load/.build/server.js, loaded but not started), and after each import runs a memory-reducing full GC (it also
 * shrinks the young generation the imports grew, as src/startup-memory.ts does; Node 20 ignores that) and reads
 * `process.memoryUsage()` and /proc/self/status. Each row's share is the difference to the row before: the order is
 * fixed, so a package that another already loaded (zod under @hono/zod-openapi) counts where it first loads.
 *
 *   npx tsx load/probe-memory.ts                        # on this script's node
 *   npx tsx load/probe-memory.ts /path/to/node ...      # on each node binary given (e.g. Node 20, 22 and 24)
 *   PROBE_NODE_FLAGS=--max-semi-space-size=1 npx tsx load/probe-memory.ts   # V8 flags for the probed process
 *
 * Needs a build in load/.build (any `npm run bench` leaves one; `npx tsc -p tsconfig.build.json --outDir load/.build`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_DIR, ROOT } from './lib/env.js';

/** What M1's gateway loads, in an order where each step adds one thing. */
const STEPS: [string, string][] = [
  ['pino', 'pino'],
  ['prom-client', 'prom-client'],
  ['zod', 'zod'],
  ['hono', 'hono'],
  ['@hono/node-server', '@hono/node-server'],
  ['@hono/zod-openapi', '@hono/zod-openapi'],
  ['ws', 'ws'],
  ['@opentelemetry/api', '@opentelemetry/api'],
  ['kafkajs (patched, through the gateway)', pathToFileURL(path.join(BUILD_DIR, 'kafka/kafkajs-library.js')).href],
  ['@platformatic/kafka', '@platformatic/kafka'],
  ['the gateway (server.js, not started)', pathToFileURL(path.join(BUILD_DIR, 'server.js')).href],
];

const child = `
import { readFileSync } from 'node:fs';
const steps = JSON.parse(process.argv[1]);
const kb = (s, n) => Number(new RegExp(n + ':\\\\s+(\\\\d+) kB').exec(s)[1]) / 1024;
const read = (name) => {
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const m = process.memoryUsage();
  const s = readFileSync('/proc/self/status', 'utf8');
  return { name, rss: kb(s, 'VmRSS'), anon: kb(s, 'RssAnon'), file: kb(s, 'RssFile'), heapUsed: m.heapUsed / 2 ** 20,
    heapTotal: m.heapTotal / 2 ** 20, external: m.external / 2 ** 20 };
};
const rows = [read('bare node')];
for (const [name, spec] of steps) {
  try {
    const mod = await import(spec);
    if (name.startsWith('kafkajs')) mod.kafkajs();
    rows.push(read(name));
  } catch (e) {
    rows.push(read(name + ' (failed: ' + String(e.message).split('\\n')[0] + ')'));
  }
}
process.stdout.write(JSON.stringify(rows));
`;

interface Reading {
  name: string;
  rss: number;
  anon: number;
  file: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

if (!existsSync(path.join(BUILD_DIR, 'server.js'))) {
  process.stderr.write(`no build in ${BUILD_DIR}: run \`npx tsc -p tsconfig.build.json --outDir load/.build\`\n`);
  process.exit(1);
}
const nodes = process.argv.length > 2 ? process.argv.slice(2) : [process.execPath];
const flags = (process.env.PROBE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const f = (x: number) => x.toFixed(1).padStart(6);
for (const node of nodes) {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const out = execFileSync(node, ['--expose-gc', ...flags, '--input-type=module', '-e', child, JSON.stringify(STEPS)], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  const rows = JSON.parse(out) as Reading[];
  process.stdout.write(`\nNode ${version}${flags.length ? ` ${flags.join(' ')}` : ''} (MiB; Δ = added by this step)\n`);
  process.stdout.write('| step | RSS | RssAnon | RssFile | heap used | Δ RSS | Δ RssAnon | Δ heap used |\n');
  process.stdout.write('|---|---:|---:|---:|---:|---:|---:|---:|\n');
  rows.forEach((r, i) => {
    const p = rows[i - 1];
    const d = (k: keyof Reading) => (p ? f((r[k] as number) - (p[k] as number)) : '');
    process.stdout.write(
      `| ${r.name} | ${f(r.rss)} | ${f(r.anon)} | ${f(r.file)} | ${f(r.heapUsed)} | ${d('rss')} | ${d('anon')} | ${d('heapUsed')} |\n`,
    );
  });
}
