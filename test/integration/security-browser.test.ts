// WebSocket security in a real browser (Debian's chromium via playwright-core, fresh profile): pages served by tiny
// HTTP servers on 127.0.0.1 — another port is another origin — open `new WebSocket(url, ["kgw.v1", "bearer." + jwt])`
// to the real gateway. The allowed origin subscribes and receives a record; another origin is refused before the
// upgrade; a short-lived token's socket closes with 4401.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, createTopicReady, post, startTestGateway } from '../helpers/gateway.js';
import { uniqueTopic } from '../helpers/kafka.js';
import { noChromium, openChromium, type OpenChromium } from '../helpers/browser.js';

const brokers = inject('kafkaBrokers');
const SECRET = 'browser-test-secret-0123456789abcdef-012345';

/** The test page: connect(url, token) opens the socket and records what happens in window.__ws. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>kgw test page</title>
<script>
window.__ws = { opened: false, protocol: null, frames: [], close: null, error: false };
window.connect = function (url, token) {
  const ws = new WebSocket(url, ['kgw.v1', 'bearer.' + token]);
  ws.onopen = () => { window.__ws.opened = true; window.__ws.protocol = ws.protocol; };
  ws.onmessage = (e) => window.__ws.frames.push(JSON.parse(e.data));
  ws.onerror = () => { window.__ws.error = true; };
  ws.onclose = (e) => { window.__ws.close = { code: e.code, reason: e.reason }; };
};
</script>`;

interface PageServer {
  origin: string;
  close(): Promise<void>;
}

async function pageServer(): Promise<PageServer> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface WsState {
  opened: boolean;
  protocol: string | null;
  frames: Array<Record<string, unknown>>;
  close: { code: number; reason: string } | null;
  error: boolean;
}

describe.skipIf(noChromium)('WebSocket security in chromium', () => {
  let gw: Gateway;
  let allowed: PageServer;
  let foreign: PageServer;
  let context: BrowserContext;
  let browser: OpenChromium | undefined;
  let topic: string;

  const token = (expS = 600) =>
    new SignJWT({ kafka: { consume: [topic], produce: [topic] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('browser-user')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expS)
      .sign(new TextEncoder().encode(SECRET));

  beforeAll(async () => {
    [allowed, foreign] = await Promise.all([pageServer(), pageServer()]);
    topic = uniqueTopic('browser-sec');
    await createTopicReady(brokers, topic, 1);
    gw = await startTestGateway({
      AUTH_MODE: 'jwt',
      AUTH_HS256_SECRET: SECRET,
      AUTH_CLOCK_TOLERANCE_S: '0',
      WS_ALLOWED_ORIGINS: allowed.origin,
      KAFKA_CONSUMER_MAX_WAIT_MS: '100',
    });
    browser = await openChromium();
    context = browser.context;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await Promise.all([allowed?.close(), foreign?.close()]);
  });

  const wsBase = () => gw.url.replace(/^http/, 'ws');

  async function openFrom(origin: string, path: string, jwt: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    // Plain strings: this project's TypeScript has no DOM types.
    await page.evaluate(`window.connect(${JSON.stringify(wsBase() + path)}, ${JSON.stringify(jwt)})`);
    return page;
  }

  const state = (page: Page) => page.evaluate('window.__ws') as Promise<WsState>;

  it('a page from an allowed origin subscribes with a subprotocol token and receives records', async () => {
    const jwt = await token();
    const page = await openFrom(allowed.origin, `/ws?topic=${topic}`, jwt);
    try {
      await page.waitForFunction('window.__ws.frames.some((f) => f.type === "subscribed")', undefined, {
        timeout: 30_000,
      });
      const s1 = await state(page);
      expect(s1.opened).toBe(true);
      expect(s1.protocol).toBe('kgw.v1'); // the token is not echoed back as the selected protocol
      const res = await post(
        gw,
        `/topics/${topic}`,
        JSON_V2,
        { records: [{ key: 'k', value: { from: 'node' } }] },
        { Authorization: `Bearer ${jwt}` },
      );
      expect(res.status).toBe(200);
      await page.waitForFunction('window.__ws.frames.some((f) => f.type === "record")', undefined, { timeout: 30_000 });
      expect((await state(page)).frames.find((f) => f.type === 'record')).toMatchObject({
        topic,
        key: 'k',
        value: { from: 'node' },
      });
    } finally {
      await page.close();
    }
  });

  it('a page from another origin is refused before the upgrade, even with a valid token', async () => {
    const page = await openFrom(foreign.origin, `/ws?topic=${topic}`, await token());
    try {
      await page.waitForFunction('window.__ws.close !== null', undefined, { timeout: 15_000 });
      const s = await state(page);
      expect(s.opened).toBe(false);
      expect(s.error).toBe(true);
      expect(s.close?.code).toBe(1006); // the handshake was answered 403: browsers only report an abnormal close
      expect(gw.ws.stats().connections).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('a socket opened with a short-lived token closes with 4401 at its exp', async () => {
    const page = await openFrom(allowed.origin, `/ws?topic=${topic}`, await token(3));
    try {
      await page.waitForFunction('window.__ws.opened', undefined, { timeout: 15_000 });
      const t0 = Date.now();
      await page.waitForFunction('window.__ws.close !== null', undefined, { timeout: 15_000 });
      expect((await state(page)).close?.code).toBe(4401);
      expect(Date.now() - t0).toBeLessThan(6_000);
    } finally {
      await page.close();
    }
  });
});
