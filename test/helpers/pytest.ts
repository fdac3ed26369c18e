// Runs pytest files from test/python with the repo's venv, without blocking this process's event loop (the gateway
// under test lives in it). The wrappers pass the gateway's URL and anything else the Python side reads.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../scripts/python-env.mjs';

export interface PytestResult {
  code: number | null;
  output: string;
}

/** `python -m pytest -q <paths under test/python> [extra args]` with GATEWAY_URL/KAFKA_BROKERS and `env` set. */
export function runPytest(
  python: string,
  files: string[],
  env: NodeJS.ProcessEnv,
  extraArgs: string[] = [],
): Promise<PytestResult> {
  const args = [
    '-m',
    'pytest',
    '-q',
    '-p',
    'no:cacheprovider',
    ...files.map((f) => path.join('test', 'python', f)),
    ...extraArgs,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd: ROOT,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
