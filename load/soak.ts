/**
 * `npm run soak`: both soaks (load/soak-consumers.ts, load/soak-ws-group.ts) on each Kafka client, one after the
 * other, short; `.ci/run` runs it after the test suites. Each soak is a fresh bed (broker, three replicas,
 * balancer) and fails on any record lost, unread or read against the docs' promises, or any answer, frame or close
 * code the docs do not name (docs/testing.md, "Soaks"). The seed (random unless given) fixes the churn's choices,
 * not the timing: it is printed, so a failure's run can be repeated with the same choices.
 *
 *   npm run soak [-- --minutes 2] [--kafka-clients platformatic,kafkajs] [--seed N] [--limit-s S]
 *
 * --limit-s: how long one soak may take before it is stopped and failed (default: its minutes + 300 s).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runOnSupportedNode } from '../scripts/node-runtime.mjs';
import { parseArgs } from './lib/args.js';
import { ROOT } from './lib/env.js';

// On an end-of-life `node` this re-runs itself on Node 24 from npm, as `npm test` and `npm run bench` do: the
// replicas are started with this process's Node.
await runOnSupportedNode(import.meta.url, 'soak', ['--import', 'tsx']);

const args = parseArgs(process.argv.slice(2));
const minutes = args.num('minutes', 2);
const clients = args.list('kafka-clients', ['platformatic', 'kafkajs']);
const seed = args.num('seed', 1 + Math.floor(Math.random() * 100_000));
const log = (m: string) => process.stderr.write(`[soak] ${m}\n`);

const SOAKS: { name: string; file: string; args: string[] }[] = [
  { name: 'HTTP consumers', file: 'load/soak-consumers.ts', args: ['--clients', '6', '--restart-every-s', '15'] },
  { name: 'WebSocket groups', file: 'load/soak-ws-group.ts', args: ['--sockets', '5', '--restart-every-s', '15'] },
];

// A soak that has not finished by then is stuck (its own run, the drain's 120 s and its clean-up take far less): it
// fails, and its whole process group (replicas, broker) is killed, so CI never waits for it.
const limitS = args.num('limit-s', minutes * 60 + 300);
let running: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (running !== undefined) process.kill(-running, 'SIGKILL');
    process.exit(1);
  });

function run(file: string, soakArgs: string[], client: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, file), '--minutes', String(minutes), '--seed', String(seed), ...soakArgs],
      { cwd: ROOT, stdio: 'inherit', env: { ...process.env, KGW_TEST_KAFKA_CLIENT: client }, detached: true },
    );
    running = child.pid;
    const timer = setTimeout(() => {
      log(`${file} has not finished within ${limitS} s: stopping it and everything it started`);
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, limitS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const results: string[] = [];
let failed = 0;
log(`seed ${seed}, ${minutes} min each, Kafka clients: ${clients.join(', ')}`);
for (const client of clients)
  for (const soak of SOAKS) {
    const t0 = performance.now();
    log(`${soak.name} on ${client}...`);
    const code = await run(soak.file, soak.args, client);
    const line = `${soak.name} on ${client}: ${code === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
    log(line);
    results.push(line);
    if (code !== 0) failed++;
  }
log(`seed ${seed}:\n  ${results.join('\n  ')}`);
process.exitCode = failed > 0 ? 1 : 0;
