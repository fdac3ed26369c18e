// The v2 consumer API's boundaries: an instance belongs to the `sub` that made it, rights are checked on every call,
// instances expire when idle, limits refuse with Retry-After, `timeout` and `max_bytes` are capped, and nothing a
// client sends (instance ids, group names, headers) makes a replica send a request anywhere but its configured peers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOOKUP_PATH } from '../../src/consumers/peers.js';
import { PEER_SIGNATURE_HEADER, PEER_TIME_HEADER, PeerAuth } from '../../src/consumers/peer-auth.js';
import type { Gateway } from '../../src/server.js';
import { request } from '../helpers/consumers.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, produce, uniqueTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const topic = uniqueTopic('cons-sec');
const SECRET = 'consumer-security-jwt-secret-of-32-bytes!';
const PEER_SECRET = 'consumer-security-peer-secret-32-bytes!!';
const BINARY = 'application/vnd.kafka.binary.v2+json';
const started: Gateway[] = [];

async function token(sub: string, kafka: Record<string, unknown>): Promise<string> {
  return new SignJWT({ sub, kafka })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

async function gateway(env: Record<string, string>): Promise<Gateway> {
  const gw = await startTestGateway(env);
  started.push(gw);
  return gw;
}

/** An HTTP server that records every request it gets (and answers what `answer` says). */
async function recorder(answer: (req: http.IncomingMessage, body: Buffer) => { status: number; body: string }) {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const a = answer(req, body);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

beforeAll(async () => {
  await createTopic(brokers, topic, 1);
  await produce(
    brokers,
    topic,
    Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })),
  );
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(started.map((g) => g.close()));
  await deleteTopics(brokers, [topic]);
});

describe('v2 consumers: ownership and rights', () => {
  it('another sub gets 40403; missing group or topic rights get 403', async () => {
    const gw = await gateway({ AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET });
    const rights = { groups: ['team-*'], consume: [topic] };
    const alice = { authorization: `Bearer ${await token('alice', rights)}` };
    const bob = { authorization: `Bearer ${await token('bob', rights)}` };
    const noGroup = { authorization: `Bearer ${await token('carol', { groups: ['other-*'], consume: [topic] })}` };
    const noTopic = { authorization: `Bearer ${await token('dave', { groups: ['team-*'], consume: ['x'] })}` };
    const g = `team-${Date.now()}`;
    const base = `/consumers/${g}/instances/mine`;
    expect((await request(gw.url, 'POST', `/consumers/${g}`, { name: 'mine' }, alice)).status).toBe(200);
    expect((await request(gw.url, 'POST', `${base}/subscription`, { topics: [topic] }, alice)).status).toBe(204);
    for (const [method, path, body] of [
      ['GET', `${base}/records`, undefined],
      ['GET', `${base}/subscription`, undefined],
      ['POST', `${base}/offsets`, undefined],
      ['DELETE', base, undefined],
    ] as const) {
      const r = await request(gw.url, method, path, body, bob);
      expect([r.status, r.body?.error_code], `${method} ${path}`).toEqual([404, 40403]);
    }
    const other = await request(gw.url, 'GET', `${base}/subscription`, undefined, noGroup);
    expect([other.status, other.body.error_code]).toEqual([403, 40301]);
    expect((await request(gw.url, 'POST', `/consumers/${g}`, { name: 'd' }, noTopic)).status).toBe(200);
    const sub = await request(gw.url, 'POST', `/consumers/${g}/instances/d/subscription`, { topics: [topic] }, noTopic);
    expect([sub.status, sub.body.error_code]).toEqual([403, 40301]);
    // Alice's instance is untouched by all that.
    expect((await request(gw.url, 'GET', `${base}/subscription`, undefined, alice)).body).toEqual({ topics: [topic] });
    expect((await request(gw.url, 'DELETE', base, undefined, alice)).status).toBe(204);
  }, 60_000);
});

