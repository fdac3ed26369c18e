/**
 * The one place where a @platformatic/kafka client is given an API implementation of ours
 * (platformatic-produce-encoder.ts: Produce requests; platformatic-fetch-decoder.ts: Fetch responses).
 *
 * The library's clients look every API up through the base client's protected, symbol-keyed method
 * `[kGetApi](name, callback)` (`Symbol('plt.kafka.base.getApi')` in its base.js, not exported), which hands back the
 * API for the version negotiated with the broker. A client given an override here gets its own method that defers to
 * the library's and passes the one named API through `replace`; every other API stays the library's. Where the
 * symbol is not found (a library that changed), nothing is overridden and the caller keeps the library's path.
 */

import type { Logger } from '../observability/logger.js';

/** The description of the base client's API lookup symbol. */
const GET_API_SYMBOL = 'plt.kafka.base.getApi';

/** Says at debug, once per path, which path an API takes (ours or the library's, and why). */
export type SayPath = (path: string, detail: Record<string, unknown>) => void;

/** A SayPath that logs `message` with `{ [field]: path, ...detail }` the first time each path is taken. */
export function sayOncePerPath(log: Logger, field: string, message: string): SayPath {
  const said = new Set<string>();
  return (path, detail) => {
    if (said.has(path)) return;
    said.add(path);
    log.debug({ ...detail, [field]: path }, message);
  };
}

/** An API of the library (its `createAPI`): a function of a connection and the request's arguments. */
export interface LibraryApi {
  (connection: unknown, ...args: unknown[]): void;
  version: number;
}

type ApiCallback = (error: Error | null, api?: unknown) => void;
type GetApi = (this: unknown, name: string, callback: ApiCallback) => void;

/** The method keyed by the symbol described as `description` on `target` or its prototypes, if any. */
function findSymbolMethod(target: object, description: string): symbol | undefined {
  for (let p: object | null = target; p; p = Object.getPrototypeOf(p) as object | null) {
    for (const s of Object.getOwnPropertySymbols(p))
      if (s.description === description && typeof (p as Record<symbol, unknown>)[s] === 'function') return s;
  }
  return undefined;
}

/**
 * Gives `client` the API `replace` makes of the library's for `name` (once per library API: the result is kept).
 * False when the library's lookup was not found: the client is left as it was, and `say` is told.
 */
export function overrideApi(
  client: object,
  name: string,
  replace: (api: LibraryApi) => LibraryApi,
  say: SayPath,
): boolean {
  const symbol = findSymbolMethod(client, GET_API_SYMBOL);
  if (!symbol) {
    say('library', { reason: `the library's ${GET_API_SYMBOL} was not found` });
    return false;
  }
  const replaced = new WeakMap<LibraryApi, LibraryApi>();
  const target = client as Record<symbol, GetApi>;
  const libraryGetApi = target[symbol]!;
  target[symbol] = function getApi(this: unknown, apiName, callback) {
    if (apiName !== name) return libraryGetApi.call(this, apiName, callback);
    libraryGetApi.call(this, apiName, (error, api) => {
      if (error || typeof api !== 'function') return callback(error, api);
      let ours = replaced.get(api as LibraryApi);
      if (!ours) replaced.set(api as LibraryApi, (ours = replace(api as LibraryApi)));
      callback(null, ours);
    });
  };
  return true;
}
