/**
 * Finding and calling the replica that holds a consumer instance. Addresses come only from PEER_URLS (a host name
 * there stands for every address DNS gives for it, as a Kubernetes headless service does): nothing a client sends
 * — instance ids, group names, headers — ever chooses where a replica sends a request. A miss asks every peer
 * ("who holds (group, name) for this caller?", signed both ways); the answer is cached until the owner stops
 * answering for it.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { PEER_SIGNATURE_HEADER, type PeerAuth } from './peer-auth.js';
import type { Presence } from './registry.js';

export const LOOKUP_PATH = '/_peer/v1/consumer-lookup';
/**
 * Set on calls between worker processes of one pod (WORKERS > 1, docs/workers.md): a worker that gets a call from a
 * sibling answers from its own instances only, while one from another pod is passed on to its siblings. Trusted only
 * on a request whose peer signature verified.
 */
export const PEER_VIA_HEADER = 'kgw-peer-via';
/** Peer addresses from DNS are re-read this often. */
const DNS_TTL_MS = 5000;
/** Where an instance lives is remembered this long (and dropped as soon as its owner stops answering for it). */
const OWNER_TTL_MS = 60_000;
const OWNER_CACHE_MAX = 10_000;
/** A peer's answer is read up to this size. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface PeerResponse {
  status: number;
  headers: Record<string, string>;
  /** Handed to the client as it is (a `GET records` answer is megabytes: not copied again). */
  body: Buffer<ArrayBuffer>;
}

export interface ForwardRequest {
  method: string;
  /** Built by the route from parsed parameters (never the raw URL). */
  path: string;
  authorization: string;
  headers: Record<string, string>;
  body: Buffer;
}

export class Peers {
  private resolved: { at: number; targets: Promise<string[]> } | undefined;
  private readonly owners = new Map<string, { url: string; at: number }>();

