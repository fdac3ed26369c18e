// `npm run bench` writes its table into docs/performance.md between two markers: the page has them, and a run
// replaces only what lies between them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_END, BENCH_START, RESULTS_DOC, withBenchRun } from '../../../load/lib/results-doc.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const run = { date: '2026-12-02T20:10:00.000Z', rounds: 3, durationS: 5, table: '| a |\n|---|\n| 1 |', image: 'x.png' };

describe('the bench results page', () => {
  it('docs/performance.md holds the markers once each, in order, and the chart it links exists', () => {
    const text = readFileSync(join(ROOT, RESULTS_DOC), 'utf8');
    expect(text.split(BENCH_START)).toHaveLength(2);
    expect(text.split(BENCH_END)).toHaveLength(2);
    expect(text.indexOf(BENCH_START)).toBeLessThan(text.indexOf(BENCH_END));
    const image = /!\[benchmark chart\]\(([^)]+)\)/.exec(text)?.[1];
    expect(image).toBeDefined();
    expect(() => readFileSync(join(ROOT, 'docs', image!))).not.toThrow();
  });

  it('a run replaces the part between the markers and keeps the rest of the page', () => {
    const page = `# P\nbefore\n${BENCH_START}\nold table\n${BENCH_END}\nafter\n`;
    const out = withBenchRun(page, run)!;
    expect(out.startsWith('# P\nbefore\n')).toBe(true);
    expect(out.endsWith(`${BENCH_END}\nafter\n`)).toBe(true);
    expect(out).not.toContain('old table');
    expect(out).toContain('_Run 2026-12-02 20:10 UTC, 3 rounds × 5 s (medians)._');
    expect(out).toContain('| 1 |');
    expect(out).toContain('![benchmark chart](x.png)');
    expect(withBenchRun(out, { ...run, table: '| 2 |' })).toContain('| 2 |'); // and again on the next run
  });

  it('a page without the markers is left alone', () => {
    expect(withBenchRun('# no markers\n', run)).toBeUndefined();
    expect(withBenchRun(`${BENCH_END}\n${BENCH_START}\n`, run)).toBeUndefined();
  });
});
