// The v3 records Python suite (test/python/v3_records_suite.py) on its own: kafka-python reads back each key/value
// type byte for byte, and 100,000-record streams come from `requests` (a generator body) and from curl. Its file name
// keeps it out of python.test.ts's folder run: it needs this gateway, whose REQUEST_TIMEOUT_MS lets a 100,000-record
// stream take more than the default 30 s on a loaded machine (a stream must end within it; see docs/v3-records.md).
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { runPytest } from '../helpers/pytest.js';

let python: string;
let gw: Gateway;

beforeAll(async () => {
  [python, gw] = await Promise.all([ensurePythonEnv(), startTestGateway({ REQUEST_TIMEOUT_MS: '120000' })]);
}, 600_000);
afterAll(async () => {
  await gw?.close();
});

it('passes v3_records_suite.py (requests, curl, kafka-python)', async () => {
  const { code, output } = await runPytest(
    python,
    ['v3_records_suite.py'],
    { GATEWAY_URL: gw.url, KAFKA_BROKERS: inject('kafkaBrokers') },
    ['-s'],
  );
  console.log(
    output
      .split('\n')
      .filter((l) => /records\/s|passed|failed/.test(l))
      .join('\n'),
  );
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  expect(output).toMatch(/\b3 passed\b/);
}, 600_000);
