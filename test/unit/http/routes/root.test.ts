// GET / through the real app: a browser gets a small HTML page linking what the gateway serves (each link answers),
// a JSON client gets the same links as JSON, and the page is public like /docs (no token, unless AUTH_PUBLIC_DOCS=false).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { brokerlessApp } from '../../../../scripts/openapi.js';
import { buildApp } from '../../../../src/app.js';
import { createTokenVerifier } from '../../../../src/auth/jwt.js';
import { loadConfig } from '../../../../src/config.js';
import type { KafkaGateway } from '../../../../src/kafka/index.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { createMetrics } from '../../../../src/observability/metrics.js';

const SECRET = 'root-page-test-secret-at-least-32-bytes-long';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

function app(env: Record<string, string> = {}, withMetrics = true) {
  const config = loadConfig(
    { KAFKA_BROKERS: '127.0.0.1:9092', AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET, ...env },
    'prod',
  );
  return buildApp({
    config,
    // Only the pages are called here: the Kafka side is never touched.
    kafka: {} as KafkaGateway,
    logger: silentLogger,
    ...(withMetrics ? { metrics: createMetrics({ defaultMetrics: false }) } : {}),
    verifier: createTokenVerifier(config, silentLogger),
  });
}

const hrefs = (html: string) => [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);

describe('GET /', () => {
  it('gives a browser an HTML page linking /ui, /docs, the API documents, /metrics and health, without a token', async () => {
    const res = await app().request('/', { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('vary')).toMatch(/accept/i);
    const html = await res.text();
    expect(hrefs(html)).toEqual(['ui', 'docs', 'openapi.json', 'asyncapi.yaml', 'metrics', 'healthz', 'readyz']);
    expect(html).not.toMatch(/<script/i);
  });

  it('links only pages that answer without a token (relative links resolve against /)', async () => {
    const a = app();
    const html = await (await a.request('/')).text();
    for (const href of hrefs(html).filter((h) => h !== 'readyz')) {
      const res = await a.request(new URL(href, 'http://gw/').pathname);
      expect(res.status, href).toBe(200);
    }
  });

  it('allows its inline style by hash under a CSP that allows nothing else', async () => {
    const res = await app().request('/');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe');
    const style = /<style>([^<]*)<\/style>/.exec(await res.text())![1]!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('leaves /metrics out when the gateway serves no metrics', async () => {
    const html = await (await app({}, false).request('/')).text();
    expect(hrefs(html)).not.toContain('metrics');
    expect(hrefs(html)).toContain('docs');
  });

  it('gives a JSON client the same links as JSON', async () => {
    const res = await app().request('/', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { name: string; version: string; links: Record<string, { href: string }> };
    expect(body.name).toBe('kafka-gateway');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.values(body.links).map((l) => l.href)).toEqual([
      '/ui',
      '/docs',
      '/openapi.json',
      '/asyncapi.yaml',
      '/metrics',
      '/healthz',
      '/readyz',
    ]);
  });

  it('serves curl (Accept: */*) the page, not a JSON 404', async () => {
    const res = await app().request('/', { headers: { accept: '*/*' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('needs a token when AUTH_PUBLIC_DOCS=false, like /docs', async () => {
    const a = app({ AUTH_PUBLIC_DOCS: 'false' });
    expect((await a.request('/')).status).toBe(401);
    expect((await a.request('/docs')).status).toBe(401);
  });

  it('is only the root: another unknown path is still the JSON 404, and POST / is that 404 too', async () => {
    const open = brokerlessApp(); // AUTH_MODE=none: no token check in the way
    const res = await open.request('/index.html', { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error_code: 404, message: expect.any(String) });
    const post = await app().request('/', { method: 'POST' });
    expect(post.status).toBe(404);
    expect(post.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
