// The Python SSE suite (test/python/test_sse.py): a script reads GET /sse with `requests` (stream=True), stops
// half-way, and resumes with the Last-Event-ID of the last event it read: every record once, in order per partition.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import type { Gateway } from '../../src/server.js';
import { runPytest } from '../helpers/pytest.js';
import { startWsGateway } from '../helpers/ws.js';

let python: string;
let gw: Gateway;

beforeAll(async () => {
  [python, gw] = await Promise.all([ensurePythonEnv(), startWsGateway()]);
}, 600_000);
afterAll(async () => {
  await gw?.close();
});

it('passes the Python SSE suite (requests stream=True, resume with Last-Event-ID)', async () => {
  const { code, output } = await runPytest(python, ['test_sse.py'], { GATEWAY_URL: gw.url });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  expect(output).toMatch(/\b2 passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
