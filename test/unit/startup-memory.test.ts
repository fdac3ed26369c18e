// releaseStartupMemory (src/startup-memory.ts) shrinks the young generation a start-up grew, and leaves no `gc` behind
// in the gateway's own context. In a fresh Node process: the heap of this test worker says nothing about a start-up.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const fixture = join(root, 'test', 'unit', 'fixtures', 'startup-memory.mts');

// Node 20 (end of life, below the supported 22.15: docs/runtime.md) has no memory-reducing gc() flavour.
const supported = Number(process.versions.node.split('.')[0]) >= 22;

it.skipIf(!supported)(
  'gives back the young generation grown while starting, without exposing gc()',
  () => {
    const out = execFileSync(process.execPath, [tsx, fixture], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out) as { before: number; after: number; ran: boolean; globalGc: string };
    expect(r.ran).toBe(true);
    // Surviving allocations made V8 grow the semi-spaces well past their 1 MiB start…
    expect(r.before).toBeGreaterThanOrEqual(8);
    // …and the memory-reducing collection shrinks them back.
    expect(r.after).toBeLessThanOrEqual(r.before / 4);
    expect(r.globalGc).toBe('undefined');
  },
  60_000,
);
