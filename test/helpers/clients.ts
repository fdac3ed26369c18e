// Shared by test/integration/clients-*.test.ts: runs a client program in another language against an in-process
// gateway and checks, straight from Kafka, that the offsets its WebSocket subscription acknowledged were committed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { endOffsets } from '../helpers/gateway.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { startWsGateway } from '../helpers/ws.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The example clients users read (examples/clients/{python,go,java}); the tests run them as they are. */
export const CLIENTS_DIR = path.join(ROOT, 'examples/clients');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

/**
 * Runs a command without blocking this process's event loop (the gateway under test lives in it), collecting
 * stdout+stderr. A command still running after `timeoutMs` is killed (SIGKILL) and reported by its signal.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[harness] ${cmd} still running after ${opts.timeoutMs} ms: killed\n`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: performance.now() - started });
    });
  });
}

/** Runs a build step; throws with its output when it fails. Logs how long it took (first runs download). */
export async function build(
  what: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 15 * 60_000, ...opts });
  if (r.code !== 0)
    throw new Error(
      `${what}: \`${cmd} ${args.join(' ')}\` failed (${r.signal ?? `exit ${r.code}`}):\n${r.output.slice(-6000)}`,
    );
  process.stderr.write(`[clients] ${what}: ${(r.ms / 1000).toFixed(1)} s\n`);
}

/** The Go example module, and `bin/<name>` built from its package `pkg` (go.sum committed: no module is fetched). */
export const GO_DIR = path.join(CLIENTS_DIR, 'go');
export async function buildGo(name: string, pkg = '.'): Promise<string> {
  const bin = path.join(GO_DIR, 'bin', name);
  const env = { GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -buildvcs=false`.trim() };
  await build(`go build ${pkg}`, 'go', ['build', '-o', bin, pkg], { cwd: GO_DIR, env });
  return bin;
}

/** The Java example project; `compile` also copies the runtime dependencies to target/dependency (see pom.xml). */
export const JAVA_DIR = path.join(CLIENTS_DIR, 'java');
export const JAVA_CLASSPATH = ['target/classes', 'target/dependency/*'].join(path.delimiter);
/**
 * Vitest runs the three Java test files in parallel workers, all compiling into the same `target/`: `flock` (util-linux)
 * makes them take turns, so one never reads classes another is rewriting. The lock file lives outside `target/`
 * (maven's `clean` would delete it) and is ignored by git.
 */
export function buildJava(): Promise<void> {
  const mvn = ['mvn', '-B', '-ntp', '-q', '-Dstyle.color=never', 'compile'];
  return build('mvn compile', 'flock', [path.join(JAVA_DIR, '.build.lock'), ...mvn], { cwd: JAVA_DIR });
}

/** The gateway the clients talk to: free loopback port, no auth, consumer timings short enough for tests. */
export function startClientsGateway(): Promise<Gateway> {
  return startWsGateway();
}

/** A fresh 3-partition topic and a fresh group name for one client run. */
export async function freshTopic(brokers: string, lang: string): Promise<{ topic: string; group: string }> {
  const topic = uniqueTopic(`clients-${lang}`);
  await createTopic(brokers, topic, 3);
  return { topic, group: uniqueTopic(`clients-${lang}-group`) };
}

/** The group's committed offset per partition of `topic` (-1 where nothing was committed). */
export async function committed(brokers: string, group: string, topic: string): Promise<Record<number, number>> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Object.fromEntries(res[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs a client check program (GATEWAY_URL, TOPIC, GROUP in its environment) and asserts: exit 0, its closing
 * line, and that every record it acknowledged over the WebSocket is committed for its group in Kafka.
 */
export async function runClientCheck(
  lang: string,
  gw: Gateway,
  brokers: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const { topic, group } = await freshTopic(brokers, lang);
  const r = await run(cmd, args, {
    ...opts,
    timeoutMs: 240_000,
    env: { ...opts.env, GATEWAY_URL: gw.url, TOPIC: topic, GROUP: group, TIMEOUT_SECONDS: '180' },
  });
  // What the client checked, in the test's output either way.
  process.stdout.write(`[${lang} client] ${r.output.trimEnd().replaceAll('\n', `\n[${lang} client] `)}\n`);
  expect(r.code, `${lang} client exit code (output above)`).toBe(0);
  expect(r.output).toMatch(new RegExp(`${lang} client: all checks passed`));
  const end = await endOffsets(brokers, topic);
  expect(
    Object.values(end).reduce((a, b) => a + b, 0),
    'records the client wrote',
  ).toBeGreaterThan(0);
  await expect.poll(() => committed(brokers, group, topic), { timeout: 30_000, interval: 200 }).toEqual(end);
  return r;
}
