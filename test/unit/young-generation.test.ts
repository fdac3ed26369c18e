import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { YOUNG_GENERATION_FLAG, youngGenerationWarning } from '../../src/young-generation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const MiB = 1024 ** 2;

describe('youngGenerationWarning', () => {
  const pod = { execArgv: [], nodeOptions: undefined, heapSizeLimit: 259 * MiB };

  it('warns when V8 sized a small heap (a 512 MiB pod) and no flag named the semi-space', () => {
    const w = youngGenerationWarning(pod);
    expect(w).toContain('heap limit 259 MiB');
    expect(w).toContain(YOUNG_GENERATION_FLAG);
  });

  it('is quiet when the flag is on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(youngGenerationWarning({ ...pod, execArgv: ['--max-semi-space-size=16'] })).toBeUndefined();
    expect(youngGenerationWarning({ ...pod, execArgv: ['--max_semi_space_size', '64'] })).toBeUndefined();
    expect(
      youngGenerationWarning({ ...pod, nodeOptions: '--enable-source-maps  --max-semi-space-size=32' }),
    ).toBeUndefined();
  });

  it('is quiet without a memory limit (V8 keeps its full young generation)', () => {
    expect(youngGenerationWarning({ ...pod, heapSizeLimit: 4288 * MiB })).toBeUndefined();
  });

  it('is not fooled by a similar flag', () => {
    expect(youngGenerationWarning({ ...pod, execArgv: ['--max-old-space-size=256'] })).toBeDefined();
    expect(youngGenerationWarning({ ...pod, nodeOptions: '--min-semi-space-size=8' })).toBeDefined();
  });
});

// The container image's CMD is checked where the rest of the Dockerfile is (test/integration/helm.test.ts).
describe('every launcher of the gateway passes the young-generation flag', () => {
  it('npm start', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start!.split(' ')).toEqual(['node', YOUNG_GENERATION_FLAG, 'dist/bundle/main.js']);
  });

  it('npm run dev', () => {
    expect(read('scripts/dev.mjs')).toContain(`spawn(process.execPath, ['${YOUNG_GENERATION_FLAG}', '--import', 'tsx'`);
  });

  it('the load harness (gateways measured as they ship)', () => {
    expect(read('load/lib/env.ts')).toMatch(/const nodeArgs = \[\n(\s*\/\/.*\n)*\s*YOUNG_GENERATION_FLAG,/);
  });
});
