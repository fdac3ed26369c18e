// The Python client (examples/clients/python: requests + websocket-client, from the repo's .venv) against the real
// gateway and broker: produce JSON and binary, metadata, a manual-ack group subscription, typed errors.
import path from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import type { Gateway } from '../../src/server.js';
import { CLIENTS_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

const PY_DIR = path.join(CLIENTS_DIR, 'python');
let python: string;
let gw: Gateway;

beforeAll(async () => {
  // First run on a machine creates .venv (test/python/requirements.txt holds requests and websocket-client).
  [python, gw] = await Promise.all([ensurePythonEnv(), startClientsGateway()]);
}, 600_000);
afterAll(async () => {
  await gw?.close();
});

it('the Python client produces, reads metadata, consumes its records over WebSocket (group, manual ack) and types errors', async () => {
  await runClientCheck('python', gw, inject('kafkaBrokers'), python, ['check.py'], {
    cwd: PY_DIR,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
}, 300_000);