  /**
   * `urls`: PEER_URLS; or, for the sibling workers of this pod, a function giving their loopback URLs now (they
   * change as workers restart, and are addresses, so they are read at every call instead of resolved and cached).
   */
  constructor(
    private readonly urls: string[] | (() => readonly string[]),
    readonly auth: PeerAuth,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  private get siblings(): boolean {
    return typeof this.urls === 'function';
  }

  /** Base URLs of every replica (this one included: it simply answers "none"). */
  targets(): Promise<string[]> {
    if (typeof this.urls === 'function') return Promise.resolve([...this.urls()]);
    const now = Date.now();
    if (!this.resolved || now - this.resolved.at > DNS_TTL_MS)
      this.resolved = { at: now, targets: this.resolve().catch(() => []) };
    return this.resolved.targets;
  }

  private async resolve(): Promise<string[]> {
    const out = new Set<string>();
    await Promise.all(
      (this.urls as string[]).map(async (raw) => {
        const u = new URL(raw);
        const host = u.hostname.replace(/^\[|\]$/g, '');
        if (isIP(host) || host === 'localhost') {
          out.add(u.origin);
          return;
        }
        try {
          for (const a of await dnsLookup(host, { all: true })) {
            const copy = new URL(u.origin);
            copy.hostname = a.family === 6 ? `[${a.address}]` : a.address;
            out.add(copy.origin);
          }
        } catch (e) {
          this.log.warn({ host, err: (e as Error).message }, 'peer host name did not resolve');
        }
      }),
    );
    return [...out];
  }

  /** Ask every peer who holds (group, name) for this caller. */
  async find(group: string, name: string, authorization: string): Promise<{ presence: Presence; url?: string }> {
    const body = Buffer.from(JSON.stringify({ group, name }));
    const answers = await Promise.all(
      (await this.targets()).map(async (url) => {
        const signed = this.auth.sign({ method: 'POST', path: LOOKUP_PATH, authorization, body });
        try {
          const res = await this.send(url, {
            method: 'POST',
            path: LOOKUP_PATH,
            authorization,
            headers: { 'content-type': 'application/json', ...signed },
            body,
          });
          if (res.status !== 200) return undefined;
          const a = JSON.parse(res.body.toString('utf8')) as { presence?: unknown; signature?: unknown };
          const presence = a.presence;
          if (presence !== 'owned' && presence !== 'taken' && presence !== 'none') return undefined;
          if (!this.auth.verifyAnswer(signed[PEER_SIGNATURE_HEADER]!, presence, a.signature)) {
            this.log.warn({ peer: url }, 'peer answer with a bad signature ignored');
            return undefined;
          }
          return { presence: presence as Presence, url };
        } catch {
          return undefined; // a dead or slow peer holds nothing we can reach
        }
      }),
    );
    const owned = answers.find((a) => a?.presence === 'owned');
    if (owned) {
      this.remember(group, name, owned.url);
      return owned;
    }
    return { presence: answers.some((a) => a?.presence === 'taken') ? 'taken' : 'none' };
  }

  /**
   * Serve a call from the replica that holds the instance: undefined when no replica (any more) holds it for this
   * caller. A cached owner that answers 40403 or cannot be reached is forgotten and the peers asked again once.
   */
  async forward(
    group: string,
    name: string,
    req: ForwardRequest,
    extraWaitMs: number,
  ): Promise<PeerResponse | undefined> {
    const k = `${group}\u0000${name}`;
    const cached = this.owners.get(k);
    if (cached && Date.now() - cached.at < OWNER_TTL_MS) {
      const res = await this.call(cached.url, req, extraWaitMs).catch(() => undefined);
      if (res && !isInstanceNotFound(res)) return res;
      this.owners.delete(k);
    }
    const found = await this.find(group, name, req.authorization);
    if (!found.url) return undefined;
    const res = await this.call(found.url, req, extraWaitMs).catch(() => undefined);
    if (!res || isInstanceNotFound(res)) {
      this.owners.delete(k);
      return undefined;
    }
    if (req.method === 'DELETE' && res.status < 300) this.owners.delete(k);
    return res;
  }

  private call(url: string, req: ForwardRequest, extraWaitMs: number): Promise<PeerResponse> {
    const signed = this.auth.sign({
      method: req.method,
      path: req.path,
      authorization: req.authorization,
      body: req.body,
    });
    return this.send(url, { ...req, headers: { ...req.headers, ...signed } }, this.timeoutMs + extraWaitMs);
  }

  private remember(group: string, name: string, url: string): void {
    if (this.owners.size >= OWNER_CACHE_MAX) this.owners.delete(this.owners.keys().next().value as string);
    this.owners.set(`${group}\u0000${name}`, { url, at: Date.now() });
  }

  /** One request to a peer (node's http, which, unlike fetch, sends a body with GET as Confluent clients do). */
  private send(base: string, req: ForwardRequest, timeoutMs = this.timeoutMs): Promise<PeerResponse> {
    const u = new URL(base);
    const lib = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers, 'content-length': String(req.body.length) };
      if (this.siblings) headers[PEER_VIA_HEADER] = 'sibling';
      if (req.authorization) headers.authorization = req.authorization;
      const r = lib.request(
        {
          protocol: u.protocol,
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port,
          method: req.method,
          path: req.path,
          headers,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) res.destroy(new Error('peer answer too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const out: Record<string, string> = {};
            for (const h of ['content-type', 'retry-after', 'www-authenticate'])
              if (typeof res.headers[h] === 'string') out[h] = res.headers[h];
            resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error('peer timed out')));
      r.on('error', reject);
      r.end(req.body);
    });
  }
}

function isInstanceNotFound(res: PeerResponse): boolean {
  if (res.status !== 404) return false;
  try {
    return (JSON.parse(res.body.toString('utf8')) as { error_code?: unknown }).error_code === 40403;
  } catch {
    return false;
  }
}
