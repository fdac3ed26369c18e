// The bundle's stand-in for @platformatic/kafka's option validators (scripts/bundle/lazy-option-validators.mjs):
// compiled on first call instead of at load, and answering exactly as the library's own.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BundledPiece, bundlePiece } from '../helpers/bundle-piece.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lazyInstance,
  lazyOptionValidators,
  lazyRegistry,
  lazyValidators,
} from '../../scripts/bundle/lazy-option-validators.mjs';

const LIBRARY = path.dirname(createRequire(import.meta.url).resolve('@platformatic/kafka'));
const MODULES = ['base', 'producer', 'consumer', 'admin'].map((c) => path.join(LIBRARY, 'clients', c, 'options.js'));
const UTILS = path.join(LIBRARY, 'utils.js');
const REGISTRY = path.join(LIBRARY, 'registries', 'confluent-schema-registry.js');

type Validator = ((data: unknown) => boolean) & { errors: unknown };
interface Ajv {
  errorsText(errors: unknown, options?: unknown): string;
}
type Loaded = { ajv: Ajv; validators: Map<string, Validator> };

function validatorsOf(modules: Record<string, unknown>[]): Map<string, Validator> {
  const found = new Map<string, Validator>();
  modules.forEach((m, i) => {
    for (const [name, value] of Object.entries(m))
      if (name.endsWith('Validator') && typeof value === 'function') found.set(`${i}:${name}`, value as Validator);
  });
  return found;
}

let piece: BundledPiece;
/** The bundle built here (no types). */
let bundled: any;
let lazy: Loaded;
let eager: Loaded;

beforeAll(async () => {
  piece = await bundlePiece(
    [
      `export { ajv } from ${JSON.stringify(UTILS)};`,
      `export { ConfluentSchemaRegistry } from ${JSON.stringify(REGISTRY)};`,
      "export { registryLibraries } from 'kgw-lazy:schema-libraries';",
      ...MODULES.map((m, i) => `export * as m${i} from ${JSON.stringify(m)};`),
      '',
    ].join('\n'),
    {
      plugins: [lazyOptionValidators],
      // As the gateway's bundle does: the library's WebAssembly helpers load on first use (never, here).
      alias: { '@platformatic/wasm-utils': path.resolve('scripts/bundle/lazy-wasm-utils.mjs') },
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    },
  );
  bundled = piece.exports;
  lazy = { ajv: bundled.ajv, validators: validatorsOf(MODULES.map((_, i) => bundled[`m${i}`])) };
  const originals = await Promise.all(MODULES.map((m) => import(pathToFileURL(m).href)));
  const utils = await import(pathToFileURL(UTILS).href);
  eager = { ajv: utils.ajv, validators: validatorsOf(originals) };
});
afterAll(() => piece?.remove());

describe('the transformed sources', () => {
  it('build the instance, each validator and the schema libraries only when first called', () => {
    const utils = lazyInstance(readFileSync(UTILS, 'utf8'), UTILS);
    // ajv's class comes from the lazy module; the one construction left runs on first use.
    expect(utils).not.toMatch(/from 'ajv/);
    expect(utils).not.toMatch(/new Ajv2020\(/);
    expect(utils).toMatch(
      /function __kgwRealAjv\(\) \{\n {2}if \(__kgwAjv === undefined\) \{\n {4}__kgwAjv = new \(__kgwAjv2020\(\)\)\(/,
    );
    let sites = 0;
    for (const m of MODULES) {
      const out = lazyValidators(readFileSync(m, 'utf8'), m);
      expect(out.match(/ajv\.compile\(/g)).toHaveLength(1); // the helper's own, on first call
      sites += out.match(/(?<!function )__kgwLazyValidator\(ajv, /g)?.length ?? 0;
    }
    expect(sites).toBe(38);
    const registry = lazyRegistry(readFileSync(REGISTRY, 'utf8'), REGISTRY);
    expect(registry).not.toMatch(/from '(ajv|ajv-draft-04|avsc)/);
    expect(registry).not.toMatch(/from 'ajv\//);
  });

  it('refuse sources that no longer read as expected', () => {
    expect(() => lazyInstance('export const ajv = new Ajv2020();', 'utils.js')).toThrow(/no longer reads as expected/);
    expect(() => lazyValidators('export const x = 1;', 'options.js')).toThrow(/no ajv.compile/);
    expect(() => lazyRegistry("import avro from 'avsc';\n", 'registry.js')).toThrow(/no longer reads as expected/);
  });
});

describe('the bundled validators', () => {
  const inputs: unknown[] = [
    {},
    { clientId: 'gateway', bootstrapBrokers: ['127.0.0.1:9092'] },
    { clientId: 1, bootstrapBrokers: 'x', timeout: -5 },
    { topics: ['t'], partitions: [{ partition: 'x' }], groupId: 7 },
    { autocommit: 'yes', maxWaitTime: 'soon', sessionTimeout: 10 },
    [],
    'text',
    null,
  ];

  it('are the library’s 38, by name', () => {
    expect(lazy.validators.size).toBe(38);
    expect([...lazy.validators.keys()].sort()).toEqual([...eager.validators.keys()].sort());
  });

  it('answer every input as the library’s own, with the same errors', () => {
    let refused = 0;
    for (const [name, original] of eager.validators) {
      const mine = lazy.validators.get(name)!;
      expect(mine.errors, name).toBeNull(); // nothing asked yet
      for (const input of inputs) {
        const valid = original(input);
        expect(mine(input), `${name} ${JSON.stringify(input)}`).toBe(valid);
        if (!valid) refused++;
        expect(lazy.ajv.errorsText(mine.errors), `${name} ${JSON.stringify(input)}`).toBe(
          eager.ajv.errorsText(original.errors),
        );
      }
    }
    // The comparison covered refusals, not only inputs every validator accepts.
    expect(refused).toBeGreaterThan(38);
  });
});

describe('the bundled schema libraries', () => {
  it('build a Confluent schema registry client, and load when first asked', () => {
    // Its constructor makes its three ajv instances (draft 2020-12, draft 7 with draft 6's meta-schema, draft 4).
    expect(() => new bundled.ConfluentSchemaRegistry({ url: 'http://127.0.0.1:1' })).not.toThrow();
    const { AjvDraft04, Ajv, Ajv2020, avro, draft06MetaSchema } = bundled.registryLibraries();
    expect(draft06MetaSchema.$schema).toMatch(/draft-06/);
    const record = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] });
    expect(record.fromBuffer(record.toBuffer({ a: 'x' }))).toEqual({ a: 'x' });
    for (const Class of [AjvDraft04, Ajv, Ajv2020]) {
      const validate = new Class().compile({ type: 'object', required: ['a'] });
      expect([validate({ a: 1 }), validate({})]).toEqual([true, false]);
    }
  });
});
