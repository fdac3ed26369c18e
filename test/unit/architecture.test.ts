// The dependency direction of src/ as docs/architecture.md states it: every import of every file in src/ is read
// and checked against the rules below. The rules are the document's table, not derived from the code.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

interface Import {
  /** The importing file, relative to src/ (`http/routes/produce.ts`). */
  from: string;
  /** A file relative to src/ for our own modules, else the package name (`kafkajs`, `@hono/zod-openapi`, `node:fs`). */
  to: string;
  ours: boolean;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// Static imports and re-exports (also over several lines), side-effect imports, dynamic import('…'), and
// require('…') / require.resolve('…') (a package loaded synchronously through createRequire).
const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
const REQUIRE = /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string, text: string): Import[] {
  const from = relative(src, file);
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (spec.startsWith('.')) {
      const to = relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
      out.push({ from, to, ours: true, typeOnly });
    } else {
      const parts = spec.split('/');
      out.push({ from, to: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!, ours: false, typeOnly });
    }
  };
  for (const m of text.matchAll(STATIC)) add(m[3]!, m[2] !== undefined);
  // `import('pkg').Type` in a type position is a type import; a call that is awaited or listed is a value import.
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, /^\)\.[A-Z]/.test(text.slice(m.index! + m[0].length - 1)));
  for (const m of text.matchAll(REQUIRE)) add(m[1]!, false);
  return out;
}

const all: Import[] = files(src).flatMap((f) => importsOf(f, readFileSync(f, 'utf8')));

/** `http/routes/produce.ts` → `http`; a top-level file is itself (`errors.ts`). */
const area = (path: string) => (path.includes('/') ? path.split('/')[0]! : path);

const WIRING = new Set(['app.ts', 'server.ts', 'main.ts']);

/** Which areas of ours each area may import (values and types), and which only as types. docs/architecture.md. */
const RULES: Record<string, { may: string[]; typesOf?: string[] }> = {
  core: { may: [] },
  'errors.ts': { may: [] },
  'config.ts': { may: [] },
  'startup-memory.ts': { may: [] },
  observability: { may: ['config.ts'], typesOf: ['kafka'] },
  auth: { may: ['core', 'errors.ts', 'config.ts'], typesOf: ['observability'] },
  kafka: { may: ['core', 'errors.ts', 'config.ts'], typesOf: ['observability'] },
  consumers: { may: ['core', 'auth', 'errors.ts', 'config.ts', 'observability'], typesOf: ['kafka'] },
  sse: { may: ['core', 'auth', 'errors.ts', 'config.ts', 'observability'], typesOf: ['kafka'] },
  http: {
    may: ['core', 'auth', 'errors.ts', 'config.ts', 'observability', 'consumers', 'sse'],
    typesOf: ['kafka'],
  },
  ws: { may: ['core', 'auth', 'errors.ts', 'config.ts', 'observability'], typesOf: ['kafka'] },
  cluster: { may: ['config.ts', 'observability'] },
};

/** The one module of ws/ that http/ may import: the AsyncAPI document it serves. */
const WS_PUBLIC_TO_HTTP = 'ws/asyncapi/document.ts';

/**
 * The leaves of the subscription vocabulary (the URL shortcut and `from`/`filter`/`format`, record encoding, flow
 * water marks): written for the WebSocket protocol and shared by the other ways to read (SSE, HTTP consumers).
 * No side effects, no ws library.
 */
const WS_SHARED_LEAVES = new Set(['ws/protocol.ts', 'ws/encode.ts', 'ws/flow.ts']);
const SHARES_WS_LEAVES = new Set(['http', 'sse', 'consumers']);

/** The Kafka client libraries: only src/kafka/ may import them (KAFKA_CLIENT picks one at run time). */
const KAFKA_CLIENTS = new Set(['kafkajs', '@platformatic/kafka']);

/**
 * Inside src/kafka/, the files that may load a client library (import its values); every other file imports its
 * types only, so the library KAFKA_CLIENT did not pick is never loaded (docs/performance.md, M1).
 */
const CLIENT_LOADERS: Record<string, Set<string>> = {
  kafkajs: new Set(['kafka/kafkajs-library.ts', 'kafka/kafkajs-patches.ts']),
  '@platformatic/kafka': new Set(['kafka/platformatic-client.ts']),
};

function forbidden(i: Import): string | undefined {
  const a = area(i.from);
  if (WIRING.has(a)) return undefined;
  if (!i.ours) {
    if (KAFKA_CLIENTS.has(i.to) && a !== 'kafka') return `${i.to} outside src/kafka/`;
    if (KAFKA_CLIENTS.has(i.to) && !i.typeOnly && !CLIENT_LOADERS[i.to]!.has(i.from))
      return `${i.to} loaded outside ${[...CLIENT_LOADERS[i.to]!].join(', ')} (only its types elsewhere)`;
    if (i.to === 'ws' && a !== 'ws') return 'the ws library outside src/ws/';
    if ((i.to === 'hono' || i.to.startsWith('@hono/')) && !['http', 'auth'].includes(a))
      return 'hono outside http/auth';
    if (a === 'core' && !i.to.startsWith('node:')) return `core imports the package ${i.to}`;
    return undefined;
  }
  const b = area(i.to);
  if (a === b) return undefined;
  if (a === 'http' && i.to === WS_PUBLIC_TO_HTTP) return undefined;
  if (SHARES_WS_LEAVES.has(a) && WS_SHARED_LEAVES.has(i.to)) return undefined;
  const rule = RULES[a];
  if (!rule) return `no rule for ${a}`;
  if (rule.may.includes(b)) return undefined;
  if (i.typeOnly && rule.typesOf?.includes(b)) return undefined;
  return `${a} may not import ${i.typeOnly ? 'types of ' : ''}${b}`;
}

