// /docs in a real browser: "try it out" on the v3 single-record form sends its example (with the cluster id and
// topic typed in) and the record is in Kafka. Same set-up as docs-browser.test.ts.
import { chromium, type Browser, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { CHROMIUM, CHROMIUM_ARGS, noChromium } from '../helpers/browser.js';
import { call, startTestGateway } from '../helpers/gateway.js';
import { createTopic, deleteTopics, readAll, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');

/** Types into a parameter input until it holds the value (Swagger UI may re-render the row right after "Try it out"). */
async function fill(op: Locator, name: string, value: string): Promise<void> {
  const input = op.locator(`tr[data-param-name="${name}"] input`);
  await vi.waitFor(
    async () => {
      if ((await input.inputValue()) === value) return;
      await input.fill(value);
      throw new Error(`${name} is not in the input yet`);
    },
    { timeout: 15_000, interval: 250 },
  );
}

describe.skipIf(noChromium)('/docs: v3 records', () => {
  let gw: Gateway;
  let browser: Browser;
  const topic = uniqueTopic('docs-v3');

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTopic(brokers, topic, 1);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  });

  it('"try it out" on POST .../records writes the example record and shows its report', async () => {
    const cluster = (await call(gw, '/v3/clusters')).body.data[0].cluster_id as string;
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${gw.url}/docs`);
    const op = page.locator('#operations-v3_records-post_v3_clusters__cluster_id__topics__topic_name__records');
    await op.waitFor({ timeout: 30_000 });
    await op.locator('.opblock-summary').click();
    await op.locator('.try-out__btn').click();
    await fill(op, 'cluster_id', cluster);
    await fill(op, 'topic_name', topic);
    const example = JSON.parse(await op.locator('textarea.body-param__text').inputValue());
    expect(example.value).toEqual({ type: 'JSON', data: { amount: 42 } });

    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table tr.response .response-col_status');
    await status.waitFor({ timeout: 30_000 });
    expect((await status.innerText()).trim()).toBe('200');
    const shown = await op
      .locator('.live-responses-table tr.response .response-col_description .highlight-code pre')
      .first()
      .innerText();
    expect(JSON.parse(shown)).toMatchObject({ error_code: 200, topic_name: topic, partition_id: 0, offset: 0 });

    const [rec] = await readAll(brokers, topic, 1, 30_000);
    expect([rec?.key?.toString(), rec?.value?.toString()]).toEqual(['order-17', '{"amount":42}']);
    expect(problems).toEqual([]);
    await page.close();
  });
});
