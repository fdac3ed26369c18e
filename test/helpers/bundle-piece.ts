// Bundles a few modules with the gateway bundle's esbuild plugins (scripts/bundle/), writes the result to a fresh
// temporary folder and imports it: for tests of what a plugin changes, without building the whole gateway.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

export interface BundledPiece {
  /** The bundle's exports (no types). */
  exports: any;
  /** Removes the temporary folder. */
  remove(): void;
}

/** Bundles `entry` (an ES module's source) with `options` (plugins, aliases...) and imports the result. */
export async function bundlePiece(entry: string, options: BuildOptions): Promise<BundledPiece> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgw-bundle-piece-'));
  writeFileSync(path.join(dir, 'entry.mjs'), entry);
  try {
    await build({
      entryPoints: [path.join(dir, 'entry.mjs')],
      outfile: path.join(dir, 'out.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'error',
      ...options,
    });
    const exports = await import(pathToFileURL(path.join(dir, 'out.mjs')).href);
    return { exports, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