describe('the import reader', () => {
  it('finds multi-line, type-only, side-effect, re-export and dynamic imports', () => {
    const text = [
      "import {\n  a,\n  b,\n} from '../kafka/index.js';",
      "import type { T } from '../kafka/types.js';",
      "import './kafkajs-patches.js';",
      "export { x } from '../core/topic-names.js';",
      "const m = await import('kafkajs');",
      "let e: import('@opentelemetry/sdk-trace').SpanExporter;",
      "const lib = require('kafkajs') as K;",
    ].join('\n');
    expect(importsOf(join(src, 'ws', 'x.ts'), text)).toEqual([
      { from: 'ws/x.ts', to: 'kafka/index.ts', ours: true, typeOnly: false },
      { from: 'ws/x.ts', to: 'kafka/types.ts', ours: true, typeOnly: true },
      { from: 'ws/x.ts', to: 'ws/kafkajs-patches.ts', ours: true, typeOnly: false },
      { from: 'ws/x.ts', to: 'core/topic-names.ts', ours: true, typeOnly: false },
      { from: 'ws/x.ts', to: 'kafkajs', ours: false, typeOnly: false },
      { from: 'ws/x.ts', to: '@opentelemetry/sdk-trace', ours: false, typeOnly: true },
      { from: 'ws/x.ts', to: 'kafkajs', ours: false, typeOnly: false },
    ]);
  });

  it('sees the imports of src/ (a sanity floor: the reader did not silently match nothing)', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all).toContainEqual({ from: 'kafka/producer.ts', to: 'kafkajs', ours: false, typeOnly: true });
    expect(all).toContainEqual({ from: 'kafka/kafkajs-library.ts', to: 'kafkajs', ours: false, typeOnly: false });
  });

  it('flags what the rules forbid', () => {
    const i = (from: string, to: string, typeOnly = false): Import => ({ from, to, ours: true, typeOnly });
    expect(forbidden({ from: 'http/x.ts', to: 'kafkajs', ours: false, typeOnly: true })).toBe(
      'kafkajs outside src/kafka/',
    );
    expect(forbidden({ from: 'ws/x.ts', to: '@platformatic/kafka', ours: false, typeOnly: false })).toBe(
      '@platformatic/kafka outside src/kafka/',
    );
    expect(forbidden({ from: 'kafka/x.ts', to: '@platformatic/kafka', ours: false, typeOnly: true })).toBeUndefined();
    expect(forbidden({ from: 'kafka/x.ts', to: 'kafkajs', ours: false, typeOnly: false })).toBe(
      'kafkajs loaded outside kafka/kafkajs-library.ts, kafka/kafkajs-patches.ts (only its types elsewhere)',
    );
    expect(
      forbidden({ from: 'kafka/platformatic-client.ts', to: '@platformatic/kafka', ours: false, typeOnly: false }),
    ).toBeUndefined();
    expect(forbidden(i('core/x.ts', 'errors.ts'))).toBe('core may not import errors.ts');
    expect(forbidden(i('ws/x.ts', 'http/errors.ts'))).toBe('ws may not import http');
    expect(forbidden(i('http/x.ts', 'ws/connection.ts'))).toBe('http may not import ws');
    expect(forbidden(i('sse/x.ts', 'ws/protocol.ts'))).toBeUndefined();
    expect(forbidden(i('sse/x.ts', 'ws/server.ts'))).toBe('sse may not import ws');
    expect(forbidden(i('consumers/x.ts', 'http/body.ts'))).toBe('consumers may not import http');
    expect(forbidden(i('auth/x.ts', 'http/errors.ts'))).toBe('auth may not import http');
    expect(forbidden(i('http/x.ts', 'kafka/index.ts'))).toBe('http may not import kafka');
    expect(forbidden(i('http/x.ts', 'kafka/index.ts', true))).toBeUndefined();
    expect(forbidden(i('http/x.ts', 'ws/asyncapi/document.ts'))).toBeUndefined();
  });
});

describe('src/ follows docs/architecture.md', () => {
  it('has no import in a forbidden direction', () => {
    const violations = all.flatMap((i) => {
      const why = forbidden(i);
      return why ? [`${i.from} → ${i.to}: ${why}`] : [];
    });
    expect(violations).toEqual([]);
  });

  it('has a rule for every folder of src/', () => {
    const areas = new Set(all.map((i) => area(i.from)));
    for (const a of areas) expect(WIRING.has(a) || a in RULES, a).toBe(true);
  });
});
