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
 * The library is pinned to one version; if its files no longer read as expected, the build fails here, naming the
 * file, rather than bundling something that behaves differently (test/unit/lazy-option-validators.test.ts compares
 * every validator with the library's own).
 */
import { readFile } from 'node:fs/promises';

const LIBRARY = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]/;
const UTILS = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]utils\.js$/;
const OPTIONS = /[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]clients[\\/](base|producer|consumer|admin)[\\/]options\.js$/;
/** The methods the library calls on its instance (2.12.1); the stand-in has these and no others. */
const METHODS = new Set(['addKeyword', 'compile', 'errorsText']);

const INSTANCE = 'export const ajv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: true });';
const LAZY_INSTANCE = `let __kgwAjv;
const __kgwAjvKeywords = [];
function __kgwRealAjv() {
  if (__kgwAjv === undefined) {
    __kgwAjv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: true });
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
  if (source.split(INSTANCE).length !== 2) throw new Error(`${file}: its ajv instance no longer reads as expected`);
  return source.replace(INSTANCE, LAZY_INSTANCE);
}

/** An option module with each validator compiled on its first call. */
export function lazyValidators(source, file) {
  if (!source.includes('ajv.compile(')) throw new Error(`${file}: no ajv.compile( any more`);
  return LAZY_VALIDATOR + source.replaceAll('ajv.compile(', '__kgwLazyValidator(ajv, ');
}

/** Counts the calls on the library's instance in one file (`ajv.<method>(`). */
export function instanceCalls(source) {
  const calls = {};
  for (const m of source.matchAll(/\bajv\.([A-Za-z]+)\(/g)) calls[m[1]] = (calls[m[1]] ?? 0) + 1;
  return calls;
}

export const lazyOptionValidators = {
  name: 'lazy-option-validators',
  setup(build) {
    build.onLoad({ filter: LIBRARY }, async (args) => {
      if (!args.path.endsWith('.js')) return undefined;
      const source = await readFile(args.path, 'utf8');
      const other = Object.keys(instanceCalls(source)).filter((m) => !METHODS.has(m));
      if (other.length > 0)
        throw new Error(`${args.path}: calls ajv.${other.join(', ajv.')}, which the stand-in does not have`);
      if (UTILS.test(args.path)) return { contents: lazyInstance(source, args.path), loader: 'js' };
      if (OPTIONS.test(args.path)) return { contents: lazyValidators(source, args.path), loader: 'js' };
      return undefined;
    });
  },
};
