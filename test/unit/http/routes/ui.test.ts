// /ui, in-process (no broker): the page and its assets from public/ui with a strict CSP, content-hashed asset
// links and cache headers, conditional requests, and nothing outside the folder's allowlist.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerlessApp } from '../../../../scripts/openapi.js';
import { publicPathMatcher } from '../../../../src/auth/middleware.js';
import { findUiDir, UI_CSP } from '../../../../src/http/routes/ui.js';

const app = brokerlessApp();
const dir = findUiDir();

describe('/ui', () => {
  it('serves the live-tail page under a strict CSP', async () => {
    const res = await app.request('/ui');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(UI_CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' ws: wss:");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=|\son\w+=/); // no inline style or handler (the CSP would block them)
    expect(html).toMatch(/<script type="module" src="ui\/app\.js\?v=[\w-]{16}"><\/script>/);
  });

  it('links assets by content hash: the current hash is cached for good, anything else revalidates', async () => {
    const html = await (await app.request('/ui')).text();
    const links = [...html.matchAll(/(?:href|src)="(ui\/[^"]+)"/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const link of links) {
      const res = await app.request(`/${link}`);
      expect(res.status, link).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
      const file = link.slice(3, link.indexOf('?'));
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dir, file))), file).toBe(true);
    }
    const stale = await app.request('/ui/app.js?v=old');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('cache-control')).toBe('no-cache');
    expect(stale.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    for (const path of ['/ui', '/ui/style.css']) {
      const first = await app.request(path);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await app.request(path, { headers: { 'If-None-Match': `W/${etag}` } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
  });

  it('serves every file of public/ui', async () => {
    for (const name of readdirSync(dir).filter((f) => f !== 'index.html'))
      expect((await app.request(`/ui/${name}`)).status, name).toBe(200);
  });

  it.each(['/ui/index.html', '/ui/..%2Fpackage.json', '/ui/../package.json', '/ui/nope.js', '/ui/a/b', '/uix'])(
    'does not serve %s',
    async (path) => {
      expect((await app.request(path)).status).toBe(404);
    },
  );

  it('/ui/ redirects to /ui', async () => {
    const res = await app.request('/ui/');
    expect(res.status).toBe(301);
    expect(new URL(res.headers.get('location')!, 'http://gw/ui/').pathname).toBe('/ui');
  });

  it('is public (it asks for a token itself) unless AUTH_PUBLIC_DOCS=false', () => {
    expect(publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: true })('/ui')).toBe(true);
    expect(publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: true })('/ui/app.js')).toBe(true);
    expect(publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: false })('/ui')).toBe(false);
  });

  it('never feeds Kafka data to an HTML sink', () => {
    const js = readFileSync(join(dir, 'app.js'), 'utf8');
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(js).not.toMatch(/localStorage/); // the token lives in sessionStorage only
  });
});
