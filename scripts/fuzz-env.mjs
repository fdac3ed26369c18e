#!/usr/bin/env node
// Makes sure the project's Python venv (.venv) has schemathesis (test/python/requirements-fuzz.txt). The venv itself
// belongs to scripts/python-env.mjs when it exists (its ensurePythonEnv); otherwise a plain `python3 -m venv`.
// A marker file inside the venv holds the hash of the requirements file, so a second run installs nothing.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REQUIREMENTS = join(root, 'test', 'python', 'requirements-fuzz.txt');

async function baseVenv() {
  const shared = join(root, 'scripts', 'python-env.mjs');
  if (existsSync(shared)) {
    const mod = await import(pathToFileURL(shared).href);
    if (typeof mod.ensurePythonEnv === 'function') {
      // It returns the venv's python (<venv>/bin/python).
      const python = await mod.ensurePythonEnv();
      if (typeof python === 'string' && existsSync(python)) return dirname(dirname(python));
    }
  }
  const venv = join(root, '.venv');
  if (!existsSync(join(venv, 'bin', 'python'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  return venv;
}

/** Returns the path of the `schemathesis` executable, installing it first when needed. */
export async function ensureFuzzEnv({ log = (m) => process.stderr.write(`[fuzz-env] ${m}\n`) } = {}) {
  const venv = await baseVenv();
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  const marker = join(venv, '.requirements-fuzz.sha256');
  const exe = join(venv, 'bin', 'schemathesis');
  if (!(existsSync(marker) && readFileSync(marker, 'utf8').trim() === hash && existsSync(exe))) {
    log(`installing ${REQUIREMENTS} into ${venv}`);
    execFileSync(
      join(venv, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    writeFileSync(marker, `${hash}\n`);
  }
  return exe;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${await ensureFuzzEnv()}\n`);
}
