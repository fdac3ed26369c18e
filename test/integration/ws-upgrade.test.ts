// The WebSocket door against the real broker: refusals before the upgrade (path, origin / CSWSH, subprotocol,
// malformed or forbidden shortcut, missing token), the token never echoed as a subprotocol, bad frames (→ 4400),
// frame budgets (→ 4429),
// frame and subscription limits, liveness (ping/pong, dead peer), and token expiry (→ 4401) with `reauth`.
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, uniqueTopic } from '../helpers/kafka.js';
import { SUBSCRIBE_LIMIT } from '../../src/ws/frame-rate.js';
import { startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';
import { quietPeriod, waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const SECRET = 'ws-test-secret-that-is-at-least-32-bytes-long';
let gw: Gateway;
let topic: string;
const open: WsClient[] = [];

beforeAll(async () => {
  gw = await startWsGateway({ WS_MAX_SUBSCRIPTIONS: '2', WS_MAX_FRAME_BYTES: '1024' });
  topic = uniqueTopic('wsdoor');
  await createTopic(brokers, topic, 1);
});
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await gw?.close();
});

async function client(g: Gateway, query = '', opts: Parameters<typeof WsClient.open>[1] = {}): Promise<WsClient> {
  const c = await WsClient.open(wsUrl(g, `/ws${query}`), opts);
  open.push(c);
  return c;
}

