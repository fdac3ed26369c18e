// The Python cross-language suite (test/python): a real Python client produces through this gateway and reads
// back straight from Kafka with kafka-python, computing partitions with its own murmur2.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ROOT, ensurePythonEnv } from '../../scripts/python-env.mjs';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';

let python: string;
let gw: Gateway;

beforeAll(async () => {
  // First run on a machine creates .venv and installs the pinned requirements (tens of seconds).
  [python, gw] = await Promise.all([ensurePythonEnv(), startTestGateway()]);
}, 600_000);
afterAll(async () => {
  await gw?.close();
});

/** Runs a command without blocking this process's event loop (the gateway under test lives in it). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

it('passes the Python produce suite (requests + kafka-python, murmur2 computed in Python)', async () => {
  const { code, output } = await run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join('test', 'python'), '--ignore', path.join('test', 'python', 'test_ws.py')], {
    ...process.env,
    GATEWAY_URL: gw.url,
    KAFKA_BROKERS: inject('kafkaBrokers'),
    PYTHONDONTWRITEBYTECODE: '1',
  });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  // pytest's closing line: at least the produce tests ran, none failed or was skipped.
  expect(output).toMatch(/\b\d+ passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
