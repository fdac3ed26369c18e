// The Python cross-language suite (test/python): a real Python client produces through this gateway and reads
// back straight from Kafka with kafka-python, computing partitions with its own murmur2.
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import { runPytest } from '../helpers/pytest.js';
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

it('passes the Python produce suite (requests + kafka-python, murmur2 computed in Python)', async () => {
  // test_ws.py and test_sse.py have their own wrappers (python-ws/-sse.test.ts); test_security.py skips itself without KGW_SECURITY.
  const { code, output } = await runPytest(
    python,
    [''],
    { GATEWAY_URL: gw.url, KAFKA_BROKERS: inject('kafkaBrokers') },
    ['--ignore', path.join('test', 'python', 'test_ws.py'), '--ignore', path.join('test', 'python', 'test_sse.py')],
  );
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  // pytest's closing line: at least the produce tests ran, none failed or was skipped.
  expect(output).toMatch(/\b\d+ passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
