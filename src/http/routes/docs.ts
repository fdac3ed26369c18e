/**
 * API docs: `/openapi.yaml` (the same document as `/openapi.json`) and `/docs`, a Swagger UI page served from
 * the installed swagger-ui-dist package (no CDN: works offline). "Try it out" calls this same origin: the
 * document names no servers, so Swagger UI uses the origin it was loaded from.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../deps.js';

export interface DocsOptions {
  /** The OpenAPI document (the app's own, as served at /openapi.json). */
  document: () => unknown;
}

/** The files of swagger-ui-dist the page needs; nothing else of node_modules is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Restrictive, but what Swagger UI needs: its own scripts and styles from this origin (styles set through the DOM
 * need 'unsafe-inline' for style only), data: images (icons in its CSS), blob: images (image responses), and
 * fetches to this origin only ("try it out"). No frames, no forms posting elsewhere, no plugins.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

// Relative URLs: the page also works behind a path prefix (/prefix/docs → /prefix/openapi.json).
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kafka gateway API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the CSP needs no 'unsafe-inline' for scripts.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: false,
  displayRequestDuration: true,
});
`;

function swaggerUiDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

export function docsRoutes(_deps: AppDeps, options: DocsOptions) {
  // Resolved at start-up: a missing package fails when the process starts, not at the first visit.
  const dir = swaggerUiDir();
  const cache = new Map<string, Promise<Buffer>>();
  let yaml: string | undefined;
  // An OpenAPIHono with no documented paths: the router list of buildApp reads every router's registry.
  const app = new OpenAPIHono<AppEnv>();

  const securityHeaders = (c: Context) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
  };

  app.get('/openapi.yaml', async (c) => {
    // The YAML library is loaded at the first visit: most gateways never serve this document (M1, idle memory).
    yaml ??= (await import('yaml')).stringify(options.document(), { lineWidth: 0, aliasDuplicateObjects: false });
    c.header('Content-Type', 'application/yaml; charset=utf-8');
    return c.body(yaml);
  });

  app.get('/docs', (c) => {
    securityHeaders(c);
    c.header('Cache-Control', 'no-cache');
    return c.html(PAGE);
  });
  app.get('/docs/', (c) => c.redirect('../docs', 301));

  app.get('/docs/init.js', (c) => {
    securityHeaders(c);
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    return c.body(INIT);
  });

  app.get('/docs/:file', async (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) return c.notFound();
    let data = cache.get(file);
    if (!data) {
      data = readFile(join(dir, file));
      cache.set(file, data);
      data.catch(() => cache.delete(file));
    }
    securityHeaders(c);
    c.header('Content-Type', type);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(new Uint8Array(await data));
  });

  return app;
}
