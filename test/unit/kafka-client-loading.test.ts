// KAFKA_CLIENT picks one Kafka client library and only that one is loaded (docs/performance.md, M1: the other would
// be idle memory): with kafkajs nothing of @platformatic/kafka, with platformatic nothing of kafkajs, whose patches
// apply only as kafkajs loads. Each value in a fresh Node process (test/unit/fixtures/kafka-client-loading-gateway.mts)
// that drives every part talking to Kafka, OAuth set-up included, against a broker that refuses connections.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSupported, npmProvidedNode } from '../../scripts/node-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const probe = join(root, 'test', 'unit', 'fixtures', 'kafka-client-loading-gateway.mts');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Report {
  atStart: string[];
  after: string[];
  statuses: Record<string, number>;
}

const KAFKAJS = /[\\/]node_modules[\\/]kafkajs[\\/]/;
const PLATFORMATIC = /[\\/]node_modules[\\/]@platformatic[\\/]kafka[\\/]/;

function run(client: 'kafkajs' | 'platformatic'): Report {
  const env: NodeJS.ProcessEnv = {};
  // Only what the probe sets: this machine's KAFKA_*/OTEL_* settings would change what loads.
  for (const [k, v] of Object.entries(process.env)) if (!/^(OTEL_|KAFKA_|AUTH_|LOG_|GATEWAY_|TLS_)/.test(k)) env[k] = v;
  const dir = mkdtempSync(join(tmpdir(), 'kafka-client-loading-report-'));
  const out = join(dir, 'report.json');
  try {
    // @platformatic/kafka needs Node ≥ 22.22: on an older `node` (a direct `npx vitest` on Node 20) the probe runs on
    // the npm-provided Node 24, as `npm test` does (scripts/node-runtime.mjs).
    const node = isSupported() ? process.execPath : npmProvidedNode(24);
    execFileSync(node, [tsx, probe, client, out], { cwd: root, env, stdio: 'inherit', timeout: 90_000 });
    return JSON.parse(readFileSync(out, 'utf8')) as Report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const reports: Partial<Record<'kafkajs' | 'platformatic', Report>> = {};
beforeAll(() => {
  reports.kafkajs = run('kafkajs');
  reports.platformatic = run('platformatic');
}, 180_000);

describe.each(['kafkajs', 'platformatic'] as const)('KAFKA_CLIENT=%s', (client) => {
  const report = () => reports[client]!;

  it('answered every request it made with 503 (the broker refuses connections: Kafka unavailable)', () => {
    expect(report().statuses).toEqual({
      'GET /topics': 503,
      'GET /v3/clusters': 503,
      'POST /topics/loading': 503,
      'POST /consumers/loading-group': 503,
    });
  });

  it('loaded the chosen library', () => {
    expect(report().after.some((f) => (client === 'kafkajs' ? KAFKAJS : PLATFORMATIC).test(f))).toBe(true);
  });

  it('loaded nothing of the other library', () => {
    const other = client === 'kafkajs' ? PLATFORMATIC : KAFKAJS;
    expect(report().after.filter((f) => other.test(f))).toEqual([]);
  });
});

it('loads kafkajs during start-up when chosen (a bad pin or patch stops the start, never a later request)', () => {
  expect(reports.kafkajs!.atStart.some((f) => KAFKAJS.test(f))).toBe(true);
});
