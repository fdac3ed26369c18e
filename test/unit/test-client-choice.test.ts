// KGW_TEST_KAFKA_CLIENT runs the integration files on a chosen Kafka client library (docs/testing.md). A gateway a
// test builds by hand (its own loadConfig + startGateway, or a spawned `src/main.ts`) silently stays on the default
// unless it passes testKafkaClientEnv() on: the other library would then look tested where it never ran. This reads
// every file under test/integration and test/helpers and names those that start a gateway without passing it on.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** A gateway started from its own config in this process, or the gateway's entry point in a child process. */
const STARTS_GATEWAY = /\bstartGateway\(|['"]src\/main\.ts['"]/;
/** Passing the test run's choice on, or pinning a file to one library on purpose. */
const PASSES_CHOICE = /\btestKafkaClientEnv\(\)|\bKAFKA_CLIENT:/;

/** The code of a file without its comments (which may well name startGateway). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

function gatewaysOffTheChoice(sources: Record<string, string>): string[] {
  return Object.entries(sources)
    .filter(([, text]) => STARTS_GATEWAY.test(code(text)) && !PASSES_CHOICE.test(code(text)))
    .map(([name]) => name);
}

describe('KGW_TEST_KAFKA_CLIENT reaches every gateway the tests start', () => {
  it('names a file that starts a gateway without passing the choice on, and not one that passes it', () => {
    expect(
      gatewaysOffTheChoice({
        'a.ts': 'const gw = await startGateway(loadConfig({ KAFKA_BROKERS: b }));',
        'b.ts': "spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env })",
        'c.ts': 'await startGateway(loadConfig({ ...testKafkaClientEnv(), KAFKA_BROKERS: b }));',
        'd.ts': "startGateway(loadConfig({ KAFKA_CLIENT: 'kafkajs' }))",
        'e.ts': 'await startTestGateway();',
        'f.ts': '// a gateway of its own (startGateway(config, { logger }))\nexport const x = 1;',
      }),
    ).toEqual(['a.ts', 'b.ts']);
  });

  it('holds for every integration file and helper', () => {
    const sources = Object.fromEntries(
      [...files(join(root, 'test/integration')), ...files(join(root, 'test/helpers'))].map((f) => [
        relative(root, f),
        readFileSync(f, 'utf8'),
      ]),
    );
    expect(Object.keys(sources).length).toBeGreaterThan(40);
    expect(gatewaysOffTheChoice(sources)).toEqual([]);
  });
});
