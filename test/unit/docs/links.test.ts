// The repository explains itself: every relative link in its Markdown (README, docs/, examples/, deploy/) reaches a
// file of the repository, every `#anchor` a heading of that page, and nothing points at design notes outside it;
// the docs index lists every page of docs/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.') || name === 'libs' || name === 'target') return [];
    return statSync(p).isDirectory() ? markdownFiles(p) : name.endsWith('.md') ? [p] : [];
  });
}

const pages = [join(ROOT, 'README.md'), ...['docs', 'examples', 'deploy'].flatMap((d) => markdownFiles(join(ROOT, d)))];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
}

describe('Markdown links', () => {
  it('finds the pages it checks', () => {
    const names = pages.map((p) => relative(ROOT, p));
    expect(names).toContain('docs/README.md');
    expect(names).toContain('examples/clients/README.md');
  });

  it.each(pages.map((p) => [relative(ROOT, p), p]))('%s: every relative link and anchor resolves', (_name, page) => {
    const broken: string[] = [];
    for (const link of links(page)) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? page : resolve(dirname(page), path);
      const inRepo = relative(ROOT, target);
      if (inRepo.startsWith('..')) broken.push(`${link} (outside the repository)`);
      else if (!existsSync(target)) broken.push(`${link} (no such file)`);
      else if (anchor && target.endsWith('.md') && !anchors(target).has(anchor))
        broken.push(`${link} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });

  it('docs/README.md lists every page of docs/', () => {
    const index = readFileSync(join(ROOT, 'docs', 'README.md'), 'utf8');
    const unlisted = readdirSync(join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md') && name !== 'README.md')
      .filter((name) => !index.includes(`](${name})`));
    expect(unlisted).toEqual([]);
  });

  it('no page points at the design notes outside the repository', () => {
    for (const page of pages)
      expect(readFileSync(page, 'utf8'), relative(ROOT, page)).not.toMatch(
        /shared\/design|\b(CONFIG|WS_PROTOCOL|CONFLUENT_V2|SECURITY|BENCHMARKS|LOCAL_KAFKA)\.md/,
      );
  });
});
