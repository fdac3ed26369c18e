/**
 * `base_uri` of a new instance: PUBLIC_BASE_URL when set, else the URL the client used — its Host, and the
 * X-Forwarded-Proto / X-Forwarded-Host of the proxy in front only when TRUST_PROXY says that proxy sets them. Never
 * a replica's own address (clients come back through the load balancer).
 */
import type { Config } from '../config.js';

/** A Host value we repeat back: a name or address and an optional port, nothing else. */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export interface RequestView {
  url: string;
  header(name: string): string | undefined;
}

export function baseUri(
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'TRUST_PROXY'>,
  req: RequestView,
  group: string,
  name: string,
): string {
  const path = `/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}`;
  if (config.PUBLIC_BASE_URL) return `${config.PUBLIC_BASE_URL}${path}`;
  const seen = new URL(req.url);
  let proto = seen.protocol.replace(':', '');
  let host = req.header('host') ?? seen.host;
  if (config.TRUST_PROXY) {
    const fp = first(req.header('x-forwarded-proto'))?.toLowerCase();
    const fh = first(req.header('x-forwarded-host'));
    if (fp === 'http' || fp === 'https') proto = fp;
    if (fh && HOST.test(fh)) host = fh;
  }
  if (!HOST.test(host)) host = seen.host;
  return `${proto}://${host}${path}`;
}

const first = (v: string | undefined) => v?.split(',')[0]?.trim() || undefined;
