// The core and the AsyncAPI generator must not load (or patch) kafkajs: checked in a fresh Node process, the only
// place where "what did this import load" has an answer. The positive control proves the probe sees kafkajs.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const probe = join(root, 'test', 'unit', 'fixtures', 'loaded-kafkajs.mts');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function kafkajsFilesLoadedBy(...files: string[]): string[] {
  const out = execFileSync(process.execPath, [tsx, probe, ...files.map((f) => join(root, f))], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out) as string[];
}

it('loads no kafkajs file when importing src/core/ and the AsyncAPI generator', () => {
  const core = readdirSync(join(root, 'src', 'core')).map((f) => join('src', 'core', f));
  expect(kafkajsFilesLoadedBy(...core, 'scripts/asyncapi.ts')).toEqual([]);
}, 30_000);

// kafkajs loads when a kafkajs client is built (src/kafka/kafkajs-library.ts), not when src/kafka/ is imported.
it('loads no kafkajs file when importing the Kafka interface itself', () => {
  expect(kafkajsFilesLoadedBy('src/kafka/index.ts')).toEqual([]);
}, 30_000);

it('sees kafkajs when kafkajs is imported (the probe works)', () => {
  expect(kafkajsFilesLoadedBy('node_modules/kafkajs/index.js').length).toBeGreaterThan(0);
}, 30_000);
