// /docs in a real browser (Debian's chromium driven by playwright-core): the Swagger UI page renders under its CSP
// with no violations and no request leaving the gateway's origin, and its "try it out" on the produce route writes
// the example records to Kafka through the running gateway. Leaves a screenshot in test/artifacts/docs.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, describeTopicState, readAll, uniqueTopic } from '../helpers/kafka.js';
import { CHROMIUM, CHROMIUM_ARGS, noChromium } from '../helpers/browser.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const brokers = inject('kafkaBrokers');

describe.skipIf(noChromium)('/docs in chromium', () => {
  let gw: Gateway;
  let browser: Browser;
  const topic = uniqueTopic('docs');

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTopic(brokers, topic, 1);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // playwright-core gives each launch a fresh temporary profile (user-data-dir).
      args: [...CHROMIUM_ARGS],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  });

  it('renders, and "try it out" on POST /topics/{topic} produces the example records', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== gw.url && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        foreign.push(r.url());
    });

    const res = await page.goto(`${gw.url}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");

    const op = page.locator('#operations-v2_produce-post_topics__topic_');
    await op.waitFor({ timeout: 30_000 });
    // Every documented route is on the page.
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(16);

    await op.locator('.opblock-summary').click();
    await op.locator('.try-out__btn').click();
    // On a loaded machine Swagger UI may re-render the parameter row right after "Try it out" and drop a value typed
    // too early: type it until the input holds it.
    const topicInput = op.locator('tr[data-param-name="topic"] input');
    await vi.waitFor(
      async () => {
        if ((await topicInput.inputValue()) === topic) return;
        await topicInput.fill(topic);
        throw new Error('the topic is not in the input yet');
      },
      { timeout: 15_000, interval: 250 },
    );
    // The first request content type is the Confluent JSON format, prefilled with the documented example.
    expect(await op.locator('.body-param-content-type select').inputValue()).toBe('application/vnd.kafka.json.v2+json');
    const body = JSON.parse(await op.locator('textarea.body-param__text').inputValue()) as { records: unknown[] };
    expect(body.records).toHaveLength(2);

    await op.locator('button.execute').click();
    const live = op.locator('.live-responses-table');
    const status = live.locator('tr.response .response-col_status');
    await status.waitFor({ timeout: 30_000 });
    const requestUrl = await op.locator('.request-url pre').innerText();
    const shownFirst = await live.locator('tr.response .response-col_description').first().innerText();
    const statusText = (await status.innerText()).trim();
    const kafkaSays = statusText === '200' ? '' : ` (${await describeTopicState(brokers, topic)})`;
    expect(statusText, `${requestUrl} → ${shownFirst.slice(0, 300)}${kafkaSays}`).toBe('200');
    const shown = await live.locator('tr.response .response-col_description .highlight-code pre').first().innerText();
    const answer = JSON.parse(shown) as { offsets: { partition: number; offset: number; error_code: number | null }[] };
    expect(answer.offsets).toEqual([
      { partition: 0, offset: 0, error_code: null, error: null },
      { partition: 0, offset: 1, error_code: null, error: null },
    ]);
    // "Try it out" called this gateway (same origin), and Swagger UI shows the request it made.
    expect(await op.locator('.request-url pre').innerText()).toBe(`${gw.url}/topics/${topic}`);

    // The page from its title down to the live response (the whole page is ~7000 px tall).
    const box = await live.boundingBox(); // relative to the viewport
    const bottom = (box ? box.y + box.height : 1000) + Number(await page.evaluate('window.scrollY'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({
      path: join(ARTIFACTS, 'docs.png'),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom + 20) },
    });

    const records = await readAll(brokers, topic, 2, 30_000);
    expect(records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      ['"somekey"', '{"hello":"kafka"}'],
      [null, '[1,2,3]'],
    ]);

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
