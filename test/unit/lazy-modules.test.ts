// What only some requests need is loaded when first needed (docs/performance.md, M1 idle memory): a gateway started
// with the default settings has not loaded the YAML library, the AsyncAPI generator, jose (AUTH_MODE=jwt only), the
// OpenTelemetry SDK (tracing off) or pino-pretty (LOG_FORMAT=pretty only); the first request to each route that
// needs one still answers in full. Checked in a fresh Node process (test/unit/fixtures/lazy-modules-gateway.mts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isSupported, npmProvidedNode } from '../../scripts/node-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const probe = join(root, 'test', 'unit', 'fixtures', 'lazy-modules-gateway.mts');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Report {
  atStart: string[];
  after: string[];
  answers: Record<string, { status: number; type: string | null; body: string }>;
}

const LAZY: Record<string, RegExp> = {
  yaml: /[\\/]node_modules[\\/]yaml[\\/]/,
  'AsyncAPI generator': /[\\/]src[\\/]ws[\\/]asyncapi[\\/]document\.ts$/,
  jose: /[\\/]node_modules[\\/]jose[\\/]/,
  'OpenTelemetry SDK': /[\\/]node_modules[\\/]@opentelemetry[\\/](sdk-|exporter-|resources|context-async-hooks)/,
  'pino-pretty': /[\\/]node_modules[\\/]pino-pretty[\\/]/,
};
const loads = (files: string[], re: RegExp) => files.some((f) => re.test(f));

let report: Report;
beforeAll(() => {
  const env: NodeJS.ProcessEnv = {};
  // The defaults, whatever this machine's environment says (an OTEL endpoint would turn tracing on).
  for (const [k, v] of Object.entries(process.env)) if (!/^(OTEL_|KAFKA_|AUTH_|LOG_|GATEWAY_|TLS_)/.test(k)) env[k] = v;
  const dir = mkdtempSync(join(tmpdir(), 'lazy-modules-report-'));
  const out = join(dir, 'report.json');
  try {
    // The default Kafka client needs Node ≥ 22.22: on an older `node` (a direct `npx vitest` on Node 20) the probe
    // runs on the npm-provided Node 24, as `npm test` does (scripts/node-runtime.mjs).
    const node = isSupported() ? process.execPath : npmProvidedNode(24);
    execFileSync(node, [tsx, probe, out], { cwd: root, env, stdio: 'inherit', timeout: 60_000 });
    report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('a gateway started with the defaults', () => {
  it('has loaded what every request needs (the probe sees packages and our own files)', () => {
    expect(loads(report.atStart, /[\\/]node_modules[\\/]kafkajs[\\/]/)).toBe(true);
    expect(loads(report.atStart, /[\\/]node_modules[\\/]hono[\\/]/)).toBe(true);
    expect(loads(report.atStart, /[\\/]src[\\/]http[\\/]routes[\\/]asyncapi\.ts$/)).toBe(true);
  });

  it.each(Object.keys(LAZY))('has not loaded %s', (name) => {
    expect(report.atStart.filter((f) => LAZY[name]!.test(f))).toEqual([]);
  });

  it('serves the OpenAPI document at the first GET /openapi.json, and the same document as YAML', () => {
    const json = report.answers['/openapi.json']!;
    expect(json.status).toBe(200);
    expect(json.type).toMatch(/^application\/json/);
    const doc = JSON.parse(json.body) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/topics/{topic}');
    const yaml = report.answers['/openapi.yaml']!;
    expect(yaml.status).toBe(200);
    expect(yaml.type).toMatch(/^application\/yaml/);
    expect(parse(yaml.body)).toEqual(doc);
  });

  it('serves the AsyncAPI document at the first GET /asyncapi.yaml', () => {
    const a = report.answers['/asyncapi.yaml']!;
    expect(a.status).toBe(200);
    const doc = parse(a.body) as { asyncapi: string; channels: Record<string, unknown> };
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(Object.keys(doc.channels).length).toBeGreaterThan(0);
  });

  it('serves the docs page, its assets, the live-tail page and the landing page', () => {
    expect(report.answers['/docs']).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/) });
    expect(report.answers['/docs']!.body).toContain('swagger-ui-bundle.js');
    expect(report.answers['/docs/swagger-ui.css']).toMatchObject({
      status: 200,
      type: expect.stringMatching(/^text\/css/),
    });
    expect(report.answers['/docs/swagger-ui.css']!.body.length).toBeGreaterThan(10_000);
    expect(report.answers['/ui']).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/) });
    expect(report.answers['/']).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/) });
  });

  it('loads the YAML library and the AsyncAPI generator for those first requests', () => {
    expect(loads(report.after, LAZY.yaml!)).toBe(true);
    expect(loads(report.after, LAZY['AsyncAPI generator']!)).toBe(true);
  });
});
