// SSE with the JWT in a cookie (AUTH_COOKIE_NAME), in a real browser (Debian's chromium via playwright-core, fresh
// profile). The browser context holds the cookie as a login page would set it (HttpOnly, SameSite=Strict,
// Path=/sse); a page of the gateway's own origin opens `new EventSource('/sse?…')` with no token in the URL and reads
// records. A page of another origin on the same site (another port of 127.0.0.1: the browser sends the cookie, as
// SameSite allows) is refused before any stream starts; a tampered cookie is refused; a short-lived one gets
// `event: expired` at its exp and its reconnect is refused. Nothing of the token reaches the log.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Producer } from 'kafkajs';
import { SignJWT } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { noChromium, openChromium, type OpenChromium } from '../helpers/browser.js';
import { createTopicReady, startTestGateway } from '../helpers/gateway.js';
import { kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';

const brokers = inject('kafkaBrokers');
const SECRET = 'sse-cookie-browser-secret-0123456789abcdef';
const COOKIE = 'kgw_token';

interface EsState {
  opened: boolean;
  /** EventSource.readyState when last looked at: 2 = CLOSED (a refusal is final: no reconnect). */
  readyState: number;
  errors: number;
  records: { partition: number; offset: number; key: string }[];
  expired: { error_code: number } | null;
}

/** Opens an EventSource in the page and keeps what happens in window.__es (plain strings: no DOM types here). */
const OPEN = (url: string, withCredentials: boolean) => `(() => {
  const s = { opened: false, readyState: 0, errors: 0, records: [], expired: null };
  window.__es = s;
  const es = new EventSource(${JSON.stringify(url)}, { withCredentials: ${withCredentials} });
  window.__source = es;
  es.onopen = () => { s.opened = true; };
  es.onerror = () => { s.errors++; s.readyState = es.readyState; };
  es.addEventListener('record', (e) => { const r = JSON.parse(e.data); s.records.push({ partition: r.partition, offset: r.offset, key: r.key }); });
  es.addEventListener('expired', (e) => { s.expired = JSON.parse(e.data); });
})()`;

describe.skipIf(noChromium)('SSE cookie auth in chromium', () => {
  let gw: Gateway;
  let sibling: Server;
  let siblingOrigin: string;
  let context: BrowserContext;
  let browser: OpenChromium | undefined;
  let producer: Producer;
  let log: CapturedLog;
  const topic = uniqueTopic('sse-cookie-browser');

  const token = (expS = 600) =>
    new SignJWT({ kafka: { consume: [topic] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cookie-user')
      .setExpirationTime(Math.floor(Date.now() / 1000) + expS)
      .sign(new TextEncoder().encode(SECRET));

  beforeAll(async () => {
    log = captureLog('debug');
    sibling = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>'));
    await new Promise<void>((r) => sibling.listen(0, '127.0.0.1', r));
    siblingOrigin = `http://127.0.0.1:${(sibling.address() as AddressInfo).port}`;
    await createTopicReady(brokers, topic, 1);
    gw = await startTestGateway(
      {
        AUTH_MODE: 'jwt',
        AUTH_HS256_SECRET: SECRET,
        AUTH_CLOCK_TOLERANCE_S: '0',
        AUTH_COOKIE_NAME: COOKIE,
        LOG_LEVEL: 'debug',
        KAFKA_CONSUMER_MAX_WAIT_MS: '100',
        SSE_RETRY_MS: '200',
      },
      { options: { logger: log.logger } },
    );
    producer = kafkaClient(brokers).producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: JSON.stringify({ i }) })),
    });
    browser = await openChromium();
    context = browser.context;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await gw?.close();
    await new Promise<void>((r) => {
      sibling?.closeAllConnections();
      if (sibling) sibling.close(() => r());
      else r();
    });
  });

  /** The cookie as a login page would set it: only the browser (not scripts) and only /sse get it. */
  async function setCookie(value: string): Promise<void> {
    await context.clearCookies();
    await context.addCookies([
      { name: COOKIE, value, domain: '127.0.0.1', path: '/sse', httpOnly: true, sameSite: 'Strict' },
    ]);
  }

  async function openFrom(origin: string, url: string, withCredentials = false): Promise<Page> {
    const page = await context.newPage();
    await page.route('**/favicon.ico', (r) => r.abort());
    // /healthz needs no token: a page of that origin, nothing more.
    await page.goto(origin === new URL(gw.url).origin ? `${origin}/healthz` : `${origin}/`);
    await page.evaluate(OPEN(url, withCredentials));
    return page;
  }

  const state = (page: Page) =>
    page.evaluate('(window.__es.readyState = window.__source.readyState, window.__es)') as Promise<EsState>;

  async function waitFor(page: Page, cond: (s: EsState) => boolean, what: string): Promise<EsState> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await state(page);
      if (cond(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Access-log lines of refused /sse requests (the route template only: never a query or header). */
  const refusals = (status: number) =>
    log.lines.filter((l) => l.component === 'http' && l.route === '/sse' && l.status === status).length;

  it("a page of the gateway's origin reads records with the cookie and no token in the URL", async () => {
    const jwt = await token();
    await setCookie(jwt);
    const page = await openFrom(new URL(gw.url).origin, `/sse?topic=${topic}&from=earliest`);
    try {
      const s = await waitFor(page, (x) => x.records.length >= 3, 'three records');
      expect(s.opened).toBe(true);
      expect(s.records.map((r) => r.key)).toEqual(['k0', 'k1', 'k2']);
      // Records produced now arrive on the open stream.
      await producer.send({ topic, acks: -1, messages: [{ key: 'k3', value: '{"i":3}' }] });
      await waitFor(page, (x) => x.records.some((r) => r.key === 'k3'), 'the record produced while open');
      // HttpOnly: the page's scripts never see the token.
      expect(await page.evaluate('document.cookie')).not.toContain(jwt);
      expect(log.text()).not.toContain(jwt.split('.')[2]);
    } finally {
      await page.close();
    }
  });

  it('a page of another origin on the same site is refused (403) although its browser sends the cookie', async () => {
    await setCookie(await token());
    const before = refusals(403);
    // The headers the browser really sent, as the gateway's server received them.
    const sent: IncomingHttpHeaders[] = [];
    const keep = (req: IncomingMessage) => {
      if (req.url?.startsWith('/sse')) sent.push(req.headers);
    };
    gw.server.on('request', keep);
    const page = await context.newPage();
    await page.goto(`${siblingOrigin}/`);
    await page.evaluate(OPEN(`${gw.url}/sse?topic=${topic}&from=earliest`, true));
    try {
      const s = await waitFor(page, (x) => x.readyState === 2, 'the EventSource to fail for good');
      expect(s.opened).toBe(false);
      expect(s.records).toEqual([]);
      // The browser did send the cookie, with the page's Origin...
      expect(sent).toHaveLength(1);
      expect(sent[0]!.cookie).toContain(`${COOKIE}=`);
      expect(sent[0]!.origin).toBe(siblingOrigin);
      // ...and the gateway itself refused it (origin, before any stream), not only the browser's CORS rule.
      await expect.poll(() => refusals(403), { timeout: 10_000 }).toBe(before + 1);
    } finally {
      gw.server.off('request', keep);
      await page.close();
    }
  });

  it('a tampered cookie is refused (401) and the EventSource gives up', async () => {
    await setCookie(`${await token()}x`);
    const before = refusals(401);
    const page = await openFrom(new URL(gw.url).origin, `/sse?topic=${topic}&from=earliest`);
    try {
      const s = await waitFor(page, (x) => x.readyState === 2, 'the EventSource to fail for good');
      expect(s.opened).toBe(false);
      expect(s.records).toEqual([]);
      await expect.poll(() => refusals(401), { timeout: 10_000 }).toBe(before + 1);
    } finally {
      await page.close();
    }
  });

  it('a short-lived cookie: `expired` at its exp, then the reconnect with the same cookie is refused', async () => {
    await setCookie(await token(3));
    const page = await openFrom(new URL(gw.url).origin, `/sse?topic=${topic}&from=earliest`);
    try {
      await waitFor(page, (x) => x.opened && x.records.length >= 4, 'the stream');
      const s = await waitFor(page, (x) => x.expired !== null && x.readyState === 2, 'expired, then a refusal');
      expect(s.expired).toMatchObject({ error_code: 40101 });
    } finally {
      await page.close();
    }
  });
});
