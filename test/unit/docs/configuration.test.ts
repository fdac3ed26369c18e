// docs/configuration.md is the complete list of settings: every key of the config schema (and of tracing's OTEL_*
// schema) is in one of its tables, every setting its tables name is known to a schema, and every default stated in
// a table's `default` column is the one the schema gives (the dev profile's too, where the page states it), and
// every range or list of values in its `range / values` column is the one the schema enforces. The
// feature pages that repeat their settings in a table of their own are held to the same names and defaults.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_DEFAULTS, SECRET_SETTINGS, envSchema } from '../../../src/config.js';
import { otelEnvSchema } from '../../../src/observability/tracing.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
const MINIMAL = { KAFKA_BROKERS: 'localhost:9092' };

interface Row {
  names: string[];
  /** The `default` column's text, when the table has one. */
  default: string | undefined;
  /** The `range / values` column's text, when the table has one. */
  range: string | undefined;
  line: string;
}

/** Every row of every table whose first column is a setting name (header `variable` or `setting`). */
function settingRows(markdown: string): Row[] {
  const rows: Row[] = [];
  const lines = markdown.replace(/```[\s\S]*?```/g, '').split('\n');
  let header: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const cells = splitRow(line);
    if (header === undefined) {
      // A header is followed by its |---| line.
      if (/^\|[\s|:-]+\|$/.test(lines[i + 1] ?? '')) {
        header = cells.map((c) => c.toLowerCase());
        i++;
      }
      continue;
    }
    if (header[0] !== 'variable' && header[0] !== 'setting') continue;
    const d = header.indexOf('default');
    const r = header.indexOf('range / values');
    rows.push({
      names: [...cells[0]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!),
      default: d >= 0 ? cells[d] : undefined,
      range: r >= 0 ? cells[r] : undefined,
      line,
    });
  }
  return rows;
}

/** Cells of a table row; `|` inside backticks stays in its cell. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let code = false;
  for (const ch of line.trim().slice(1, -1)) {
    if (ch === '`') code = !code;
    if (ch === '|' && !code) {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

type Stated =
  | { kind: 'unset' }
  | { kind: 'empty' }
  | { kind: 'required' }
  | { kind: 'literal'; value: string }
  | { kind: 'number'; value: number };

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 * 1024, GiB: 1024 * 1024 * 1024 };

/**
 * What a default cell states. Its first words are the default; what follows in brackets (or after `=` / `;`) is a
 * comment, except `(dev: `X`)`, which is returned separately. Forms: `unset`, `empty`, `**required**`, a backticked
 * literal, or a number with an optional binary unit (`8 MiB (8388608)`, `16384`).
 */
function readDefault(cell: string): { prod: Stated | undefined; dev: string | undefined } {
  const dev = /\(dev: `([^`]*)`\)/.exec(cell)?.[1];
  const text = cell.trim();
  let prod: Stated | undefined;
  let m: RegExpExecArray | null;
  if (/^unset\b/.test(text)) prod = { kind: 'unset' };
  else if (/^empty\b/.test(text)) prod = { kind: 'empty' };
  else if (/^\*\*required\*\*/.test(text)) prod = { kind: 'required' };
  else if ((m = /^`([^`]*)`/.exec(text))) prod = { kind: 'literal', value: m[1]! };
  else if ((m = /^(\d+(?:\.\d+)?)(?: (KiB|MiB|GiB))?(?:$|[ ,;(])/.exec(text)))
    prod = { kind: 'number', value: Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1) };
  return { prod, dev };
}

type Range =
  | { kind: 'numbers'; min: number; max: number | undefined }
  | { kind: 'values'; values: string[] }
  | { kind: 'boolean' };

const NUMBER = String.raw`(\d+)(?: (KiB|MiB|GiB))?`;
const amount = (n: string, unit: string | undefined) => Number(n) * (unit ? UNITS[unit]! : 1);

/**
 * What a range cell states, when it states one this test checks: `≥ N`, `A–B` (units allowed, a comment may
 * follow), `boolean`, or a list of backticked values and nothing else. Other cells (`PEM`, `URL`, …) describe.
 */
