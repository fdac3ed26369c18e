/**
 * An esbuild plugin for the bundle (scripts/bundle/bundle.mjs): zod's message locales, English only.
 *
 * zod 4 exports every locale it ships (`z.locales`, ~50 of them, 297 KB of the bundle's source) and its classic API
 * loads them all when it loads; it speaks English unless told otherwise (`z.config(z.locales.xx())`), which the gateway
 * never does: the messages it writes into the gateway's answers are English. V8 keeps every loaded module's source
 * text for the life of the process, so the bundle keeps `z.locales.en` and drops the rest. If zod's locale index no
 * longer reads as expected, the build fails here (test/unit/zod-english-only.test.ts).
 */
import { readFile } from 'node:fs/promises';

const LOCALES = /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/;
const ENGLISH = 'export { default as en } from "./en.js";';

/** zod's locale index with English only; throws if it no longer lists English as it did. */
export function englishOnly(source, file) {
  if (!source.split('\n').includes(ENGLISH)) throw new Error(`${file}: no longer exports English as expected`);
  return `${ENGLISH}\n`;
}

export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: LOCALES }, async (args) => ({
      contents: englishOnly(await readFile(args.path, 'utf8'), args.path),
      loader: 'js',
    }));
  },
};
