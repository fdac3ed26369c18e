/**
 * What a benchmark runs against, started and stopped by the runner itself: one real broker on free ports (the
 * local-kafka launcher), its topics, and the gateway as a separate Node process (its RSS and CPU are its own).
 * The gateway runs from a fresh `tsc` build under load/.build (plain `node`, as in production); `--tsx` runs
 * src/main.ts through tsx instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { startKafka, type LocalKafka } from '../../deploy/local-kafka/kafka.mjs';
import { bundleGateway } from '../../scripts/bundle/bundle.mjs';
import { YOUNG_GENERATION_FLAG } from '../../src/young-generation.js';
import { portsToListenOnLater } from '../../test/helpers/ports.js';

const { Kafka, logLevel } = kafkajs;

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_DIR = path.join(ROOT, 'load/.build');
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** `brokerProps`: server.properties entries over the bench's own (a probe's experiment on the broker). */
export async function startBroker(brokerProps: Record<string, string> = {}): Promise<LocalKafka> {
  return startKafka({
    log: (m) => log(`kafka: ${m}`),
    heapMb: 1024,
    // The launcher tunes the JVM for a fast start (C1 only); a benchmark wants the full JIT.
    jvmOpts: ['-XX:TieredStopAtLevel=4'],
    // Bench topics take GBs: let retention delete old segments while the run goes on.
    brokerProps: { 'log.retention.check.interval.ms': 5000, 'log.segment.bytes': 64 * 1024 * 1024, ...brokerProps },
  });
}

export async function createTopics(brokers: string, topics: Record<string, number>): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.entries(topics).filter(([t]) => !existing.has(t));
    if (missing.length)
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map(([topic, numPartitions]) => ({
          topic,
          numPartitions,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.bytes', value: String(256 * 1024 * 1024) }],
        })),
      });
  } finally {
    await admin.disconnect();
  }
}

let building: Promise<boolean> | undefined;

/**
 * Compiles src/ to load/.build (seconds with TypeScript 7) and bundles it into load/.build/bundle as `npm run build`
 * does (what the image runs); false when the compiler failed to emit. Once per process: gateways started at the same
 * time (probe-c1's two replicas) share one build — each building its own, one replica found the bundle folder
 * emptied by the other's build and started the unbundled modules.
 */
export function buildGateway(): Promise<boolean> {
  building ??= build();
  return building;
}

async function build(): Promise<boolean> {
  const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
  const r = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', BUILD_DIR, '--sourceMap', 'false'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  // Type errors still emit (noEmitOnError is off); only a missing main.js means the build is unusable.
  const ok =
    spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(BUILD_DIR, 'main.js'))})`])
      .status === 0;
  if (r.status !== 0)
    log(
      `tsc reported problems (${ok ? 'output emitted anyway' : 'no output'}): ${(r.stdout + r.stderr).split('\n').slice(0, 3).join(' | ')}`,
    );
  if (ok) await bundleGateway(BUILD_DIR);
  return ok;
}

/** A build's entry file: its bundle, as it ships, when the build has one (builds from before 2026-12-04 do not). */
export function gatewayEntry(buildDir: string): string {
  const bundled = path.join(buildDir, 'bundle', 'main.js');
  return existsSync(bundled) ? bundled : path.join(buildDir, 'main.js');
}

/** A port for a gateway started next (below the ephemeral range, as the tests pick theirs: test/helpers/ports.ts). */
export async function freePort(): Promise<number> {
  return (await portsToListenOnLater(1))[0]!;
}

export interface GatewayProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** SIGTERM (graceful: a --cpu-prof profile is written on the way out), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export interface GatewayProcessOptions {
  brokers: string;
  /** Run src/main.ts through tsx instead of the compiled build. */
  tsx?: boolean;
  /** Reuse load/.build as it is (experiments on the compiled output); default: compile src/ first. */
  noBuild?: boolean;
  /** Run this compiled build as it is instead of load/.build (a folder inside the repository, for node_modules). */
  buildDir?: string;
  /** Write a V8 CPU profile of the whole run into this folder. */
  cpuProfDir?: string;
  env?: Record<string, string>;
  /** Listen here (replicas that must know each other's addresses before they start); default a free port. */
  port?: number;
  /** Run on this Node binary instead of this process's (load/probe-p4.ts compares runtimes). */
  node?: string;
  /** Node options before the entry file (e.g. `--import` a preload). */
  nodeArgs?: string[];
}

export async function startGatewayProcess(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const port = o.port ?? (await freePort());
  const buildDir = o.buildDir ?? BUILD_DIR;
  const useBuild =
    !o.tsx && (o.noBuild || o.buildDir ? existsSync(path.join(buildDir, 'main.js')) : await buildGateway());
  const entry = useBuild ? gatewayEntry(buildDir) : undefined;
  const nodeArgs = [
    // As the gateway ships (src/young-generation.ts); a --max-semi-space-size in o.nodeArgs comes later and wins.
    YOUNG_GENERATION_FLAG,
    ...(o.nodeArgs ?? []),
    ...(o.cpuProfDir
      ? (mkdirSync(o.cpuProfDir, { recursive: true }), ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`])
      : []),
    ...(entry ? [entry] : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')]),
  ];
  const child = spawn(o.node ?? process.execPath, nodeArgs, {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: o.brokers,
      HOST: '127.0.0.1',
      PORT: String(port),
      AUTH_MODE: 'none',
      LOG_LEVEL: 'info',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...o.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('gateway not ready within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`gateway pid ${child.pid} ready at ${url} (${entry ? path.relative(ROOT, entry) : 'tsx'})`);
  return {
    url,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Reads one number from the gateway's /metrics (sum over series matching the name and label filter). */
export async function scrapeSum(url: string, name: string, labelFilter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labelFilter && !rest.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
