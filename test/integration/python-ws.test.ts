// The Python WebSocket suite (test/python/test_ws.py): a real Python service (websocket-client) joins a consumer
// group over /ws with manual acks; records produced through REST arrive intact, acks become Kafka commits, and a
// reconnect with the same group redelivers exactly the unacknowledged records.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import { runPytest } from '../helpers/pytest.js';
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

it('passes the Python WebSocket suite (websocket-client: group mode, manual acks, reconnect without redelivery)', async () => {
  const { code, output } = await runPytest(python, ['test_ws.py'], {
    GATEWAY_URL: gw.url,
    KAFKA_BROKERS: inject('kafkaBrokers'),
  });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  expect(output).toMatch(/\b1 passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
