// The HTTP server's own limits (docs/security.md "Limits on every input"), against an in-process gateway and the real broker:
// slow-loris headers and bodies are cut off by headersTimeout / requestTimeout while other requests keep working,
// oversized headers get 431, MAX_INFLIGHT_PRODUCE_BYTES answers 503 50301 with Retry-After, gzip/deflate/br request
// bodies are decoded under the body limit (a compression bomb gets 413), and X-Request-Id is kept when safe,
// replaced otherwise, echoed, and on the request's log lines.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, post, startTestGateway, type ProduceReply } from '../helpers/gateway.js';
import { createTopic, deleteTopics, readAll, uniqueTopic } from '../helpers/kafka.js';
import { captureLog } from '../helpers/log-capture.js';
import { quietPeriod, waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const topics: string[] = [];

afterAll(async () => {
  await deleteTopics(brokers, topics).catch(() => {});
});

async function newTopic(partitions = 1): Promise<string> {
  const t = uniqueTopic('harden');
  topics.push(t);
  await createTopic(brokers, t, partitions);
  return t;
}

/** A raw TCP client: what it received, and when the server closed it. */
function rawClient(gw: Gateway) {
  const sock: Socket = connect(gw.port, '127.0.0.1');
  let received = '';
  sock.on('data', (d) => (received += d.toString('latin1')));
  sock.on('error', () => {});
  const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now())));
  return { sock, closed, received: () => received };
}

/** A deadline for a race, or the pace of a client that sends on purpose slowly: never a wait for an event. */
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow clients (HEADERS_TIMEOUT_MS=1000, REQUEST_TIMEOUT_MS=2000)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
  });
  afterAll(() => gw?.close());

  it('a client sending its headers one byte at a time is cut off by headersTimeout; others are served meanwhile', async () => {
    const c = rawClient(gw);
    const start = Date.now();
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const drip = setInterval(() => {
      if (!c.sock.destroyed) c.sock.write(head[i] ?? 'a');
      i++;
    }, 100);
    try {
      // While it drips, the server answers everyone else at once.
      for (let n = 0; n < 5; n++) {
        const t0 = Date.now();
        expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
        expect(Date.now() - t0).toBeLessThan(500);
        await delay(100);
      }
      const closedAt = await Promise.race([c.closed, delay(6000).then(() => -1)]);
      expect(closedAt, 'the server never closed the slow connection').toBeGreaterThan(0);
      // Cut off after headersTimeout (1 s), checked every second: well before the drip would end.
      expect(closedAt - start).toBeGreaterThanOrEqual(900);
      expect(closedAt - start).toBeLessThan(3500);
      expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
      c.sock.destroy();
    }
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('a client sending its body one byte at a time is cut off by requestTimeout', async () => {
    const c = rawClient(gw);
    const start = Date.now();
    c.sock.write(
      `POST /topics/anything HTTP/1.1\r\nHost: x\r\nContent-Type: ${JSON_V2}\r\nContent-Length: 1000\r\n\r\n`,
    );
    const drip = setInterval(() => !c.sock.destroyed && c.sock.write('{'), 100);
    try {
      const closedAt = await Promise.race([c.closed, delay(8000).then(() => -1)]);
      expect(closedAt, 'the server never closed the slow connection').toBeGreaterThan(0);
      expect(closedAt - start).toBeGreaterThanOrEqual(1900);
      expect(closedAt - start).toBeLessThan(4500);
    } finally {
      clearInterval(drip);
      c.sock.destroy();
    }
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('a client that hangs up mid-body', () => {
  const log = captureLog('info');
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ LOG_LEVEL: 'info' }, { options: { logger: log.logger } });
  });
  afterAll(() => gw?.close());

  it('is not an internal error: nothing is produced, no error log line, and the server keeps serving', async () => {
    const topic = await newTopic();
    const body = JSON.stringify({ records: [{ value: 'never-complete' }] });
    const head = `POST /topics/${topic} HTTP/1.1\r\nHost: x\r\nContent-Type: ${JSON_V2}\r\n`;
    // A declared length that never arrives, and a chunked body without its last chunk.
    for (const request of [
      `${head}Content-Length: ${body.length + 50}\r\n\r\n${body}`,
      `${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`,
    ]) {
      const c = rawClient(gw);
      // The server has parsed the request head and is reading the body when the client hangs up.
      const received = once(gw.server, 'request');
      c.sock.write(request);
      await received;
      c.sock.destroy();
      await c.closed;
    }
    await quietPeriod(500, 'no error log line after the hang-ups');
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
    const ok = await post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 'after' }] });
    expect(ok.status).toBe(200);
    const records = await readAll(brokers, topic, 1, 15_000, { settleMs: 500 });
    expect(records.map((r) => r.value?.toString())).toEqual(['"after"']);
  });
});

