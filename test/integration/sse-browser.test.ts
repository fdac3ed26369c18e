import type { Producer } from 'kafkajs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { noChromium, openChromium, type OpenChromium } from '../helpers/browser.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { type Replica, type RoundRobinProxy, roundRobinProxy, spawnReplicas } from '../helpers/replicas.js';
import { FAST_CONSUMERS } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
const PARTITIONS = 3;

interface PageRecord {
  partition: number;
  offset: number;
  key: string;
}

describe.skipIf(noChromium)('EventSource in chromium across replicas', () => {
  let replicas: Replica[] = [];
  let proxy: RoundRobinProxy;
  let context: BrowserContext;
  let browser: OpenChromium | undefined;
  let producer: Producer;
  const topic = uniqueTopic('sse-browser');
  let seq = 0;

  beforeAll(async () => {
    const env = { KAFKA_BROKERS: brokers, AUTH_MODE: 'none', SSE_RETRY_MS: '300', ...FAST_CONSUMERS };
    [replicas] = await Promise.all([spawnReplicas([env, env, env]), createTopic(brokers, topic, PARTITIONS)]);
    proxy = await roundRobinProxy(replicas.map((r) => r.url));
    producer = kafkaClient(brokers).producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    browser = await openChromium();
    context = browser.context;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await proxy?.close();
    await Promise.allSettled(replicas.map((r) => r.kill()));
  });

  async function produce(n: number, label: string): Promise<void> {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, () => {
        const k = seq++;
        return { key: `${label}-${k}`, value: JSON.stringify({ k }), partition: k % PARTITIONS };
      }),
    });
  }

  const pageState = (page: Page) =>
    page.evaluate(() => {
      const w = globalThis as unknown as { __records: PageRecord[]; __subscribed: { resumed: boolean }[] };
      return { records: w.__records, subscribed: w.__subscribed };
    });

  async function waitFor(page: Page, cond: (s: Awaited<ReturnType<typeof pageState>>) => boolean, what: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await pageState(page);
      if (cond(s)) return s;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${s.records.length} records, ${s.subscribed.length} connects`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('reconnects to another replica after its replica is killed, and shows every record once, in order', async () => {
    await produce(60, 'before');
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // No favicon request: every request the balancer counts from here on is the page's own.
    await page.route('**/favicon.ico', (r) => r.abort());
    // A page of the balancer's origin (the EventSource is same-origin, as a page served behind it would be).
    expect((await page.goto(`${proxy.url}/healthz`))?.status()).toBe(200);
    const countsBefore = new Map(proxy.counts);
    await page.evaluate((t) => {
      const w = globalThis as unknown as Record<string, unknown>;
      const records: unknown[] = [];
      const subscribed: unknown[] = [];
      w.__records = records;
      w.__subscribed = subscribed;
      const es = new EventSource(`/sse?topic=${encodeURIComponent(t)}&from=earliest`);
      es.addEventListener('record', (e) => {
        const r = JSON.parse((e as MessageEvent).data as string) as { partition: number; offset: number; key: string };
        records.push({ partition: r.partition, offset: r.offset, key: r.key });
      });
      es.addEventListener('subscribed', (e) => subscribed.push(JSON.parse((e as MessageEvent).data as string)));
      w.__es = es;
    }, topic);
    await waitFor(page, (s) => s.records.length >= 60, 'the first 60 records');
    // The replica that got the stream request is the one whose count grew.
    const grown = replicas.filter((r) => (proxy.counts.get(r.url) ?? 0) > (countsBefore.get(r.url) ?? 0));
    expect(grown).toHaveLength(1);
    const serving = grown[0]!;

    // Records keep coming while the serving replica dies.
    let producing = true;
    const background = (async () => {
      while (producing) {
        await produce(3, 'during');
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(page, (s) => s.records.length >= 75, 'records produced while streaming');
      await serving.kill();
      await waitFor(page, (s) => s.subscribed.length >= 2, 'the reconnect');
    } finally {
      producing = false;
      await background;
    }
    await produce(30, 'after');
    // A last record on every partition: once each arrived, everything before it on that partition has too.
    const total = seq + PARTITIONS;
    await produce(PARTITIONS, 'last');
    const s = await waitFor(
      page,
      (x) => new Set(x.records.filter((r) => r.key.startsWith('last-')).map((r) => r.partition)).size === PARTITIONS,
      'the last record of every partition',
    );

    expect(s.subscribed[1]!.resumed).toBe(true);
    const keys = s.records.map((r) => r.key);
    expect(new Set(keys).size, 'no record twice').toBe(keys.length);
    expect(keys.length, 'every record').toBe(total);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = s.records.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets, `partition ${p} in order, no gap`).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
    }
    expect(problems).toEqual([]);
    await page.evaluate(() => (globalThis as unknown as { __es: EventSource }).__es.close());
  }, 180_000);
});