function readRange(cell: string): Range | undefined {
  const text = cell.trim();
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^≥ ${NUMBER}(?:$|[ ,;(])`).exec(text)))
    return { kind: 'numbers', min: amount(m[1]!, m[2]), max: undefined };
  if ((m = new RegExp(`^${NUMBER} ?– ?${NUMBER}(?:$|[ ,;(])`).exec(text)))
    return { kind: 'numbers', min: amount(m[1]!, m[2]), max: amount(m[3]!, m[4]) };
  if (text === 'boolean') return { kind: 'boolean' };
  if (/^`[^`]+`(?:, `[^`]+`)*$/.test(text))
    return { kind: 'values', values: [...text.matchAll(/`([^`]+)`/g)].map((v) => v[1]!) };
  return undefined;
}

/** The values an enum setting accepts (zod keeps them on the enum inside the default and the transform). */
function enumValues(schema: unknown): string[] | undefined {
  let cur = schema as { options?: unknown; _zod?: { def?: { innerType?: unknown; in?: unknown } } } | undefined;
  for (let i = 0; cur && i < 6; i++) {
    if (Array.isArray(cur.options)) return cur.options as string[];
    const def = cur._zod?.def;
    cur = (def?.innerType ?? def?.in) as typeof cur;
  }
  return undefined;
}

/** The schema's value as the page would write it between backticks. */
const asText = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** Rows whose stated default differs from the schema's (defaults this test cannot read are skipped here). */
function wrongDefaults(rows: Row[]): string[] {
  const wrong: string[] = [];
  for (const row of rows) {
    if (row.default === undefined) continue;
    const { prod } = readDefault(row.default);
    for (const name of row.names) {
      if (!(name in envSchema.shape) || prod === undefined) continue;
      const actual = parsedDefaults[name];
      const ok =
        prod.kind === 'unset'
          ? actual === undefined
          : prod.kind === 'empty'
            ? Array.isArray(actual) && actual.length === 0
            : prod.kind === 'required'
              ? !envSchema.safeParse({ ...MINIMAL, [name]: undefined }).success
              : prod.kind === 'literal'
                ? asText(actual) === prod.value
                : actual === prod.value;
      if (!ok) wrong.push(`${name}: page says ${row.default}, schema gives ${JSON.stringify(actual)}`);
    }
  }
  return wrong;
}

const rows = settingRows(PAGE);
const documented = new Set(rows.flatMap((r) => r.names));
const configKeys = Object.keys(envSchema.shape);
const otelKeys = Object.keys(otelEnvSchema.shape);
const parsedDefaults: Record<string, unknown> = envSchema.parse(MINIMAL);
const known = new Set([...configKeys, ...otelKeys, ...SECRET_SETTINGS.map((s) => `${s}_FILE`)]);

describe('docs/configuration.md', () => {
  it('reads the tables it checks (a parser that finds nothing would pass everything)', () => {
    expect(rows.length).toBeGreaterThan(configKeys.length / 2);
    expect(documented).toContain('PORT');
    expect(documented).toContain('OTEL_SERVICE_NAME');
    expect(rows.find((r) => r.names.includes('PORT'))?.default).toBe('`8080`');
  });

  it('documents every key of the config schema and of the tracing schema', () => {
    const missing = [...configKeys, ...otelKeys].filter((k) => !documented.has(k));
    expect(missing, 'settings missing from docs/configuration.md').toEqual([]);
  });

  it('names no setting that the schemas do not know (stale docs)', () => {
    const stale = [...documented].filter((n) => !known.has(n));
    expect(stale, 'documented but unknown to src/config.ts').toEqual([]);
  });

  it('states every default in a form this test can read', () => {
    const unreadable = rows
      .filter((r) => r.default !== undefined && r.names.length > 0)
      .filter((r) => readDefault(r.default!).prod === undefined)
      .map((r) => r.line);
    expect(unreadable).toEqual([]);
  });

  it('states the defaults the schema gives', () => {
    expect(wrongDefaults(rows)).toEqual([]);
  });

  it('states the ranges and values the schema enforces', () => {
    const shape = envSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    const wrong: string[] = [];
    let checked = 0;
    for (const row of rows) {
      const range = row.range === undefined ? undefined : readRange(row.range);
      if (range === undefined) continue;
      for (const name of row.names) {
        const field = shape[name];
        if (field === undefined) continue;
        checked++;
        const takes = (v: number | string) => field.safeParse(String(v)).success;
        if (range.kind === 'numbers') {
          if (!takes(range.min) || takes(range.min - 1)) wrong.push(`${name}: the least value is not ${range.min}`);
          if (range.max !== undefined && (!takes(range.max) || takes(range.max + 1)))
            wrong.push(`${name}: the largest value is not ${range.max}`);
          if (range.max === undefined && !takes(Number.MAX_SAFE_INTEGER)) wrong.push(`${name}: has a largest value`);
        } else {
          const values = enumValues(field);
          const stated = range.kind === 'boolean' ? ['true', 'false'] : range.values;
          const ok =
            values !== undefined &&
            stated.every((v) => values.includes(v)) &&
            (range.kind === 'boolean' || values.every((v) => stated.includes(v)));
          if (!ok) wrong.push(`${name}: page says ${row.range}, schema takes ${JSON.stringify(values)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(wrong).toEqual([]);
  });

  it('states the dev profile defaults, and only those', () => {
    const stated: Record<string, string> = {};
    for (const row of rows) {
      const dev = row.default === undefined ? undefined : readDefault(row.default).dev;
      if (dev !== undefined) for (const name of row.names) stated[name] = dev;
    }
    expect(stated).toEqual(DEV_DEFAULTS);
  });

  it('reads defaults as the page writes them', () => {
    // The parser itself, on the forms the page uses (a misreading would make the comparison above meaningless).
    expect(readDefault('8 MiB (8388608)').prod).toEqual({ kind: 'number', value: 8 * 1024 * 1024 });
    expect(readDefault('`0.0.0.0` (dev: `127.0.0.1`)')).toEqual({
      prod: { kind: 'literal', value: '0.0.0.0' },
      dev: '127.0.0.1',
    });
    expect(readDefault('`0` (off)').prod).toEqual({ kind: 'literal', value: '0' });
    expect(readDefault('unset; required with `PEER_URLS`').prod).toEqual({ kind: 'unset' });
    expect(readDefault('**required** (dev: a local broker)')).toEqual({ prod: { kind: 'required' }, dev: undefined });
    expect(readDefault('from the key source').prod).toBeUndefined();
    expect(splitRow('| `A` | `x|y` | z |')).toEqual(['`A`', '`x|y`', 'z']);
    expect(readRange('1024 – 1 MiB')).toEqual({ kind: 'numbers', min: 1024, max: 1024 * 1024 });
    expect(readRange('0–65535 (0 = any free port)')).toEqual({ kind: 'numbers', min: 0, max: 65535 });
    expect(readRange('≥ 100, below the session timeout')).toEqual({ kind: 'numbers', min: 100, max: undefined });
    expect(readRange('`json`, `pretty`')).toEqual({ kind: 'values', values: ['json', 'pretty'] });
    expect(readRange('secret (`_FILE`), ≥ 32 bytes')).toBeUndefined();
  });
});

describe('settings tables on the other pages of docs/', () => {
  const pages = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'configuration.md')
    .map((f) => ({ name: f, rows: settingRows(readFileSync(join(ROOT, 'docs', f), 'utf8')) }))
    .filter((p) => p.rows.length > 0);

  it('are found (sse.md, consuming-over-http.md and reliability.md have one each)', () => {
    expect(pages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['sse.md', 'consuming-over-http.md', 'reliability.md']),
    );
  });

  it.each(pages.map((p) => [p.name, p.rows] as const))('%s names only known settings', (_name, pageRows) => {
    expect(pageRows.flatMap((r) => r.names).filter((n) => !known.has(n))).toEqual([]);
  });

  it.each(pages.map((p) => [p.name, p.rows] as const))('%s states the schema defaults', (_name, pageRows) => {
    expect(wrongDefaults(pageRows)).toEqual([]);
  });
});
