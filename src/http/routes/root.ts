/**
 * `/`: where a newcomer lands. A browser gets a small HTML page linking what the gateway serves (the live-tail
 * page, Swagger UI, the OpenAPI and AsyncAPI documents, metrics, health); a client that asks for JSON
 * (`Accept: application/json` without `text/html`) gets the same links as a JSON object. Public like /docs (it says
 * nothing the linked documents do not say). Links are relative, so the page also works behind a path prefix.
 * The page has no script, and its one inline style is allowed by its hash only (a strict CSP like /ui's).
 */
import { createHash } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps.js';

export interface RootOptions {
  /** The gateway's version, as in the OpenAPI document. */
  version: string;
  /** Whether `/metrics` is served (the metrics registry is optional). */
  metrics: boolean;
}

interface Link {
  href: string;
  title: string;
  what: string;
}

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}' +
  'a{color:#0b5cad}dt{margin-top:.8rem;font-weight:600}dd{margin:0}code{font-size:.9em}';

export const ROOT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function rootLinks(metrics: boolean): Link[] {
  const links: Link[] = [
    { href: 'ui', title: 'Live tail', what: 'watch a topic over the WebSocket API (/ui)' },
    {
      href: 'docs',
      title: 'REST API',
      what: 'Swagger UI for produce (v2, v3), consumers, metadata, topic admin and SSE (/docs)',
    },
    { href: 'openapi.json', title: 'OpenAPI document', what: 'the REST contract (/openapi.json, also /openapi.yaml)' },
    { href: 'asyncapi.yaml', title: 'AsyncAPI document', what: 'the WebSocket protocol kgw.v1 (/asyncapi.yaml)' },
  ];
  if (metrics) links.push({ href: 'metrics', title: 'Metrics', what: 'Prometheus text format (/metrics)' });
  links.push(
    { href: 'healthz', title: 'Liveness', what: 'the process is up (/healthz)' },
    { href: 'readyz', title: 'Readiness', what: 'Kafka is reachable (/readyz)' },
  );
  return links;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

function page(version: string, links: Link[]): string {
  const items = links
    .map((l) => `<dt><a href="${escapeHtml(l.href)}">${escapeHtml(l.title)}</a></dt><dd>${escapeHtml(l.what)}</dd>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kafka HTTP/WebSocket gateway</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Kafka HTTP/WebSocket gateway</h1>
<p>Version ${escapeHtml(version)}. Produce with <code>POST /topics/{topic}</code> (Confluent REST Proxy v2), subscribe with
<code>GET /ws</code> (subprotocol <code>kgw.v1</code>).</p>
<dl>
${items}
</dl>
</body>
</html>
`;
}

/** True when the client prefers JSON: it names a JSON type and does not name HTML (browsers always name HTML). */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  return !types.includes('text/html') && types.some((t) => t === 'application/json' || t.endsWith('+json'));
}

export function rootRoutes(options: RootOptions) {
  const app = new OpenAPIHono<AppEnv>();
  const links = rootLinks(options.metrics);
  const html = page(options.version, links);
  app.get('/', (c) => {
    c.header('Vary', 'Accept');
    c.header('Cache-Control', 'no-cache');
    if (wantsJson(c.req.header('accept')))
      return c.json({
        name: 'kafka-gateway',
        version: options.version,
        links: Object.fromEntries(links.map((l) => [l.href, { href: `/${l.href}`, title: l.title }])),
      });
    c.header('Content-Security-Policy', ROOT_CSP);
    return c.html(html);
  });
  return app;
}
