// /ui in a real browser (Debian's chromium driven by playwright-core) against an in-process gateway and the test
// broker: the page lists a fresh topic, watches it over /ws, and shows records produced through REST with the right
// key, value, partition, offset and headers, as text (a markup payload stays text); pause stops new rows (the
// protocol's pause frame: broadcast skips what arrives meanwhile), resume continues; assign and group modes read
// from the beginning; with AUTH_MODE=jwt the token typed into the page authorizes both REST and the socket. No CSP
// violation, no request leaving the gateway's origin. The root URL's page links /ui and the API documents.
// Screenshot: test/artifacts/ui.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, post, type ProduceReply } from '../helpers/gateway.js';
import { createTopic, deleteTopics, uniqueTopic } from '../helpers/kafka.js';
import { startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';
import { noChromium, openChromium, type OpenChromium } from '../helpers/browser.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const brokers = inject('kafkaBrokers');
const PARTITIONS = 3;

interface Sent {
  key: string;
  value: unknown;
  partition: number;
  offset: number;
  headers?: { name: string; value: string }[];
}

interface Row {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: string;
}

describe.skipIf(noChromium)('/ui in chromium', () => {
  let gw: Gateway;
  let context: BrowserContext;
  let browser: OpenChromium | undefined;
  const topic = uniqueTopic('ui');
  const problems: string[] = [];
  const foreign: string[] = [];
  const sent: Sent[] = [];
  let seq = 0;

  beforeAll(async () => {
    // The topic exists before the page loads, so the dropdown lists it.
    [gw] = await Promise.all([startWsGateway(), createTopic(brokers, topic, PARTITIONS)]);
    browser = await openChromium({ viewport: { width: 1360, height: 900 } });
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  });

  /** Produces `n` records through the gateway's REST API, one per partition in turn; returns what Kafka assigned. */
  async function produce(n: number, label: string): Promise<Sent[]> {
    const records = Array.from({ length: n }, (_, _i) => {
      const k = seq++;
      return {
        key: `${label}-${k}`,
        value: { n: k, label, nested: { ok: true, list: [1, 2] }, note: `<img src=x onerror="window.__pwned=1">${k}` },
        partition: k % PARTITIONS,
        headers: [{ name: 'trace', value: Buffer.from(`t-${k}`).toString('base64') }],
      };
    });
    const res = await post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records });
    expect(res.status, res.text).toBe(200);
    const out = records.map((r, i) => {
      const o = res.body.offsets[i]!;
      expect(o.error_code).toBeNull();
      return { key: r.key, value: r.value, partition: o.partition!, offset: o.offset!, headers: r.headers };
    });
    sent.push(...out);
    return out;
  }

  async function openPage(): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy|Trusted Type/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.host !== new URL(gw.url).host) foreign.push(r.url());
    });
    const res = await page.goto(`${gw.url}/ui`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("connect-src 'self' ws: wss:");
    // The dropdown is filled from GET /topics.
    await page.locator(`#topic-select option[value="${topic}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption('#topic-select', topic);
    return page;
  }

  // Page-side code runs in the browser: functions (a string would need 'unsafe-eval', which the page's CSP refuses),
  // typed by hand because this project's TypeScript has no DOM library.
  type El = {
    dataset: Record<string, string | undefined>;
    textContent: string | null;
    querySelector(s: string): El | null;
  };
  type Doc = { querySelectorAll(s: string): ArrayLike<El>; getElementById(id: string): El | null };
  const rows = (page: Page): Promise<Row[]> =>
    page.evaluate(() =>
      Array.from((globalThis as unknown as { document: Doc }).document.querySelectorAll('#rows tr'), (tr) => ({
        partition: Number(tr.dataset.partition),
        offset: Number(tr.dataset.offset),
        key: tr.querySelector('.c-key')?.textContent ?? '',
        value: tr.querySelector('.c-value')?.textContent ?? '',
        headers: tr.querySelector('.c-headers')?.textContent ?? '',
      })),
    );

  const rowCount = (page: Page) => page.locator('#rows tr').count();
  const waitForRows = (page: Page, n: number) =>
    page.waitForFunction(
      (want) => (globalThis as unknown as { document: Doc }).document.querySelectorAll('#rows tr').length >= want,
      n,
      {
        timeout: 60_000,
      },
    );
  const waitForState = (page: Page, s: string) =>
    page.waitForFunction(
      (want) => (globalThis as unknown as { document: Doc }).document.getElementById('status')?.dataset.state === want,
      s,
      {
        timeout: 60_000,
      },
    );

  function expectShown(shown: Row[], records: Sent[]): void {
    const byPos = new Map(shown.map((r) => [`${r.partition}/${r.offset}`, r]));
    for (const s of records) {
      const r = byPos.get(`${s.partition}/${s.offset}`);
      expect(r, `row for ${s.key} at ${s.partition}/${s.offset}`).toBeDefined();
      expect(r!.key).toBe(s.key);
      // JSON values are pretty-printed, as text.
      expect(r!.value).toBe(JSON.stringify(s.value, null, 2));
      expect(r!.headers).toBe(
        s.headers!.map((h) => `${h.name}: ${Buffer.from(h.value, 'base64').toString()}`).join(''),
      );
    }
  }

  it('broadcast: shows produced records with key, value, partition, offset and headers; pause stops rows, resume continues', async () => {
    const page = await openPage();
    await page.click('#start');
    await waitForState(page, 'live');
    expect(await page.locator('#sub-info').textContent()).toContain(`broadcast: ${topic} [0, 1, 2]`);

    const first = await produce(6, 'a');
    await waitForRows(page, first.length);
    expectShown(await rows(page), first);
    expect(await page.locator('#count').textContent()).toBe(String(first.length));
    // Newest first within a partition.
    const shown = await rows(page);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = shown.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => b - a));
    }
    // The markup in the payload stayed text.
    expect(await page.locator('#rows img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

    // Pause: the page sends `pause` then `ping`, and shows "Paused" once the pong came (the gateway handled pause).
    await page.click('#pause');
    await waitForState(page, 'paused');
    expect(await page.locator('#pause').textContent()).toBe('Resume');
    // An independent socket proves the next records were broadcast while the page was paused.
    const observer = await WsClient.open(wsUrl(gw, `/ws?topic=${topic}&format=string`));
    try {
      await observer.waitFor((f) => f.type === 'subscribed');
      const skipped = await produce(4, 'paused');
      await observer.until(
        () => observer.records('0').length >= skipped.length,
        60_000,
        'the observer to see the records produced during the pause',
      );
      // Resume: once its pong is back, every frame the gateway sent before handling `resume` has been received.
      await page.click('#pause');
      await waitForState(page, 'live');
      expect(await rowCount(page)).toBe(first.length);
      expect(await page.locator('#count').textContent()).toBe(String(first.length));

      const after = await produce(5, 'c');
      await waitForRows(page, first.length + after.length);
      const all = await rows(page);
      expect(all).toHaveLength(first.length + after.length);
      expectShown(all, [...first, ...after]);
      const skippedAt = new Set(skipped.map((s) => `${s.partition}/${s.offset}`));
      expect(all.filter((r) => skippedAt.has(`${r.partition}/${r.offset}`))).toEqual([]);
    } finally {
      await observer.close();
    }

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'ui.png') });

    // A long value is clipped to a few lines; a click shows it whole.
    const value = page.locator('#rows tr').first().locator('.c-value pre');
    expect(await value.getAttribute('class')).toContain('clipped');
    await value.click();
    expect(await value.getAttribute('class')).toContain('open');

    await page.click('#stop');
    await waitForState(page, 'idle');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('the root URL is a page linking the live tail, Swagger UI, the API documents and metrics; its link opens /ui', async () => {
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('console', (m) => seen.push(`${m.type()}: ${m.text()}`)); // the page has no script: any message is a CSP report
    page.on('pageerror', (e) => seen.push(e.message));
    const res = await page.goto(`${gw.url}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    const hrefs = await page.locator('a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    for (const p of ['/ui', '/docs', '/asyncapi.yaml', '/openapi.json', '/metrics'])
      expect(hrefs, p).toContain(new URL(p, gw.url).href);
    await Promise.all([page.waitForURL(`${gw.url}/ui`), page.click('text=Live tail')]);
    await page.locator('#topic-select').waitFor({ state: 'attached', timeout: 30_000 });
    expect(seen).toEqual([]);
    await page.close();
  });

  it('assign mode (all partitions, from earliest) shows every record of the topic', async () => {
    const page = await openPage();
    await page.click('.segmented input[value="assign"] + span');
    await page.selectOption('#assign-from', 'earliest');
    await page.click('#start');
    await waitForState(page, 'live');
    expect(await page.locator('#sub-info').textContent()).toMatch(/^assign: .* \[0, 1, 2\] from p0@0, p1@0, p2@0$/);
    await waitForRows(page, sent.length);
    const all = await rows(page);
    expect(all).toHaveLength(sent.length);
    expectShown(all, sent);
    await page.click('#stop');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('group mode with a fresh group (new group starts at earliest) shows every record; the view is in the URL', async () => {
    const page = await openPage();
    const group = uniqueTopic('ui-group');
    await page.click('.segmented input[value="group"] + span');
    await page.fill('#group-id', group);
    await page.selectOption('#group-from', 'earliest');
    await page.click('#start');
    await waitForState(page, 'live');
    await waitForRows(page, sent.length);
    expectShown(await rows(page), sent);
    expect(new URL(page.url()).hash).toContain(`group=${group}`);
    expect(new URL(page.url()).hash).not.toContain('token');
    await page.click('#stop');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('with AUTH_MODE=jwt: the token typed into the page lists topics (Authorization: Bearer) and opens the socket (bearer.<jwt> subprotocol)', async () => {
    const secret = randomBytes(32).toString('hex');
    const authed = await startWsGateway({ AUTH_MODE: 'jwt', AUTH_HS256_SECRET: secret });
    try {
      const token = await new SignJWT({ kafka: { produce: [topic], consume: [topic] } })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('ui-tester')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(e.message));
      // The page itself is public; without a token the topic list is refused and the page asks for a name.
      expect((await page.goto(`${authed.url}/ui`))?.status()).toBe(200);
      await page.waitForFunction(
        () =>
          !!(globalThis as unknown as { document: Doc }).document
            .getElementById('topic-hint')
            ?.textContent?.includes('token'),
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.locator('#topic-hint').textContent()).toContain('a token is needed');
      expect(await page.locator('#topic-input').isVisible()).toBe(true);

      await page.click('#auth summary');
      await page.fill('#token', token);
      await page.locator('#token').dispatchEvent('change');
      // Listings show only permitted topics: this one.
      await page.locator(`#topic-select option[value="${topic}"]`).waitFor({ state: 'attached', timeout: 30_000 });
      await page.selectOption('#topic-select', topic);
      await page.click('#start');
      await waitForState(page, 'live');

      const res = await post<ProduceReply>(
        authed,
        `/topics/${topic}`,
        JSON_V2,
        { records: [{ key: 'authed', value: { ok: 1 } }] },
        { Authorization: `Bearer ${token}` },
      );
      expect(res.status, res.text).toBe(200);
      await waitForRows(page, 1);
      const [row] = await rows(page);
      expect(row).toMatchObject({
        key: 'authed',
        value: JSON.stringify({ ok: 1 }, null, 2),
        partition: res.body.offsets[0]!.partition,
        offset: res.body.offsets[0]!.offset,
      });

      // The token stays in this tab's sessionStorage, never in localStorage or the URL.
      const stored = await page.evaluate(() => {
        const g = globalThis as unknown as {
          sessionStorage: { getItem(k: string): string | null };
          localStorage: { length: number };
          location: { href: string };
        };
        return {
          session: g.sessionStorage.getItem('kgw.ui.token'),
          local: g.localStorage.length,
          url: g.location.href,
        };
      });
      expect(stored).toEqual({
        session: token,
        local: 0,
        url: expect.not.stringContaining(token.slice(-20)) as unknown as string,
      });
      await page.click('#stop');
      await page.close();
      expect(problems).toEqual([]);
    } finally {
      await authed.close();
    }
  });
});