describe('v2 consumers: bounds', () => {
  it('expires idle instances (the per-instance timeout is capped by CONSUMER_INSTANCE_TIMEOUT_MAX_MS)', async () => {
    const gw = await gateway({ CONSUMER_INSTANCE_TIMEOUT_MS: '1000', CONSUMER_INSTANCE_TIMEOUT_MAX_MS: '1500' });
    const g = `exp-${Date.now()}`;
    await request(gw.url, 'POST', `/consumers/${g}`, { name: 'short' });
    const t0 = Date.now();
    await request(gw.url, 'POST', `/consumers/${g}`, { name: 'long', 'consumer.instance.timeout.ms': '600000' });
    const alive = async (n: string) =>
      (await request(gw.url, 'GET', `/consumers/${g}/instances/${n}/subscription`)).status;
    expect(await alive('short')).toBe(200);
    // Watched through /metrics: a call on an instance would keep it alive.
    const held = async () =>
      Number(/^kafka_gateway_consumer_instances (\d+)$/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1]);
    expect(await held()).toBe(2);
    await waitFor('both instances to expire', async () => (await held()) === 0, { timeoutMs: 10_000, intervalMs: 100 });
    // Not before 'long' was idle for the cap (1.5 s, not the 600 s it asked for).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(await alive('short')).toBe(404);
    expect(await alive('long')).toBe(404);
  }, 30_000);

  it('refuses instances over the per-replica limit with 503 50301 and Retry-After', async () => {
    const gw = await gateway({ CONSUMER_MAX_INSTANCES: '2' });
    const g = `lim-${Date.now()}`;
    expect((await request(gw.url, 'POST', `/consumers/${g}`, {})).status).toBe(200);
    expect((await request(gw.url, 'POST', `/consumers/${g}`, {})).status).toBe(200);
    const third = await request(gw.url, 'POST', `/consumers/${g}`, {});
    expect([third.status, third.body.error_code]).toEqual([503, 50301]);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('caps timeout and honours max_bytes (at least one record per answer)', async () => {
    const gw = await gateway({ CONSUMER_MAX_REQUEST_TIMEOUT_MS: '300' });
    const g = `cap-${Date.now()}`;
    await request(gw.url, 'POST', `/consumers/${g}`, { name: 'c', 'auto.offset.reset': 'earliest' });
    const base = `/consumers/${g}/instances/c`;
    await request(gw.url, 'POST', `${base}/assignments`, { partitions: [{ topic, partition: 0 }] });
    let first: { offset: number }[] = [];
    for (let i = 0; i < 50 && first.length === 0; i++)
      first = (await request(gw.url, 'GET', `${base}/records?max_bytes=1`, undefined, { accept: BINARY })).body;
    expect(first).toHaveLength(1);
    // Drain, then a long timeout is cut to the cap.
    for (let i = 0; i < 10; i++)
      await request(gw.url, 'GET', `${base}/records?timeout=100`, undefined, { accept: BINARY });
    const t0 = Date.now();
    const empty = await request(gw.url, 'GET', `${base}/records?timeout=600000`, undefined, { accept: BINARY });
    expect(empty.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(5000);
    const bad = await request(gw.url, 'GET', `${base}/records?timeout=soon`, undefined, { accept: BINARY });
    expect([bad.status, bad.body.error_code]).toEqual([400, 400]);
  }, 30_000);
});

describe('v2 consumers: no SSRF, peers verified', () => {
  it('sends only signed lookups to configured peers, whatever ids and headers a client forges', async () => {
    const auth = new PeerAuth(PEER_SECRET);
    const trap = await recorder(() => ({ status: 200, body: '{}' }));
    // A configured peer that holds nothing (answers "none", signed as a replica would).
    const peer = await recorder((req) => {
      const signature = String(req.headers[PEER_SIGNATURE_HEADER] ?? '');
      return { status: 200, body: JSON.stringify({ presence: 'none', signature: auth.signAnswer(signature, 'none') }) };
    });
    try {
      const gw = await gateway({ PEER_URLS: peer.url, PEER_SECRET });
      const trapHost = new URL(trap.url).host;
      const g = 'ssrf';
      const forgedIds = [
        encodeURIComponent(trap.url),
        encodeURIComponent(`${trapHost}/x`),
        trapHost,
        '..%2F..%2Fadmin',
        `kgw-${Buffer.from(trap.url).toString('base64url')}`,
        '127.0.0.1',
      ];
      const forgedHeaders = {
        host: trapHost,
        'x-forwarded-host': trapHost,
        'x-forwarded-proto': 'http',
        forwarded: `host=${trapHost}`,
        [PEER_TIME_HEADER]: String(Date.now()),
      };
      for (const id of forgedIds) {
        const r = await request(
          gw.url,
          'GET',
          `/consumers/${g}/instances/${id}/subscription`,
          undefined,
          forgedHeaders,
        );
        expect([r.status, r.body?.error_code], id).toEqual([404, 40403]);
      }
      // A forged peer signature is refused outright.
      const forged = await request(gw.url, 'GET', `/consumers/${g}/instances/x/subscription`, undefined, {
        [PEER_TIME_HEADER]: String(Date.now()),
        [PEER_SIGNATURE_HEADER]: 'AAAA',
      });
      expect([forged.status, forged.body.error_code]).toEqual([403, 40301]);
      const lookup = await request(
        gw.url,
        'POST',
        LOOKUP_PATH,
        { group: g, name: 'x' },
        { 'content-type': 'application/json' },
      );
      expect(lookup.status).toBe(403);
      // base_uri ignores X-Forwarded-* without TRUST_PROXY.
      const created = await request(gw.url, 'POST', `/consumers/${g}`, {}, { 'x-forwarded-host': 'evil.example' });
      expect(created.body.base_uri.startsWith(gw.url)).toBe(true);

      expect(trap.seen).toEqual([]);
      expect(peer.seen.length).toBeGreaterThan(0);
      for (const s of peer.seen) {
        expect(s.url).toBe(LOOKUP_PATH);
        const parts = {
          method: s.method,
          path: s.url,
          authorization: String(s.headers.authorization ?? ''),
          body: s.body,
        };
        expect(auth.verify(parts, String(s.headers[PEER_TIME_HEADER]), String(s.headers[PEER_SIGNATURE_HEADER]))).toBe(
          true,
        );
      }
    } finally {
      await trap.close();
      await peer.close();
    }
  }, 60_000);

  it('ignores a peer answer that is not signed with the shared secret', async () => {
    const liar = await recorder(() => ({
      status: 200,
      body: JSON.stringify({ presence: 'owned', signature: 'nope' }),
    }));
    try {
      const gw = await gateway({ PEER_URLS: liar.url, PEER_SECRET });
      const r = await request(gw.url, 'GET', '/consumers/g/instances/someone/subscription');
      expect([r.status, r.body.error_code]).toEqual([404, 40403]);
      expect(liar.seen.map((s) => s.url)).toEqual([LOOKUP_PATH]);
    } finally {
      await liar.close();
    }
  }, 30_000);

  it('honours X-Forwarded-Proto/-Host only with TRUST_PROXY, and PUBLIC_BASE_URL over both', async () => {
    const trusted = await gateway({ TRUST_PROXY: 'true' });
    const a = await request(
      trusted.url,
      'POST',
      '/consumers/bu',
      {},
      {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'kafka.example.com',
      },
    );
    expect(a.body.base_uri).toBe(`https://kafka.example.com/consumers/bu/instances/${a.body.instance_id}`);
    const pub = await gateway({ TRUST_PROXY: 'true', PUBLIC_BASE_URL: 'https://api.example.org/kafka/' });
    const b = await request(pub.url, 'POST', '/consumers/bu', {}, { 'x-forwarded-host': 'other.example' });
    expect(b.body.base_uri).toBe(`https://api.example.org/kafka/consumers/bu/instances/${b.body.instance_id}`);
  });
});