describe('header size (MAX_HEADER_BYTES=4096)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ MAX_HEADER_BYTES: '4096' });
  });
  afterAll(() => gw?.close());

  it('headers within the limit are fine; over it → 431, and the server keeps serving', async () => {
    expect((await fetch(`${gw.url}/healthz`, { headers: { 'X-Big': 'a'.repeat(3000) } })).status).toBe(200);
    const res = await fetch(`${gw.url}/healthz`, { headers: { 'X-Big': 'a'.repeat(5000) } });
    expect(res.status).toBe(431);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('MAX_INFLIGHT_PRODUCE_BYTES', () => {
  let gw: Gateway;
  let release: () => void = () => {};
  let held = Promise.resolve();
  let hold = false;

  beforeAll(async () => {
    gw = await startTestGateway(
      { MAX_INFLIGHT_PRODUCE_BYTES: '4096', KAFKA_PRODUCER_LINGER_MS: '0' },
      {
        options: {
          kafka: {
            // Fault-injection seam: while `hold` is set, batches wait for release() before going to Kafka.
            sendBatch: async (send, batch) => {
              if (hold) await held;
              return send(batch);
            },
          },
        },
      },
    );
  });
  afterAll(() => gw?.close());

  it('past the in-flight window → 503 50301 with Retry-After; accepted again once Kafka answered', async () => {
    const topic = await newTopic();
    hold = true;
    held = new Promise<void>((r) => (release = r));
    const first = post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 'x'.repeat(3000) }] });
    // Wait until the first request's records are in flight.
    await waitFor('the first request in flight', () => gw.kafka.producer.inflightBytes > 0, { timeoutMs: 10_000 });
    expect(gw.kafka.producer.inflightBytes).toBeGreaterThan(3000);

    const refused = await post(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 'y'.repeat(2000) }] });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error_code: 50301 });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    hold = false;
    release();
    const ok = await first;
    expect(ok.status).toBe(200);
    expect(ok.body.offsets[0]).toMatchObject({ offset: 0, error_code: null });
    const again = await post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 'y'.repeat(2000) }] });
    expect(again.status).toBe(200);
    expect(again.body.offsets[0]).toMatchObject({ offset: 1, error_code: null });
    // Nothing of the refused request reached Kafka.
    const records = await readAll(brokers, topic, 2, 20_000, { settleMs: 500 });
    expect(records.map((r) => r.value!.length)).toEqual([3002, 2002]);
  });

  it('a request bigger than the whole window is taken when nothing else is in flight', async () => {
    const topic = await newTopic();
    const big = await post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 'z'.repeat(6000) }] });
    expect(big.status).toBe(200);
    expect(big.body.offsets[0]!.error_code).toBeNull();
  });
});

