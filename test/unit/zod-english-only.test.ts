// The bundle's zod with English messages only (scripts/bundle/zod-english-only.mjs): the same messages as zod's own.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z as zod } from 'zod';
import { englishOnly, zodEnglishOnly } from '../../scripts/bundle/zod-english-only.mjs';
import { type BundledPiece, bundlePiece } from '../helpers/bundle-piece.js';

const LOCALES = path.join(path.dirname(createRequire(import.meta.url).resolve('zod')), 'v4', 'locales', 'index.js');

let piece: BundledPiece;
/** zod as the bundle has it (no types). */
let bundled: any;

beforeAll(async () => {
  piece = await bundlePiece("export { z } from 'zod';\n", {
    plugins: [zodEnglishOnly],
    nodePaths: [path.resolve('node_modules')],
  });
  bundled = piece.exports.z;
});
afterAll(() => piece?.remove());

describe('zod in the bundle', () => {
  it('keeps English and drops the other locales', () => {
    expect(Object.keys(zod.locales).length).toBeGreaterThan(20);
    expect(Object.keys(bundled.locales)).toEqual(['en']);
  });

  it('writes the same messages as zod itself', () => {
    const schemaOf = (z: typeof zod) =>
      z.object({
        topic: z.string().min(1),
        partition: z.number().int().nonnegative(),
        format: z.enum(['binary', 'json']),
        records: z.array(z.object({ value: z.unknown() })).max(2),
      });
    const inputs: unknown[] = [
      {},
      { topic: '', partition: -1, format: 'avro', records: [{}, {}, {}] },
      { topic: 7, partition: 1.5, format: null, records: 'x' },
      'text',
    ];
    for (const input of inputs) {
      const mine = schemaOf(bundled).safeParse(input);
      const theirs = schemaOf(zod).safeParse(input);
      expect(mine.success).toBe(false);
      expect(mine.error!.issues.map((i) => i.message)).toEqual(theirs.error!.issues.map((i) => i.message));
    }
  });

  it('refuses a locale index that no longer lists English as expected', () => {
    expect(englishOnly(readFileSync(LOCALES, 'utf8'), LOCALES)).toBe('export { default as en } from "./en.js";\n');
    expect(() => englishOnly('export { default as fr } from "./fr.js";', 'index.js')).toThrow(/English/);
  });
});
