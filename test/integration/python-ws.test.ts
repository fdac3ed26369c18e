// The Python WebSocket suite (test/python/test_ws.py): a real Python service (websocket-client) joins a consumer
// group over /ws with manual acks; records produced through REST arrive intact, acks become Kafka commits, and a
// reconnect with the same group redelivers exactly the unacknowledged records.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ROOT, ensurePythonEnv } from '../../scripts/python-env.mjs';
import type { Gateway } from '../../src/server.js';
import { startWsGateway } from '../helpers/ws.js';

let python: string;
let gw: Gateway;

beforeAll(async () => {
  // First run on a machine creates .venv and installs the pinned requirements (tens of seconds).
  // Short consumer timings, so the group's rebalance on reconnect takes about a second.
  [python, gw] = await Promise.all([ensurePythonEnv(), startWsGateway()]);
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

it('passes the Python WebSocket suite (websocket-client: group mode, manual acks, reconnect without redelivery)', async () => {
  const { code, output } = await run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join('test', 'python', 'test_ws.py')], {
    ...process.env,
    GATEWAY_URL: gw.url,
    KAFKA_BROKERS: inject('kafkaBrokers'),
    PYTHONDONTWRITEBYTECODE: '1',
  });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  expect(output).toMatch(/\b1 passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
