// docs/testing.md names every integration test file (in its "Which file covers what" table, by its name without
// `.test.ts`), and names none that does not exist.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'testing.md'), 'utf8');
const FILES = readdirSync(join(ROOT, 'test', 'integration'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -'.test.ts'.length));

/** The backticked names in the second column of the table under "## Which file covers what". */
function tableNames(markdown: string): string[] {
  const section = /^## Which file covers what\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s|:-]+\|$/.test(l))
    .slice(1)
    .flatMap((l) => [...(l.split('|')[2] ?? '').matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!));
}

describe('docs/testing.md', () => {
  const named = tableNames(PAGE);

  it('reads its table', () => {
    expect(named).toContain('produce');
    expect(FILES).toContain('produce');
  });

  it('names every integration test file', () => {
    expect(FILES.filter((f) => !named.includes(f))).toEqual([]);
  });

  it('names no file that does not exist', () => {
    expect(named.filter((n) => !FILES.includes(n))).toEqual([]);
  });
});
