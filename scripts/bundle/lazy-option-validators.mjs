/**
 * An esbuild plugin for the bundle (scripts/bundle/bundle.mjs): @platformatic/kafka's JSON-Schema validators of its
 * client options, compiled when first called instead of when the library loads.
 *
 * The library builds one ajv instance (`utils.js`, with seven keywords of its own) and compiles 38 validators with it
 * as its option modules load (`clients/{base,producer,consumer,admin}/options.js`). It runs them only for a client
 * created with `strict: true`, which the gateway never sets, so in the gateway they are never called: an idle
 * gateway held ~4 MiB of heap for them (docs/performance.md, "Idle memory (M1)"). Here:
 * - `utils.js` exports a stand-in for the instance with the three methods the library calls on it (`addKeyword`,
 *   `compile`, `errorsText`): keywords are kept, and the instance is built, with them, on the first compile;
 * - each `ajv.compile(schema)` of the option modules becomes a function that compiles on its first call and then
 *   behaves as the compiled validator, `errors` included.
 * The schema libraries themselves load on first use too: ajv's classes (the instance's and the Confluent schema
 * registry's), ajv-draft-04, ajv's draft-06 meta-schema and avsc. The library imports them when it loads, and uses
 * them only in the stand-in's first compile and in `ConfluentSchemaRegistry`'s constructor and Avro schemas; the
 * gateway has no schema registry. They come from the virtual module `kgw-lazy:schema-libraries`, whose `require()`s
 * esbuild turns into the bundled modules' initialisers, run on the first call.
 * The library is pinned to one version; if its files no longer read as expected, the build fails here, naming the
 * file, rather than bundling something that behaves differently (test/unit/lazy-option-validators.test.ts compares
 * every validator with the library's own, and builds a schema registry from the bundle).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const LIBRARY = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]/;
const UTILS = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]utils\.js$/;
const OPTIONS = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]clients[\\/](base|producer|consumer|admin)[\\/]options\.js$/;
const REGISTRY = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]registries[\\/]confluent-schema-registry\.js$/;
const LAZY_MODULE = 'kgw-lazy:schema-libraries';
/** The virtual module: each getter requires its libraries on first call (esbuild bundles them as initialisers). */
const LAZY_MODULE_SOURCE = `export const ajv2020 = () => require('ajv/dist/2020.js').Ajv2020;
let registry;
export const registryLibraries = () =>
  (registry ??= {
    AjvDraft04: require('ajv-draft-04'),
    draft06MetaSchema: require('ajv/dist/refs/json-schema-draft-06.json'),
    Ajv: require('ajv').Ajv,
    Ajv2020: require('ajv/dist/2020.js').Ajv2020,
    avro: require('avsc'),
  });
`;
/** The methods the library calls on its instance (2.12.1); the stand-in has these and no others. */
const METHODS = new Set(['addKeyword', 'compile', 'errorsText']);

const AJV_IMPORT = "import { Ajv2020 } from 'ajv/dist/2020.js';\n";
const INSTANCE = 'export const ajv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: true });';
const LAZY_INSTANCE = `let __kgwAjv;
const __kgwAjvKeywords = [];
function __kgwRealAjv() {
  if (__kgwAjv === undefined) {
    __kgwAjv = new (__kgwAjv2020())({ allErrors: true, coerceTypes: false, strict: true });
    for (const keyword of __kgwAjvKeywords) __kgwAjv.addKeyword(keyword);
  }
  return __kgwAjv;
}
export const ajv = {
  addKeyword(definition) {
    if (__kgwAjv === undefined) __kgwAjvKeywords.push(definition);
    else __kgwAjv.addKeyword(definition);
    return this;
  },
  compile: (schema) => __kgwRealAjv().compile(schema),
  errorsText: (errors, options) => __kgwRealAjv().errorsText(errors, options),
};`;

const LAZY_VALIDATOR = `function __kgwLazyValidator(ajv, schema) {
  let compiled;
  const validate = (data) => (compiled ??= ajv.compile(schema))(data);
  Object.defineProperty(validate, 'errors', { get: () => (compiled === undefined ? null : compiled.errors) });
  return validate;
}
`;

