// Fuzzes the live gateway (real broker) from its own OpenAPI document with schemathesis (PyPI; installed into .venv
// by scripts/fuzz-env.mjs). Bounded: a few examples per operation and a time budget well under 3 minutes.
//
// What is checked (and what is not): every response is not a 5xx (`not_a_server_error`), its status is one the
// document lists for that operation (`status_code_conformance`), its Content-Type is the documented one
// (`content_type_conformance`), its body matches the documented schema (`response_schema_conformance`), bodies
// that break the schema are refused with a 4xx (`negative_data_rejection`), and undocumented methods get 405 with
// `Allow` (`unsupported_method`). Not checked: `positive_data_acceptance` (a valid body for a topic that does not
// exist is rightly a 404) and `ignored_auth` (AUTH_MODE=none here; auth has its own tests). Base64 validity is not in
// the schema, so most generated binary-format records are refused with 400 — documented, so conforming.
// Findings are kept as regression tests in fuzz-regressions.test.ts.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without types
import { ensureFuzzEnv } from '../../scripts/fuzz-env.mjs';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, uniqueTopic } from '../helpers/kafka.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const brokers = inject('kafkaBrokers');
const TIME_BUDGET_S = 90;

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'unsupported_method',
];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    // cwd in the (gitignored) artifacts folder: schemathesis and hypothesis leave their own folders behind.
    const child = spawn(cmd, args, { cwd: ARTIFACTS, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('schemathesis against the live gateway', () => {
  let gw: Gateway;
  let exe: string;
  const topic = uniqueTopic('fuzz');

  beforeAll(async () => {
    exe = (await ensureFuzzEnv()) as string;
    gw = await startTestGateway();
    await createTopic(brokers, topic, 3);
  }, 300_000);

  afterAll(async () => {
    await gw?.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  });

  it('finds no server errors and no responses outside the document', async () => {
    const clusterId = ((await (await fetch(`${gw.url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }).data[0]!
      .cluster_id;
    mkdirSync(ARTIFACTS, { recursive: true });
    const { code, output } = await run(
      exe,
      [
        '--config-file',
        join(ROOT, 'test', 'python', 'schemathesis.toml'),
        'run',
        `${gw.url}/openapi.json`,
        '--checks',
        CHECKS.join(','),
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        '15',
        '--max-time',
        String(TIME_BUDGET_S),
        '--workers',
        '2',
        '--request-timeout',
        '20',
        '--seed',
        '1',
        '--generation-database',
        'none',
        '--no-color',
        // AUTH_MODE=none: a request without Authorization is fine here (auth has its own tests).
        '--generation-with-security-parameters',
        'false',
        '--output-sanitize',
        'false',
        '--report',
        'junit',
        '--report-junit-path',
        join(ARTIFACTS, 'schemathesis-junit.xml'),
      ],
      {
        ...process.env,
        FUZZ_TOPIC: topic,
        FUZZ_CLUSTER_ID: clusterId,
        FUZZ_HOOKS: join(ROOT, 'test', 'python', 'fuzz_hooks.py'),
        SCHEMATHESIS_HOOKS: '',
        PYTHONUNBUFFERED: '1',
      },
      (TIME_BUDGET_S + 50) * 1000,
    );
    writeFileSync(join(ARTIFACTS, 'schemathesis.txt'), output);
    expect(code, output.slice(-12_000)).toBe(0);
    // The gateway is still healthy afterwards.
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  }, 240_000);
});
