/**
 * `/ui`: the live-tail page (public/ui/, plain HTML/JS/CSS, no build step, no CDN). Static and open like /docs
 * (docs/security.md): it asks the user for a token and sends it itself (subprotocol `bearer.<jwt>` on the WebSocket,
 * `Authorization: Bearer` on REST calls). Served under a strict CSP: scripts and styles from this origin only, no
 * inline code, Trusted Types required (so no HTML sink can be fed a string: Kafka payloads are rendered as text,
 * OWASP API10), network access to this origin and WebSockets only.
 *
 * Caching: files are read once at start-up. The page itself is `no-cache` (revalidated with its ETag); it links
 * its assets with `?v=<content hash>`, and a request carrying the current hash is cached for a year (immutable),
 * any other is `no-cache` + ETag. Relative URLs throughout, so the page also works behind a path prefix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../deps.js';

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  hash: string;
  etag: string;
}

/** public/ui of this checkout or image: the nearest one above this module (src/, dist/ or a bench build). */
export function findUiDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'public', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir)
      throw new Error(`/ui: no public/ui/index.html found above ${from} (is public/ shipped with the build?)`);
  }
}

function asset(bytes: Uint8Array, type: string): Asset {
  const body = new Uint8Array(bytes);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { body, type, hash, etag: `"${hash}"` };
}

export interface UiOptions {
  /** The folder holding index.html and its assets (default: findUiDir()). */
  dir?: string;
}

export function uiRoutes(_deps: AppDeps, options: UiOptions = {}) {
  // Read at start-up: a missing public/ fails when the process starts, not at the first visit.
  const dir = options.dir ?? findUiDir();
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type || name.startsWith('.') || !statSync(join(dir, name)).isFile()) continue;
    assets.set(name, asset(readFileSync(join(dir, name)), type));
  }
  // The page links its own assets as `ui/<file>`: add each one's content hash, so a new release is fetched at once.
  const html = readFileSync(join(dir, 'index.html'), 'utf8').replace(
    /(href|src)="ui\/([\w.-]+)"/g,
    (_m, attr: string, file: string) => {
      const a = assets.get(file);
      if (!a) throw new Error(`/ui: index.html links ui/${file}, which is not in ${dir}`);
      return `${attr}="ui/${file}?v=${a.hash}"`;
    },
  );
  const page = asset(new TextEncoder().encode(html), 'text/html; charset=utf-8');

  const app = new OpenAPIHono<AppEnv>();

  const send = (c: Context, a: Asset, cacheControl: string) => {
    c.header('Content-Security-Policy', UI_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cache-Control', cacheControl);
    c.header('ETag', a.etag);
    if (etagMatches(c.req.header('if-none-match'), a.etag)) return c.body(null, 304);
    c.header('Content-Type', a.type);
    return c.body(a.body);
  };

  app.get('/ui', (c) => send(c, page, 'no-cache'));
  app.get('/ui/', (c) => c.redirect('../ui', 301));
  app.get('/ui/:file', (c) => {
    const a = assets.get(c.req.param('file'));
    if (!a || c.req.param('file') === 'index.html') return c.notFound();
    return send(c, a, c.req.query('v') === a.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
  });
  return app;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
