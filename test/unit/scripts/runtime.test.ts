// What the production image installs (`npm ci --omit=dev`) is enough to run src/, and every place that names the
// supported Node versions says the same: package.json engines, @types/node, the Dockerfile, scripts/node-runtime.mjs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSupported, MIN_NODE } from '../../../scripts/node-runtime.mjs';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Packages src/ loads at run time: value imports, dynamic imports, and pino transport targets (loaded by name). */
function runtimePackages(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sources(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const specs = [
      ...text.matchAll(/^import (?!type\b)[^;]*?from '([^']+)'/gms),
      ...text.matchAll(/^export (?!type\b)[^;]*?from '([^']+)'/gms),
      ...text.matchAll(/\bimport\('([^']+)'\)/g),
      ...text.matchAll(/transport:[^}]*?\btarget: '([^']+)'/gs),
    ].map((m) => m[1]!);
    for (const spec of specs) {
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      found.set(name, file.slice(ROOT.length + 1));
    }
  }
  return found;
}

describe('runtime dependencies', () => {
  it('every package src/ loads at run time is a dependency, not a dev dependency', () => {
    const used = runtimePackages();
    expect(used.get('yaml'), 'yaml is imported by src/ (the scan finds it)').toBeDefined();
    expect(used.get('pino-pretty'), 'LOG_FORMAT=pretty loads pino-pretty (the scan finds it)').toBeDefined();
    const missing = [...used].filter(([name]) => !(name in pkg.dependencies)).map(([n, f]) => `${n} (${f})`);
    expect(missing).toEqual([]);
  });
});

describe('supported Node versions', () => {
  it('engines is ">=" the oldest version scripts/node-runtime.mjs accepts', () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
    expect(isSupported(MIN_NODE)).toBe(true);
    expect(isSupported('22.14.0')).toBe(false);
    expect(isSupported('22.21.1')).toBe(false);
    expect(isSupported('20.20.2')).toBe(false);
    expect(isSupported('24.11.1')).toBe(true);
  });

  it('@types/node is the oldest supported major (no API from a newer Node type-checks)', () => {
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${MIN_NODE.split('.')[0]}\\.`));
  });

  it("the container image's Node is a supported one", () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    const image = /^ARG NODE_IMAGE=node:(\d+)(?:[.-]|$)/m.exec(dockerfile);
    expect(image, 'ARG NODE_IMAGE=node:<major>-… in the Dockerfile').not.toBeNull();
    expect(isSupported(`${image![1]}.0.0`) || isSupported(`${image![1]}.99.0`)).toBe(true);
    expect(Number(image![1])).toBeGreaterThanOrEqual(24);
  });
});
