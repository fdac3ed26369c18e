// WebSocket callers against a real gateway (AUTH_JWKS_URL → a local JWKS this test rotates) and the real broker:
// the upgrade uses the same verifier as REST (same attacks refused, same key rotation, JWKS down → 503 50303), the
// token rides as the `bearer.<jwt>` subprotocol (never echoed) or the Authorization header, `?access_token=` only
// with WS_QUERY_TOKEN=true and never logged, the origin is checked before the token, subscriptions are checked
// against the token's topics and groups (internal topics admin-only), and at the token's exp the socket closes with
// 4401 unless a valid reauth of the same sub came. Browser-side checks: security-browser.test.ts.
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { JSON_V2, call, createTopicReady, post, ready, testKafkaClientEnv } from '../helpers/gateway.js';
import { uniqueTopic } from '../helpers/kafka.js';
import {
  nowS,
  signToken,
  signingKey,
  type JwksServer,
  type SigningKey,
  type TokenOptions,
  startJwksServer,
} from '../helpers/jwks-server.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { FAST_CONSUMERS, WsClient, wsUrl } from '../helpers/ws.js';
import { eventually, quietPeriod } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const ISSUER = 'https://idp.ws.test/';
const AUDIENCE = 'kafka-gateway';
const APP_ORIGIN = 'https://app.example.test';
const CACHE_MAX_AGE_MS = 1000;

let jwks: JwksServer;
let k1: SigningKey;
let k2: SigningKey;
let gw: Gateway;
let log: CapturedLog;
let topic: string;
let other: string;
const sentTokens: string[] = [];

function config(extra: Record<string, string> = {}) {
  return loadConfig(
    {
      KAFKA_BROKERS: brokers,
      PORT: '0',
      HOST: '127.0.0.1',
      ...testKafkaClientEnv(),
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_CLOCK_TOLERANCE_S: '0',
      AUTH_JWKS_CACHE_MAX_AGE_MS: String(CACHE_MAX_AGE_MS),
      AUTH_JWKS_COOLDOWN_MS: '0',
      WS_ALLOWED_ORIGINS: APP_ORIGIN,
      ...FAST_CONSUMERS,
      ...extra,
    },
    'prod',
  );
}

/** A token the gateway accepts: consume on `topic`, groups `team-*`, produce on both test topics. */
async function token(opts: TokenOptions = {}, key: SigningKey = k1): Promise<string> {
  const t = await signToken(key, {
    ...opts,
    claims: {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'ws-user',
      kafka: { consume: [topic], produce: [topic, other], groups: ['team-*'] },
      ...opts.claims,
    },
  });
  sentTokens.push(t);
  return t;
}

beforeAll(async () => {
  [k1, k2] = await Promise.all([signingKey('k1'), signingKey('k2')]);
  jwks = await startJwksServer([k1]);
  topic = uniqueTopic('ws-sec');
  other = uniqueTopic('ws-sec-other');
  await Promise.all([createTopicReady(brokers, topic, 1), createTopicReady(brokers, other, 1)]);
  log = captureLog('debug');
  gw = await startGateway(config(), { logger: log.logger });
  await ready(gw);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await jwks?.close();
});

interface Refusal {
  status: number;
  body: { error_code: number; message: string };
  headers: IncomingMessage['headers'];
}

