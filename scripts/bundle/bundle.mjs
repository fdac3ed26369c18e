#!/usr/bin/env node
/**
 * Bundles a compiled gateway (`<dir>/main.js`, tsc's output) into `<dir>/bundle/`: the gateway's modules and its
 * pure-JavaScript dependencies in a few files, whitespace and syntax minified, identifiers kept. What the container
 * image and `npm start` run (docs/performance.md, "Idle memory (M1)").
 *
 * Why: V8 keeps every loaded module's source text in the heap for as long as the process lives (lazy compilation
 * and Function.prototype.toString need it), and the gateway's dependencies bring megabytes of it (@platformatic/kafka
 * alone 4.8 MB). Minified, an idle gateway on @platformatic/kafka holds ~8 MiB less private memory; an unminified
 * bundle saves nothing. Identifiers are not renamed, so stack traces keep function and class names (line numbers are
 * the bundle's: run `dist/main.js`, the unbundled build, to read a trace against the sources).
 *
 * Dynamic imports stay separate chunks, loaded when first needed as before (the AsyncAPI document, JWT). Left to
 * node_modules at run time, so the image keeps its production node_modules:
 * - kafkajs: loaded through createRequire only with KAFKA_CLIENT=kafkajs, its internals patched by path;
 * - pino: its transports (LOG_FORMAT=pretty) start worker threads from its own files;
 * - @node-rs/crc32, a native addon, and @platformatic/wasm-utils, whose WebAssembly file sits next to its JavaScript
 *   (the bundle imports lazy-wasm-utils.mjs in its place, which loads it from node_modules on first use);
 * - the OTLP exporter, loaded only with tracing on, and yaml, loaded only for /openapi.yaml (a CommonJS package, whose
 *   dynamic import esbuild's wrapper would not give its named exports: test/integration/bundle.test.ts).
 * @platformatic/kafka's option validators and schema libraries load when first used, not when it loads
 * (lazy-option-validators.mjs), and zod's message locales are English only (zod-english-only.mjs).
 *
 *   node scripts/bundle/bundle.mjs [dir=dist]
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { lazyOptionValidators } from './lazy-option-validators.mjs';
import { zodEnglishOnly } from './zod-english-only.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const EXTERNALS = ['kafkajs', 'pino', 'pino-pretty', '@node-rs/*', '@opentelemetry/exporter-trace-otlp-http', 'yaml'];

/** Bundles `<dir>/main.js` into `<dir>/bundle/main.js` (+ chunks); returns the bundle's entry file. */
export async function bundleGateway(dir) {
  const outdir = path.join(dir, 'bundle');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { main: path.join(dir, 'main.js') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNALS,
    alias: { '@platformatic/wasm-utils': path.join(HERE, 'lazy-wasm-utils.mjs') },
    plugins: [lazyOptionValidators, zodEnglishOnly],
    legalComments: 'eof',
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __kgwRequire } from 'node:module';const require=__kgwRequire(import.meta.url);",
    },
  });
  return path.join(outdir, 'main.js');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(HERE, '../..');
  const started = Date.now();
  const entry = await bundleGateway(path.resolve(root, process.argv[2] ?? 'dist'));
  process.stderr.write(`[bundle] ${path.relative(root, entry)} in ${Date.now() - started} ms\n`);
}