/** `utils.js` with the instance built on first use. */
export function lazyInstance(source, file) {
  if (source.split(INSTANCE).length !== 2 || !source.startsWith(AJV_IMPORT))
    throw new Error(`${file}: its ajv instance no longer reads as expected`);
  return `import { ajv2020 as __kgwAjv2020 } from '${LAZY_MODULE}';\n${source.slice(AJV_IMPORT.length).replace(INSTANCE, LAZY_INSTANCE)}`;
}

/** The registry's imports of the schema libraries, and each place it uses them, with what replaces it. */
const REGISTRY_EDITS = [
  ["import * as AjvDraft04Module from 'ajv-draft-04';\n", ''],
  ["import draft06MetaSchema from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };\n", ''],
  ["import { Ajv } from 'ajv';\n", ''],
  ["import { Ajv2020 } from 'ajv/dist/2020.js';\n", ''],
  ["import avro from 'avsc';\n", `import { registryLibraries as __kgwRegistryLibraries } from '${LAZY_MODULE}';\n`],
  ['const AjvDraft04 = AjvDraft04Module.default;\n', ''],
  [
    '        super();\n        this.#url = options.url;\n',
    '        super();\n        const { AjvDraft04, draft06MetaSchema, Ajv, Ajv2020 } = __kgwRegistryLibraries();\n        this.#url = options.url;\n',
  ],
  ['avro.Type.forSchema(', '__kgwRegistryLibraries().avro.Type.forSchema('],
];

/** The Confluent schema registry client with its schema libraries loaded on first use. */
export function lazyRegistry(source, file) {
  let out = source;
  for (const [from, to] of REGISTRY_EDITS) {
    if (out.split(from).length !== 2)
      throw new Error(`${file}: ${JSON.stringify(from.trim())} no longer reads as expected`);
    out = out.replace(from, to);
  }
  // Nothing may use the imports removed above any more.
  const left = /(?<![.\w])(AjvDraft04Module|avro\.)|\bnew Ajv(2020|Draft04)?\(|\bdraft06MetaSchema\)/g;
  const uses = [...out.matchAll(left)].map((m) => m[0]);
  const expected = ['new Ajv2020(', 'new Ajv(', 'draft06MetaSchema)', 'new AjvDraft04('];
  if (JSON.stringify(uses) !== JSON.stringify(expected))
    throw new Error(`${file}: uses the schema libraries at ${JSON.stringify(uses)}, not only in its constructor`);
  return out;
}

/** An option module with each validator compiled on its first call. */
export function lazyValidators(source, file) {
  if (!source.includes('ajv.compile(')) throw new Error(`${file}: no ajv.compile( any more`);
  return LAZY_VALIDATOR + source.replaceAll('ajv.compile(', '__kgwLazyValidator(ajv, ');
}

/** Counts the calls on the library's instance in one file (`ajv.<method>(`). */
function instanceCalls(source) {
  const calls = {};
  for (const m of source.matchAll(/\bajv\.([A-Za-z]+)\(/g)) calls[m[1]] = (calls[m[1]] ?? 0) + 1;
  return calls;
}

export const lazyOptionValidators = {
  name: 'lazy-option-validators',
  setup(build) {
    // Its libraries resolve from the library's own folder, as the library's imports of them did.
    const resolveDir = path.dirname(createRequire(import.meta.url).resolve('@platformatic/kafka'));
    build.onResolve({ filter: new RegExp(`^${LAZY_MODULE}$`) }, () => ({ path: LAZY_MODULE, namespace: 'kgw-lazy' }));
    build.onLoad({ filter: /.*/, namespace: 'kgw-lazy' }, () => ({
      contents: LAZY_MODULE_SOURCE,
      loader: 'js',
      resolveDir,
    }));
    build.onLoad({ filter: LIBRARY }, async (args) => {
      if (!args.path.endsWith('.js')) return undefined;
      const source = await readFile(args.path, 'utf8');
      const other = Object.keys(instanceCalls(source)).filter((m) => !METHODS.has(m));
      if (other.length > 0)
        throw new Error(`${args.path}: calls ajv.${other.join(', ajv.')}, which the stand-in does not have`);
      if (UTILS.test(args.path)) return { contents: lazyInstance(source, args.path), loader: 'js' };
      if (OPTIONS.test(args.path)) return { contents: lazyValidators(source, args.path), loader: 'js' };
      if (REGISTRY.test(args.path)) return { contents: lazyRegistry(source, args.path), loader: 'js' };
      return undefined;
    });
  },
};