/** Opens a socket that must be refused before the upgrade; returns the plain HTTP answer. */
function refused(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<Refusal> {
  return WsClient.open(url, opts).then(
    async (c) => {
      await c.close();
      throw new Error(`${url} was upgraded`);
    },
    (e: { status?: number; body?: string; headers?: IncomingMessage['headers'] }) => {
      if (e.status === undefined) throw e;
      return { status: e.status, body: JSON.parse(e.body ?? '{}'), headers: e.headers ?? {} };
    },
  );
}

const viaProtocol = (t: string) => ({ protocols: ['kgw.v1', `bearer.${t}`] });

function expect401(r: Refusal): void {
  expect(r.status).toBe(401);
  expect(r.body.error_code).toBe(40101);
  expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

describe('the upgrade uses the same verifier as REST', () => {
  it('a token REST accepts opens a socket (subprotocol or Authorization header)', async () => {
    const t = await token();
    expect((await call(gw, '/topics', { headers: { Authorization: `Bearer ${t}` } })).status).toBe(200);
    const a = await WsClient.open(wsUrl(gw), viaProtocol(t));
    const b = await WsClient.open(wsUrl(gw), { headers: { Authorization: `Bearer ${t}` } });
    await Promise.all([a.close(), b.close()]);
  });

  it('every token attack is refused before the upgrade with 401 40101', async () => {
    const stranger = await signingKey('k1'); // same kid, another key
    const unknown = await signingKey('nope');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const attacks: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600 })}.`,
      'wrong signature': await token({}, stranger),
      'unknown kid': await token({}, unknown),
      expired: await token({ claims: { exp: nowS() - 60, iat: nowS() - 120 } }),
      'no exp': await token({ claims: { exp: undefined } }),
      'nbf in the future': await token({ claims: { nbf: nowS() + 600 } }),
      'wrong issuer': await token({ claims: { iss: 'https://evil.example/' } }),
      'wrong audience': await token({ claims: { aud: 'other' } }),
      'jku elsewhere': await token({ header: { jku: 'http://127.0.0.1:1/jwks.json' } }, unknown),
      oversized: await token({ claims: { pad: 'x'.repeat(9000) } }),
      malformed: 'not-a-jwt',
    };
    expect401(await refused(wsUrl(gw)));
    for (const [name, t] of Object.entries(attacks)) {
      if (t.length < 8000) expect401(await refused(wsUrl(gw), viaProtocol(t)));
      expect401(await refused(wsUrl(gw), { headers: { Authorization: `Bearer ${t}` } }));
      expect(gw.ws.stats().connections, name).toBe(0);
    }
  });

  it('a key newly published in the JWKS opens sockets without a restart; JWKS down → 503 50303', async () => {
    expect401(await refused(wsUrl(gw), viaProtocol(await token({}, k2))));
    jwks.publish([k1, k2]);
    const c = await WsClient.open(wsUrl(gw), viaProtocol(await token({}, k2)));
    await c.close();
    jwks.setUp(false);
    try {
      // Once the cached key set is older than CACHE_MAX_AGE_MS, the gateway must fetch it again, and cannot.
      const t = await token({}, k2);
      // Until then the socket still opens (refused() rejects): that attempt counts as "not yet".
      const r = await eventually(
        () =>
          refused(wsUrl(gw), viaProtocol(t)).catch(
            (): Refusal => ({ status: 101, body: { error_code: 0, message: 'upgraded' }, headers: {} }),
          ),
        (res) => res.status === 503,
        { timeoutMs: CACHE_MAX_AGE_MS + 15_000, intervalMs: 200 },
      );
      expect(r.status).toBe(503);
      expect(r.body.error_code).toBe(50303);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      jwks.setUp(true);
    }
  });
});

describe('how the token travels', () => {
  it('the server selects kgw.v1 only and never echoes the bearer subprotocol', async () => {
    const t = await token();
    const ws = new WebSocket(wsUrl(gw), ['kgw.v1', `bearer.${t}`], { perMessageDeflate: false });
    const opened = new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const selected = await new Promise<string | undefined>((resolve) => {
      ws.once('upgrade', (res) => resolve(res.headers['sec-websocket-protocol'] as string | undefined));
    });
    expect(selected).toBe('kgw.v1');
    await opened;
    expect(ws.protocol).toBe('kgw.v1');
    ws.close();
    // Offering the token first does not make the server echo it either.
    const first = await WsClient.open(wsUrl(gw), { protocols: [`bearer.${t}`, 'kgw.v1'] });
    expect(first.ws.protocol).toBe('kgw.v1');
    await first.close();
  });

  it('?access_token= is refused unless WS_QUERY_TOKEN=true, and is never logged', async () => {
    const t = await token();
    expect401(await refused(wsUrl(gw, `/ws?access_token=${t}`)));
    const qlog = captureLog('debug');
    const withQuery = await startGateway(config({ WS_QUERY_TOKEN: 'true' }), { logger: qlog.logger });
    try {
      await ready(withQuery);
      const c = await WsClient.open(wsUrl(withQuery, `/ws?access_token=${t}&topic=${topic}`));
      await c.waitFor((f) => f.type === 'subscribed');
      await c.close();
      expect401(await refused(wsUrl(withQuery, `/ws?access_token=${t.slice(0, -4)}AAAA`)));
      // REST never takes a query token; the access log never prints a query string.
      expect((await call(withQuery, `/topics?access_token=${t}`)).status).toBe(401);
      const text = qlog.text();
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split('.')[2]!);
      expect(text).not.toContain('access_token=');
    } finally {
      await withQuery.close();
    }
  });

  it('the origin is checked before the upgrade and before the token', async () => {
    const t = await token();
    const evil = await refused(wsUrl(gw), { ...viaProtocol(t), headers: { Origin: 'https://evil.example.test' } });
    expect(evil.status).toBe(403);
    expect(evil.body.error_code).toBe(40301);
    expect((await refused(wsUrl(gw), { headers: { Origin: 'https://evil.example.test' } })).status).toBe(403); // not 401
    expect401(await refused(wsUrl(gw), { headers: { Origin: APP_ORIGIN } }));
    const ok = await WsClient.open(wsUrl(gw), { ...viaProtocol(t), headers: { Origin: APP_ORIGIN } });
    await ok.close();
  });
});

describe('subscriptions are checked against the token', () => {
  it('a topic or group outside the rights: 403 before the upgrade for the shortcut, FORBIDDEN for a frame; nothing delivered', async () => {
    const t = await token();
    expect((await refused(wsUrl(gw, `/ws?topic=${other}`), viaProtocol(t))).status).toBe(403);
    expect((await refused(wsUrl(gw, `/ws?topic=${topic}&group=not-mine`), viaProtocol(t))).status).toBe(403);
    const c = await WsClient.open(wsUrl(gw), viaProtocol(t));
    try {
      c.send({ type: 'subscribe', id: 'a', mode: 'broadcast', topics: [other] });
      c.send({ type: 'subscribe', id: 'b', mode: 'group', topics: [topic], group: 'not-mine' });
      c.send({
        type: 'subscribe',
        id: 'c',
        mode: 'assign',
        partitions: [{ topic: other, partition: 0 }],
        from: 'earliest',
      });
      for (const id of ['a', 'b', 'c'])
        expect(await c.waitFor((f) => f.type === 'error' && f.id === id)).toMatchObject({ code: 'FORBIDDEN' });
      // Allowed ones work on the same socket.
      await c.subscribe({ id: 'ok', mode: 'group', topics: [topic], group: 'team-ws', from: 'latest' }, 60_000);
      await post(gw, `/topics/${other}`, JSON_V2, { records: [{ value: 'secret' }] }, { Authorization: `Bearer ${t}` });
      const mine = await post(
        gw,
        `/topics/${topic}`,
        JSON_V2,
        { records: [{ value: 'visible' }] },
        { Authorization: `Bearer ${t}` },
      );
      expect(mine.status).toBe(200);
      await c.waitFor((f) => f.type === 'record' && f.id === 'ok');
      expect(c.records().map((r) => r.topic)).toEqual([topic]);
    } finally {
      await c.close();
    }
  });

  it('internal topics are admin-only, whatever the globs say', async () => {
    const greedy = await token({ claims: { kafka: { consume: ['*'], groups: ['*'] } } });
    expect((await refused(wsUrl(gw, '/ws?topic=__consumer_offsets'), viaProtocol(greedy))).status).toBe(403);
    const c = await WsClient.open(wsUrl(gw), viaProtocol(greedy));
    c.send({
      type: 'subscribe',
      id: 'x',
      mode: 'assign',
      partitions: [{ topic: '__consumer_offsets', partition: 0 }],
      from: 'earliest',
    });
    expect(await c.waitFor((f) => f.type === 'error' && f.id === 'x')).toMatchObject({ code: 'FORBIDDEN' });
    await c.close();
  });
});

describe('token expiry', () => {
  it('closes with 4401 at exp when the only reauths were another sub or an invalid token', async () => {
    const c = await WsClient.open(wsUrl(gw, `/ws?topic=${topic}`), viaProtocol(await token({ ttlS: 3 })));
    await c.waitFor((f) => f.type === 'subscribed');
    c.send({ type: 'reauth', token: await token({ claims: { sub: 'someone-else' } }) });
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
    c.send({ type: 'reauth', token: await token({}, await signingKey('k1')) }); // right sub, forged signature
    await c.until(() => c.errors().length >= 2, 10_000, 'second error');
    expect((await c.closed).code).toBe(4401);
  });

  it('a valid reauth of the same sub keeps the socket open past the first exp', async () => {
    const first = await token({ ttlS: 3 });
    const c = await WsClient.open(wsUrl(gw, `/ws?topic=${topic}`), viaProtocol(first));
    await c.waitFor((f) => f.type === 'subscribed');
    c.send({ type: 'reauth', token: await token({ ttlS: 600 }) });
    const firstExpMs =
      (JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    await quietPeriod(Math.max(0, firstExpMs + 1000 - Date.now()), "no 4401 close at the first token's exp");
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await c.close();
  });
});

describe('the log', () => {
  it('never holds a token', () => {
    const text = log.text();
    for (const t of sentTokens) {
      const sig = t.split('.')[2];
      if (sig && sig.length > 20) expect(text).not.toContain(sig);
    }
  });
});
