// docs/rest-api.md's error table lists every code the gateway can answer: each `ErrorCodes` value of src/errors.ts
// is in its first column, and the table names no code that src/errors.ts does not define. No other page names a
// five-digit error code that does not exist either.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/errors.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'rest-api.md'), 'utf8');

/** The rows of the first table under `## Errors`, as [codes of the first column, HTTP column]. */
function errorTable(markdown: string): { codes: number[]; http: string }[] {
  const section = /^## Errors\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1] ?? '';
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  if (start < 0) return [];
  const rows: { codes: number[]; http: string }[] = [];
  // Skip the header and its |---| line; stop at the first line that is not a row.
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [first, http] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim()) as [string, string];
    rows.push({ codes: [...first.matchAll(/\d+/g)].map((m) => Number(m[0])), http });
  }
  return rows;
}

const rows = errorTable(PAGE);
const listed = new Set(rows.flatMap((r) => r.codes));
const defined = Object.values(ErrorCodes) as number[];

describe("docs/rest-api.md's error table", () => {
  it('is found and read', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.find((r) => r.codes.includes(40401))?.http).toBe('404');
  });

  it('lists every ErrorCodes value', () => {
    const missing = Object.entries(ErrorCodes)
      .filter(([, code]) => !listed.has(code))
      .map(([name, code]) => `${name} (${code})`);
    expect(missing).toEqual([]);
  });

  it('lists no code that src/errors.ts does not define', () => {
    expect([...listed].filter((c) => !defined.includes(c))).toEqual([]);
  });

  it("gives each five-digit code the HTTP status of its first three digits (Confluent's scheme)", () => {
    const wrong = rows
      .filter((r) => r.codes.length === 1 && r.codes[0]! >= 10000)
      .filter((r) => !r.http.startsWith(String(r.codes[0]).slice(0, 3)))
      .map((r) => `${r.codes[0]}: HTTP ${r.http}`);
    expect(wrong).toEqual([]);
  });
});

describe('error codes named anywhere in the documentation', () => {
  const pages = [
    'README.md',
    'examples/clients/README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(pages)('%s names only codes that src/errors.ts defines', (page) => {
    // Outside code blocks (ports and offsets there are not codes); Confluent's five-digit codes start with 4 or 5.
    const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    const named = [...text.matchAll(/\b[45]\d{4}\b/g)].map((m) => Number(m[0]));
    expect(named.filter((c) => !defined.includes(c))).toEqual([]);
  });
});
