#!/usr/bin/env node
/**
 * `npm test`: everything, starting what it needs. Prepares the Kafka jars and the Python venv (visible
 * progress), runs the unit and integration suites with vitest (the integration suite's globalSetup starts its
 * own broker on free ports), then prints one closing line `tests: N passed, N failed[, N skipped]`.
 * Extra arguments go to vitest (e.g. `npm test -- test/unit`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureJars } from '../deploy/local-kafka/kafka.mjs';
import { runOnSupportedNode } from './node-runtime.mjs';

// On an end-of-life `node` (Node 20 on these machines) this re-runs itself on Node 24 from npm, so the suite runs on
// a supported runtime and every `node`/`npx` it starts does too: docs/runtime.md.
await runOnSupportedNode(import.meta.url, 'test');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[test] ${msg}\n`);
const t = () => performance.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function stage(name, fn) {
  const t0 = t();
  log(`${name}...`);
  const r = await fn();
  log(`${name}: done in ${secs(t() - t0)}`);
  return r;
}

async function main() {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  await stage('Kafka jars', () => ensureJars({ log: (m) => log(`kafka: ${m}`) }));
  const pyEnv = path.join(ROOT, 'scripts/python-env.mjs');
  if (fs.existsSync(pyEnv)) {
    const { ensurePythonEnv } = await import(pyEnv);
    await stage('Python venv', () => ensurePythonEnv());
  }
  const report = path.join(ROOT, 'test/artifacts/vitest-report.json');
  fs.mkdirSync(path.dirname(report), { recursive: true });
  fs.rmSync(report, { force: true });
  const args = [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ];
  const code = await stage(
    'vitest',
    () =>
      new Promise((resolve) => {
        const child = spawn('npx', args, { stdio: 'inherit', cwd: ROOT, env: process.env });
        child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
      }),
  );
  let summary = 'tests: 0 passed, 0 failed';
  try {
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    if (r.numTotalTests === 0) {
      log('no test ran');
      process.exitCode = 1;
    }
    if (r.numFailedTestSuites > 0 && r.numFailedTests === 0) log(`${r.numFailedTestSuites} test file(s) failed to run`);
  } catch {
    log('no vitest report was written');
    process.exitCode = 1;
  }
  process.stdout.write(`\n${summary}\n`);
  if (code !== 0) process.exitCode = code;
}

main().catch((e) => {
  log(`failed: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
