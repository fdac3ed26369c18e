#!/usr/bin/env node
// Ensures a Helm binary for tests and chart work, without downloading release tarballs:
//   1. `helm` on PATH, 2. the project's cached build at .cache/bin/helm,
//   3. otherwise build it from the Go module proxy: GOBIN=.cache/bin go install helm.sh/helm/v3/cmd/helm@<version>.
// The first build takes a few minutes (module download + compile); later calls are instant.
// Usage: node scripts/helm.mjs [--print-path] [helm args...]   (no args: ensure and print the version)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Newest Helm 3.x on the Go proxy that builds with Go 1.26 (checked with `go list -m -versions helm.sh/helm/v3`). */
export const HELM_VERSION = process.env.HELM_VERSION ?? 'v3.22.0';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheBin = path.join(repoRoot, '.cache', 'bin');
const exe = process.platform === 'win32' ? 'helm.exe' : 'helm';

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `helm version` of a binary, e.g. "v3.22.0"; undefined when it cannot be run. */
function helmVersion(bin) {
  const r = spawnSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Helm's Makefile derives its default Kubernetes version from the k8s.io/client-go it is built with
 * (client-go v0.N → Kubernetes 1.N). Read that from the module's go.mod (downloaded by the Go toolchain anyway).
 */
function kubeVersionFor(go, env) {
  const info = JSON.parse(
    execFileSync(go, ['mod', 'download', '-json', `helm.sh/helm/v3@${HELM_VERSION}`], {
      cwd: repoRoot,
      env,
    }).toString(),
  );
  const gomod = readFileSync(info.GoMod, 'utf8');
  const m = /k8s\.io\/client-go v0\.(\d+)\./.exec(gomod);
  if (!m) throw new Error(`cannot find k8s.io/client-go in ${info.GoMod}`);
  return { major: '1', minor: m[1] };
}

function log(msg) {
  process.stderr.write(`[helm] ${msg}\n`);
}

let pending;

/**
 * Returns the path of a usable helm binary, building it from the Go proxy when none is found.
 * @param {{ quiet?: boolean }} [opts]
 * @returns {Promise<string>}
 */
export function ensureHelm(opts = {}) {
  pending ??= locateOrBuild(opts).finally(() => {
    pending = undefined;
  });
  return pending;
}

async function locateOrBuild({ quiet = false } = {}) {
  const say = quiet ? () => {} : log;
  const fromPath = onPath(exe);
  if (fromPath) {
    say(`using ${fromPath} (on PATH, ${helmVersion(fromPath) ?? 'version unknown'})`);
    return fromPath;
  }
  const cached = path.join(cacheBin, exe);
  if (isExecutable(cached)) {
    const have = helmVersion(cached);
    if (have === HELM_VERSION) {
      say(`using ${path.relative(repoRoot, cached)} (cached build, ${have})`);
      return cached;
    }
    say(`cached helm is ${have ?? 'unreadable'}, want ${HELM_VERSION}: rebuilding`);
  }
  const go = onPath(process.platform === 'win32' ? 'go.exe' : 'go');
  if (!go) {
    throw new Error('helm is not on PATH, not cached in .cache/bin, and Go is not installed to build it');
  }
  mkdirSync(cacheBin, { recursive: true });
  const target = `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`;
  say(`building ${target} with ${execFileSync(go, ['version']).toString().trim()} into .cache/bin`);
  say('first build downloads the modules and compiles: this takes a few minutes (about 3.5 min on 2 cores)');
  const started = Date.now();
  const env = { ...process.env, GOBIN: cacheBin, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' };
  // The same link-time settings as Helm's Makefile: without them `helm version` is blank and `helm template`
  // assumes Kubernetes v1.20, so charts with a kubeVersion constraint refuse to render.
  const kube = kubeVersionFor(go, env);
  const ldflags = [
    '-s',
    '-w',
    `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${kube.major}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${kube.minor}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${kube.major}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${kube.minor}`,
  ].join(' ');
  say(`default Kubernetes version for helm template/lint: v${kube.major}.${kube.minor}`);
  const ticker = quiet
    ? undefined
    : setInterval(() => say(`still building... ${Math.round((Date.now() - started) / 1000)} s`), 30_000);
  try {
    await new Promise((resolve, reject) => {
      const child = spawn(go, ['install', `-ldflags=${ldflags}`, target], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`go install ${target} failed (${signal ?? `exit ${code}`})`)),
      );
    });
  } finally {
    if (ticker) clearInterval(ticker);
  }
  if (!isExecutable(cached)) throw new Error(`go install finished but ${cached} is missing`);
  say(`built ${path.relative(repoRoot, cached)} in ${Math.round((Date.now() - started) / 1000)} s`);
  return cached;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  try {
    if (args[0] === '--print-path') {
      process.stdout.write(`${await ensureHelm({ quiet: true })}\n`);
    } else {
      const helm = await ensureHelm();
      const r = spawnSync(helm, args.length ? args : ['version', '--short'], { stdio: 'inherit' });
      process.exitCode = r.status ?? 1;
    }
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
