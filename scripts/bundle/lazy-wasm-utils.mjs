/**
 * Stands in for `@platformatic/wasm-utils` inside the bundle (scripts/bundle/bundle.mjs aliases it here). That package
 * compiles and instantiates its WebAssembly when it is imported, and @platformatic/kafka imports it at start for
 * codecs and a CRC fallback the gateway rarely needs: lz4 and snappy batches (read or written), and CRC32C only
 * where the native @node-rs/crc32 is missing. Here it is loaded on the first call instead: an idle gateway keeps
 * ~0.7 MiB of private memory and ~2 MiB of the binary's compiler pages out of its RSS (docs/performance.md,
 * "Idle memory (M1)").
 *
 * Loaded synchronously, as the library calls these functions synchronously: require() of an ES module (no
 * top-level await in it), which Node 22.22+ and 24 do without a warning (it is behind --trace-require-module since
 * early 2025). Resolved from the library's own place, where npm put it for the library.
 */
import { createRequire } from 'node:module';

let wasm;
function load() {
  if (wasm === undefined) {
    const fromLibrary = createRequire(createRequire(import.meta.url).resolve('@platformatic/kafka'));
    wasm = fromLibrary('@platformatic/wasm-utils');
  }
  return wasm;
}

export const prepareInput = (data) => load().prepareInput(data);
export const prepareOutput = (combined) => load().prepareOutput(combined);
export const crc32c = (data) => load().crc32c(data);
export const lz4Compress = (data) => load().lz4Compress(data);
export const lz4Decompress = (data) => load().lz4Decompress(data);
export const snappyCompress = (data) => load().snappyCompress(data);
export const snappyDecompress = (data) => load().snappyDecompress(data);
