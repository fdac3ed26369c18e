// Fuzzes the live gateway (real broker) from its own OpenAPI document with schemathesis (PyPI; installed into .venv
// by scripts/fuzz-env.mjs). Bounded: a few examples per operation and a time budget well under 3 minutes.
//
// What is checked (and what is not): every response is not a 5xx (`not_a_server_error`), its status is one the
// document lists for that operation (`status_code_conformance`), its Content-Type is the documented one
// (`content_type_conformance`), its body matches the documented schema (`response_schema_conformance`), bodies
// that break the schema are refused with a 4xx (`negative_data_rejection`), and undocumented methods get 405 with
// `Allow` (`unsupported_method`). A second, shorter run with AUTH_MODE=jwt checks `ignored_auth` (missing or bad
// tokens → 401 on every secured route). Not checked: `positive_data_acceptance` (a valid body for a topic that does
// not exist is rightly a 404; random partitions are rightly 404 40402).
// Findings are kept as regression tests in fuzz-regressions.test.ts.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without types
import { ensureFuzzEnv } from '../../scripts/fuzz-env.mjs';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, type LocalKafka, startKafka, uniqueTopic } from '../helpers/kafka.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
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

const SECRET = 'schemathesis-fuzz-secret-at-least-32-bytes!!';

interface FuzzRun {
  name: string;
  gw: Gateway;
  checks: string[];
  phases: string;
  maxExamples: number;
  timeBudgetS: number;
  extraArgs?: string[];
}

/** Runs schemathesis against a gateway's own /openapi.json; the output goes to test/artifacts/<name>.txt. */
async function fuzz(exe: string, topic: string, r: FuzzRun): Promise<void> {
  const clusterId = (
    (await (await fetch(`${r.gw.url}/v3/clusters`, { headers: authHeader(r.extraArgs) })).json()) as {
      data: { cluster_id: string }[];
    }
  ).data[0]!.cluster_id;
  mkdirSync(ARTIFACTS, { recursive: true });
  const { code, output } = await run(
    exe,
    [
      '--config-file',
      join(ROOT, 'test', 'python', 'schemathesis.toml'),
      'run',
      `${r.gw.url}/openapi.json`,
      '--checks',
      r.checks.join(','),
      '--phases',
      r.phases,
      '--max-examples',
      String(r.maxExamples),
      '--max-time',
      String(r.timeBudgetS),
      '--workers',
      '2',
      '--request-timeout',
      '20',
      '--seed',
      '1',
      '--generation-database',
      'none',
      '--no-color',
      '--output-sanitize',
      'false',
      '--report',
      'junit',
      '--report-junit-path',
      join(ARTIFACTS, `${r.name}-junit.xml`),
      ...(r.extraArgs ?? []),
    ],
    {
      ...process.env,
      FUZZ_TOPIC: topic,
      FUZZ_CLUSTER_ID: clusterId,
      FUZZ_HOOKS: join(ROOT, 'test', 'python', 'fuzz_hooks.py'),
      SCHEMATHESIS_HOOKS: '',
      PYTHONUNBUFFERED: '1',
    },
    (r.timeBudgetS + 50) * 1000,
  );
  writeFileSync(join(ARTIFACTS, `${r.name}.txt`), output);
  expect(code, output.slice(-12_000)).toBe(0);
  // The gateway is still healthy afterwards.
  expect((await fetch(`${r.gw.url}/readyz`)).status).toBe(200);
}

function authHeader(args: string[] = []): Record<string, string> {
  const i = args.indexOf('--header');
  if (i < 0) return {};
  const [name, ...rest] = args[i + 1]!.split(':');
  return { [name!]: rest.join(':').trim() };
}

describe('schemathesis against the live gateway', () => {
  let exe: string;
  const topic = uniqueTopic('fuzz');
  // A broker of its own: the fuzzer learns real topic names and the cluster id from responses and creates and
  // deletes topics with them, so on the shared broker it removed other test files' topics mid-test.
  let kafka: LocalKafka;
  let brokers: string;

  beforeAll(async () => {
    [exe, kafka] = await Promise.all([ensureFuzzEnv() as Promise<string>, startKafka({ log: () => {} })]);
    brokers = kafka.bootstrap.PLAINTEXT;
    await createTopic(brokers, topic, 3);
  }, 300_000);

  afterAll(async () => {
    await kafka?.stop();
  });

  it('AUTH_MODE=none: no server errors and no responses outside the document', async () => {
    const gw = await startTestGateway({ KAFKA_BROKERS: brokers });
    try {
      await fuzz(exe, topic, {
        name: 'schemathesis',
        gw,
        checks: CHECKS,
        phases: 'examples,coverage,fuzzing',
        maxExamples: 15,
        timeBudgetS: TIME_BUDGET_S,
        // A request without Authorization is fine here (AUTH_MODE=none); the JWT run below covers auth.
        extraArgs: ['--generation-with-security-parameters', 'false'],
      });
    } finally {
      await gw.close();
    }
  }, 240_000);

  // Short: every route the document marks as needing a bearer token refuses a request without one, or with a bad
  // one, with 401 (`ignored_auth`), while the valid token gets through to documented answers.
  it('AUTH_MODE=jwt: every secured route refuses missing and invalid tokens', async () => {
    const gw = await startTestGateway({ KAFKA_BROKERS: brokers, AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET });
    try {
      const token = await new SignJWT({ sub: 'fuzz', scope: 'kafka:admin kafka:produce:* kafka:consume:*' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(SECRET));
      await fuzz(exe, topic, {
        name: 'schemathesis-jwt',
        gw,
        checks: [
          'ignored_auth',
          'not_a_server_error',
          'status_code_conformance',
          'content_type_conformance',
          'response_schema_conformance',
        ],
        phases: 'examples,fuzzing',
        maxExamples: 5,
        timeBudgetS: 30,
        extraArgs: ['--header', `Authorization: Bearer ${token}`],
      });
    } finally {
      await gw.close();
    }
  }, 180_000);
});