describe('Content-Encoding (MAX_BODY_BYTES=65536)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ MAX_BODY_BYTES: '65536' });
  });
  afterAll(() => gw?.close());

  const body = (n = 3) =>
    Buffer.from(JSON.stringify({ records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { i } })) }));

  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('a %s body is decoded and produced', async (coding, compress) => {
    const topic = await newTopic();
    const res = await post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, compress(body(3)), {
      'Content-Encoding': coding,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.offsets.map((o) => o.error_code)).toEqual([null, null, null]);
    const records = await readAll(brokers, topic, 3, 20_000);
    expect(records.map((r) => r.value!.toString())).toEqual(['{"i":0}', '{"i":1}', '{"i":2}']);
  });

  it('the limit applies to the decoded size: a compression bomb → 413, the server stays healthy', async () => {
    const topic = await newTopic();
    // 64 MiB of spaces inside a JSON string compresses to ~64 KiB... keep it under the compressed limit:
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"records":[{"value":"'), Buffer.alloc(32 * 1024 * 1024, 0x61), Buffer.from('"}]}')]),
      { level: 9 },
    );
    expect(bomb.length).toBeLessThan(65536);
    const t0 = Date.now();
    const res = await post(gw, `/topics/${topic}`, JSON_V2, bomb, { 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error_code: 413 });
    expect(Date.now() - t0).toBeLessThan(2000); // stopped at the limit, not after inflating 32 MiB
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await readAll(brokers, topic, 0, 1500)).length).toBe(0);
  });

  it('a decoded body just under the limit is fine', async () => {
    const topic = await newTopic();
    const value = 'b'.repeat(65536 - 40);
    const raw = Buffer.from(JSON.stringify({ records: [{ value }] }));
    expect(raw.length).toBeLessThanOrEqual(65536);
    const res = await post(gw, `/topics/${topic}`, JSON_V2, gzipSync(raw), { 'Content-Encoding': 'gzip' });
    expect(res.status, res.text).toBe(200);
  });

  it.each(['compress', 'zstd', 'gzip, gzip', 'gzip;q=1', 'bogus'])('Content-Encoding: %s → 415', async (coding) => {
    const topic = await newTopic();
    const res = await post(gw, `/topics/${topic}`, JSON_V2, gzipSync(body()), { 'Content-Encoding': coding });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ error_code: 415 });
  });

  it.each([
    ['not gzip at all', () => body()],
    ['truncated gzip', () => gzipSync(body(50)).subarray(0, 40)],
    [
      'corrupted gzip',
      () => {
        const b = gzipSync(body(50));
        b.fill(0xff, 20, 40);
        return b;
      },
    ],
  ])('%s → 400', async (_name, make) => {
    const topic = await newTopic();
    const res = await post(gw, `/topics/${topic}`, JSON_V2, make(), { 'Content-Encoding': 'gzip' });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toMatchObject({ error_code: 400 });
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('identity is the same as no coding; v3 bodies can be gzipped too', async () => {
    const topic = await newTopic();
    const res = await post(gw, `/topics/${topic}`, JSON_V2, body(1), { 'Content-Encoding': 'identity' });
    expect(res.status).toBe(200);
    const cluster = ((await (await fetch(`${gw.url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] })
      .data[0]!.cluster_id;
    const create = await post(
      gw,
      `/v3/clusters/${cluster}/topics`,
      'application/json',
      gzipSync(JSON.stringify({ topic_name: uniqueTopic('harden-v3'), validate_only: true })),
      {
        'Content-Encoding': 'gzip',
      },
    );
    expect(create.status, create.text).toBe(200);
  });
});

describe('X-Request-Id', () => {
  let gw: Gateway;
  const log = captureLog('debug');
  beforeAll(async () => {
    gw = await startTestGateway({ LOG_LEVEL: 'debug' }, { options: { logger: log.logger } });
  });
  afterAll(() => gw?.close());

  const accessLines = (id: string) => log.lines.filter((l) => l.component === 'http' && l.reqId === id);

  it('a short, safe id is kept, echoed and on the access log line (success and error)', async () => {
    const ok = await fetch(`${gw.url}/healthz`, { headers: { 'X-Request-Id': 'abc-DEF_123=' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-DEF_123=');
    const missing = await fetch(`${gw.url}/topics/${uniqueTopic('absent')}`, {
      headers: { 'X-Request-Id': 'req-404' },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('req-404');
    const unknownRoute = await fetch(`${gw.url}/nowhere`, { headers: { 'X-Request-Id': 'req-route' } });
    expect(unknownRoute.headers.get('x-request-id')).toBe('req-route');
    await waitFor('the three access lines', () =>
      ['abc-DEF_123=', 'req-404', 'req-route'].every((id) => accessLines(id).length > 0),
    );
    expect(accessLines('abc-DEF_123=')).toEqual([
      expect.objectContaining({ msg: 'request', status: 200, route: '/healthz' }),
    ]);
    expect(accessLines('req-404')).toEqual([expect.objectContaining({ msg: 'request', status: 404 })]);
    expect(accessLines('req-route')).toEqual([expect.objectContaining({ status: 404 })]);
  });

  it.each([
    ['too long', 'a'.repeat(256)],
    ['spaces', 'has space'],
    ['CRLF-ish / log injection', 'x\\ny'],
    ['quotes and angle brackets', '<script>"'],
    ['non-ASCII', 'é'],
  ])('an unsafe id (%s) is replaced by a fresh one, which is echoed and logged', async (_name, inbound) => {
    const res = await fetch(`${gw.url}/healthz`, { headers: { 'X-Request-Id': inbound } });
    const id = res.headers.get('x-request-id')!;
    expect(id).not.toBe(inbound);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor('the access line', () => accessLines(id).length > 0);
    expect(accessLines(id)).toHaveLength(1);
    expect(log.text()).not.toContain(inbound);
  });

  it('without an inbound id every response gets its own', async () => {
    const a = (await fetch(`${gw.url}/healthz`)).headers.get('x-request-id');
    const b = (await fetch(`${gw.url}/healthz`)).headers.get('x-request-id');
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });

  it('the admin audit line carries the request id', async () => {
    const cluster = ((await (await fetch(`${gw.url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] })
      .data[0]!.cluster_id;
    const name = uniqueTopic('harden-audit');
    topics.push(name);
    const res = await post(
      gw,
      `/v3/clusters/${cluster}/topics`,
      'application/json',
      { topic_name: name, partitions_count: 1 },
      { 'X-Request-Id': 'audit-1' },
    );
    expect(res.status).toBe(201);
    await waitFor('the audit line', () => log.lines.find((l) => l.msg === 'topic created' && l.topic === name));
    expect(log.lines.find((l) => l.msg === 'topic created' && l.topic === name)).toMatchObject({ reqId: 'audit-1' });
  });
});