/** The HTTP refusal of an upgrade: status and Confluent body. */
async function refused(
  g: Gateway,
  path: string,
  opts: Parameters<typeof WsClient.open>[1] = {},
): Promise<{ status: number; body: any; headers: any }> {
  try {
    await WsClient.open(wsUrl(g, path), opts);
  } catch (e) {
    const err = e as { status?: number; body?: string; headers?: unknown };
    if (err.status === undefined) throw e;
    return { status: err.status, body: JSON.parse(err.body ?? 'null'), headers: err.headers };
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('before the upgrade', () => {
  it('another path is 404', async () => {
    expect(await refused(gw, '/wsx')).toMatchObject({ status: 404, body: { error_code: 404 } });
  });

  it('a browser Origin other than the gateway is refused (CSWSH); its own origin and no Origin pass', async () => {
    expect(await refused(gw, '/ws', { headers: { Origin: 'https://evil.example' } })).toMatchObject({
      status: 403,
      body: { error_code: 40301 },
    });
    await client(gw, '', { headers: { Origin: gw.url } });
    await client(gw);
  });

  it('WS_ALLOWED_ORIGINS replaces the same-origin default', async () => {
    const g = await startWsGateway({ WS_ALLOWED_ORIGINS: 'https://app.example' });
    try {
      await client(g, '', { headers: { Origin: 'https://app.example' } });
      expect((await refused(g, '/ws', { headers: { Origin: g.url } })).status).toBe(403);
    } finally {
      await g.close();
    }
  });

  it('subprotocols: kgw.v1 is selected, a bearer token is never echoed, none offered is served, others are refused', async () => {
    expect((await client(gw, '', { protocols: ['kgw.v1', 'bearer.abc.def.ghi'] })).ws.protocol).toBe('kgw.v1');
    expect((await client(gw, '', { protocols: [] })).ws.protocol).toBe('');
    expect(await refused(gw, '/ws', { protocols: ['mqtt'] })).toMatchObject({ status: 400, body: { error_code: 400 } });
    expect((await refused(gw, '/ws', { protocols: ['bearer.abc'] })).status).toBe(400);
  });

  it('a malformed shortcut is 400, an unknown topic 404 40401, an unknown partition 404 40402', async () => {
    expect(await refused(gw, `/ws?topic=${topic}&from=earliest`)).toMatchObject({
      status: 400,
      body: { error_code: 400 },
    });
    expect(await refused(gw, `/ws?topic=${topic}&nope=1`)).toMatchObject({ status: 400 });
    expect(await refused(gw, `/ws?topic=${uniqueTopic('missing')}`)).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    expect(await refused(gw, `/ws?topic=${topic}&partition=3`)).toMatchObject({
      status: 404,
      body: { error_code: 40402 },
    });
  });
});

describe('frames', () => {
  it('bad frames get error frames; the 5th within a minute closes with 4400', async () => {
    const c = await client(gw);
    c.send('not json');
    c.send({ type: 'subscribe', id: 's', mode: 'broadcast' });
    c.send({ type: 'nope' });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.until(() => c.errors().length === 4);
    expect(c.errors().map((e) => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE']);
    expect(c.errors()[1]).toMatchObject({ id: 's' });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    c.send('{"type":"ping","x":1}');
    expect((await c.closed).code).toBe(4400);
  });

  it('a subscribe storm closes with 4429; acks are never rate limited', async () => {
    const c = await client(gw);
    // Acks (here for an unknown subscription: each answered) do not count toward any budget.
    for (let i = 0; i < 2000; i++) c.send({ type: 'ack', id: 'none', topic, partition: 0, offset: i });
    await c.until(() => c.errors().length === 2000);
    expect(new Set(c.errors().map((e) => e.code))).toEqual(new Set(['UNKNOWN_SUBSCRIPTION']));
    // SUBSCRIBE_LIMIT subscribe frames within a minute are answered (one subscription, then DUPLICATE_ID)...
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++)
      c.send({ type: 'subscribe', id: 'x', mode: 'broadcast', topics: [topic] });
    await c.until(() => c.errors().filter((e) => e.code === 'DUPLICATE_ID').length === SUBSCRIBE_LIMIT - 1);
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    // ...the next one closes the socket.
    c.send({ type: 'subscribe', id: 'y', mode: 'broadcast', topics: [topic] });
    expect((await c.closed).code).toBe(4429);
  });

  it('a frame over WS_MAX_FRAME_BYTES closes with 1009', async () => {
    const c = await client(gw);
    c.send({ type: 'reauth', token: 'x'.repeat(2000) });
    expect((await c.closed).code).toBe(1009);
  });

  it('answers duplicate ids, too many subscriptions and unknown subscriptions with error frames', async () => {
    const c = await client(gw);
    await c.subscribe({ id: 'a', mode: 'broadcast', topics: [topic] });
    c.send({ type: 'subscribe', id: 'a', mode: 'broadcast', topics: [topic] });
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ id: 'a', code: 'DUPLICATE_ID' });
    await c.subscribe({ id: 'b', mode: 'broadcast', topics: [topic] });
    c.send({ type: 'subscribe', id: 'c', mode: 'broadcast', topics: [topic] });
    expect(await c.waitFor((f) => f.code === 'TOO_MANY_SUBSCRIPTIONS')).toMatchObject({ id: 'c' });
    c.send({ type: 'ack', id: 'zz', topic, partition: 0, offset: 1 });
    expect(await c.waitFor((f) => f.code === 'UNKNOWN_SUBSCRIPTION')).toMatchObject({ id: 'zz' });
    // Unsubscribing frees a slot.
    c.send({ type: 'unsubscribe', id: 'a' });
    await c.subscribe({ id: 'd', mode: 'broadcast', topics: [topic] });
  });

  it('a peer that stops answering pings is terminated', async () => {
    const g = await startWsGateway({ WS_PING_INTERVAL_MS: '200' });
    try {
      const ws = new WebSocket(wsUrl(g), ['kgw.v1'], { autoPong: false });
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      const pings = { n: 0 };
      ws.on('ping', () => pings.n++);
      const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
      expect(code).toBe(1006);
      expect(pings.n).toBeGreaterThanOrEqual(1);
      await expect.poll(() => g.ws.stats().connections).toBe(0);
      // A normal client answers pings automatically and stays.
      const ok = await client(g);
      const pongs = { n: 0 };
      ok.ws.on('ping', () => pongs.n++); // ws answers each ping with a pong by itself
      // A peer that does not answer is terminated at the ping after a missed pong: three pings outlive that.
      await waitFor('three pings answered by a normal client', () => pongs.n >= 3, { timeoutMs: 15_000 });
      expect(ok.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      await g.close();
    }
  });
});

describe('with JWT authentication', () => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startWsGateway({ AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_S: '0' });
  });
  afterAll(() => g?.close());

  const token = (sub: string, kafka: Record<string, unknown>, expInS = 300) =>
    new SignJWT({ kafka })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expInS)
      .sign(new TextEncoder().encode(SECRET));
  const rights = () => ({ consume: [topic], groups: ['team-*'] });

  it('no token is 401; a token as bearer subprotocol or Authorization header is accepted', async () => {
    expect(await refused(g, '/ws')).toMatchObject({ status: 401, body: { error_code: 40101 } });
    expect((await refused(g, '/ws', { protocols: ['kgw.v1', 'bearer.not-a-jwt'] })).status).toBe(401);
    const t = await token('alice', rights());
    const c = await client(g, '', { protocols: ['kgw.v1', `bearer.${t}`] });
    expect(c.ws.protocol).toBe('kgw.v1');
    await client(g, '', { headers: { Authorization: `Bearer ${t}` } });
  });

  it('the shortcut needs the rights before the upgrade (403); a subscribe frame gets FORBIDDEN', async () => {
    const t = await token('alice', { consume: ['other-*'], groups: ['team-*'] });
    expect(await refused(g, `/ws?topic=${topic}`, { protocols: ['kgw.v1', `bearer.${t}`] })).toMatchObject({
      status: 403,
      body: { error_code: 40301 },
    });
    const ok = await token('alice', rights());
    expect((await refused(g, `/ws?topic=${topic}&group=other`, { protocols: ['kgw.v1', `bearer.${ok}`] })).status).toBe(
      403,
    );
    const c = await client(g, '', { protocols: ['kgw.v1', `bearer.${t}`] });
    c.send({ type: 'subscribe', id: 'x', mode: 'broadcast', topics: [topic] });
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ id: 'x', code: 'FORBIDDEN' });
    c.send({ type: 'subscribe', id: 'y', mode: 'group', topics: ['other-1'], group: 'not-mine' });
    expect(await c.waitFor((f) => f.type === 'error' && f.id === 'y')).toMatchObject({ code: 'FORBIDDEN' });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes with 4401 when the token expires without a reauth', async () => {
    const c = await client(g, '', { protocols: ['kgw.v1', `bearer.${await token('alice', rights(), 2)}`] });
    const started = Date.now();
    expect((await c.closed).code).toBe(4401);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a reauth with a fresh token of the same subject keeps the socket past the old expiry', async () => {
    const c = await client(g, `?topic=${topic}`, {
      protocols: ['kgw.v1', `bearer.${await token('alice', rights(), 2)}`],
    });
    await c.waitFor((f) => f.type === 'subscribed');
    c.send({ type: 'reauth', token: await token('bob', rights(), 300) });
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
    c.send({ type: 'reauth', token: await token('alice', rights(), 300) });
    await quietPeriod(2500, "no 4401 close at the old token's expiry (2 s)");
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a reauth token without the rights an open subscription uses closes with 4403', async () => {
    const c = await client(g, `?topic=${topic}`, { protocols: ['kgw.v1', `bearer.${await token('alice', rights())}`] });
    await c.waitFor((f) => f.type === 'subscribed');
    c.send({ type: 'reauth', token: await token('alice', { consume: ['other-*'] }) });
    expect((await c.closed).code).toBe(4403);
  });
});
