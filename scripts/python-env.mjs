#!/usr/bin/env node
/**
 * The Python virtualenv of the cross-language tests: `.venv` at the repo root with test/python/requirements.txt.
 * Created when missing; reinstalled when requirements.txt (or the Python version) changed since the last install
 * (a hash marker inside the venv); otherwise left alone, so it costs nothing on the next run. pip's own progress
 * is shown. Concurrent callers (several test files, `npm test`) wait for one another via a lock folder.
 *
 *   node scripts/python-env.mjs            # prepare it, print the python path
 *   import { ensurePythonEnv } from './scripts/python-env.mjs'; const python = await ensurePythonEnv();
 *
 * PYTHON picks the interpreter that creates the venv (default: python3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = path.join(ROOT, '.venv');
export const REQUIREMENTS = path.join(ROOT, 'test/python/requirements.txt');
const MARKER = path.join(VENV_DIR, '.requirements.sha256');
const LOCK = path.join(os.tmpdir(), `python-env-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);

/** Path of the venv's python (POSIX layout; Scripts\python.exe on Windows). */
export function venvPython(venv = VENV_DIR) {
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

function run(cmd, args, { log, quiet }) {
  return new Promise((resolve, reject) => {
    log(`$ ${[cmd, ...args].join(' ')}`);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 2, 2] });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${out ? `:\n${out.slice(-4000)}` : ''}`,
          ),
        );
    });
  });
}

function pythonVersion(python) {
  const r = spawnSync(python, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function wantedHash(python) {
  return createHash('sha256')
    .update(fs.readFileSync(REQUIREMENTS))
    .update('\0')
    .update(pythonVersion(python) ?? '')
    .digest('hex');
}

function upToDate() {
  const py = venvPython();
  if (!fs.existsSync(py) || !pythonVersion(py)) return false;
  try {
    return fs.readFileSync(MARKER, 'utf8').trim() === wantedHash(py);
  } catch {
    return false;
  }
}

/** Take the lock folder; a lock whose owner process is gone is taken over. Waits up to `timeoutMs`. */
async function lock(log, timeoutMs = 15 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return () => fs.rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let owner;
    try {
      owner = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch {
      owner = undefined;
    }
    let alive = true;
    if (owner) {
      try {
        process.kill(owner, 0);
      } catch {
        alive = false;
      }
    } else {
      // Owner not written yet, or left nothing: stale if old.
      try {
        alive = Date.now() - fs.statSync(LOCK).mtimeMs < 30_000;
      } catch {
        continue;
      }
    }
    if (!alive) {
      fs.rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK} (held by pid ${owner})`);
    if (!told) log(`waiting for another process preparing the venv (pid ${owner ?? '?'})`);
    told = true;
    await delay(250);
  }
}

/**
 * Makes sure .venv exists with the pinned requirements and returns the path of its python.
 * @param {{ quiet?: boolean, log?: (msg: string) => void }} [opts]
 */
export async function ensurePythonEnv(opts = {}) {
  const quiet = opts.quiet ?? false;
  const log = opts.log ?? ((msg) => process.stderr.write(`[python-env] ${msg}\n`));
  if (upToDate()) return venvPython();
  const release = await lock(log);
  try {
    if (upToDate()) return venvPython();
    const base = process.env.PYTHON || 'python3';
    if (!pythonVersion(venvPython())) {
      if (!pythonVersion(base)) throw new Error(`no Python interpreter '${base}' (set PYTHON to one, 3.9 or newer)`);
      log(`creating ${path.relative(ROOT, VENV_DIR)} with ${base} ${pythonVersion(base)?.split(' ')[0]}`);
      fs.rmSync(VENV_DIR, { recursive: true, force: true });
      await run(base, ['-m', 'venv', VENV_DIR], { log, quiet });
    }
    const py = venvPython();
    log(`installing ${path.relative(ROOT, REQUIREMENTS)}`);
    const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', REQUIREMENTS];
    await run(py, quiet ? [...pip, '-q'] : pip, { log, quiet });
    fs.writeFileSync(MARKER, `${wantedHash(py)}\n`);
    log('ready');
    return py;
  } finally {
    release();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensurePythonEnv({ quiet: process.argv.includes('--quiet') }).then(
    (py) => process.stdout.write(`${py}\n`),
    (e) => {
      process.stderr.write(`[python-env] ${e.message}\n`);
      process.exit(1);
    },
  );
}
