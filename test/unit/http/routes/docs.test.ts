// /docs, its assets and /openapi.yaml, in-process (no broker): what is served, with which headers, and that nothing
// else of node_modules is reachable.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { brokerlessApp } from '../../../../scripts/openapi.js';
import { DOCS_CSP } from '../../../../src/http/routes/docs.js';

const app = brokerlessApp();

describe('/docs', () => {
  it('serves the Swagger UI page with a restrictive CSP', async () => {
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(DOCS_CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
  });

  it.each([
    ['/docs/swagger-ui-bundle.js', /^text\/javascript/],
    ['/docs/swagger-ui.css', /^text\/css/],
    ['/docs/init.js', /^text\/javascript/],
    ['/docs/favicon-32x32.png', /^image\/png/],
  ])('serves %s from the installed swagger-ui-dist', async (path, type) => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it('init.js loads the document from this origin and turns the external validator off', async () => {
    const js = await (await app.request('/docs/init.js')).text();
    expect(js).toContain("'openapi.json'");
    expect(js).toContain('validatorUrl: null');
    expect(js).not.toMatch(/https?:\/\//);
  });

  it.each([
    '/docs/package.json',
    '/docs/index.html',
    '/docs/..%2Fpackage.json',
    '/docs/swagger-initializer.js',
    '/docs/a/b',
  ])('does not serve %s', async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
  });

  it('/docs/ redirects to /docs', async () => {
    const res = await app.request('/docs/');
    expect(res.status).toBe(301);
    expect(new URL(res.headers.get('location')!, 'http://gw/docs/').pathname).toBe('/docs');
  });
});

describe('/openapi.yaml', () => {
  it('is the same document as /openapi.json', async () => {
    const yaml = await app.request('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    const json = await app.request('/openapi.json');
    expect(parse(await yaml.text())).toEqual(await json.json());
  });
});
