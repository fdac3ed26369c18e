/**
 * Which browser pages may open a long-lived stream (a WebSocket, an event stream) with a caller's credentials: the
 * defence against cross-site WebSocket hijacking and its SSE twin. Used by the WebSocket upgrade and GET /sse;
 * both read WS_ALLOWED_ORIGINS.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** How allowed origins are compared: case-insensitive, without trailing slashes. */
export function normalizeOrigin(o: string): string {
  return o.trim().toLowerCase().replace(/\/+$/, '');
}

/**
 * No Origin header (a non-browser client) passes on to the credential check; a browser's Origin must be in
 * `allowed` (normalised; `*` allows every page), or, when `allowed` is empty, be the request's own origin (the
 * same host and port as the Host header).
 */
export function originAllowed(
  headers: Pick<IncomingHttpHeaders, 'origin' | 'host'>,
  allowed: readonly string[],
): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (allowed.length > 0) return allowed.includes('*') || allowed.includes(normalizeOrigin(origin));
  try {
    const host = headers.host?.toLowerCase();
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
