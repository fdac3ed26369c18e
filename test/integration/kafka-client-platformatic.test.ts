// KAFKA_CLIENT=platformatic: the gateway's produce path on @platformatic/kafka against the real broker. The shared
// produce and failure files run on it too (KGW_TEST_KAFKA_CLIENT=platformatic, docs/performance.md "The Kafka client"); this file checks
// what only this client has to prove: that it is the one producing, and that concurrent requests over several
// partitions come back with their own offsets, byte for byte, in order, with headers, null keys and timestamps.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { BINARY_V2, call, createTopicReady, post, ready, startTestGateway } from '../helpers/gateway.js';
import { readAll, uniqueTopic } from '../helpers/kafka.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let logs: CapturedLog;

beforeAll(async () => {
  // Debug: the producer says once which Produce encoding it uses.
  logs = captureLog('debug');
  gw = await startTestGateway({ KAFKA_CLIENT: 'platformatic' }, { waitReady: false, options: { logger: logs.logger } });
  await ready(gw);
});
afterAll(async () => {
  await gw?.close();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('KAFKA_CLIENT=platformatic', () => {
  it('produces through @platformatic/kafka and is ready', async () => {
    const t = uniqueTopic('plt');
    await createTopicReady(brokers, t, 1);
    const res = await post(gw, `/topics/${t}`, BINARY_V2, { records: [{ value: b64('x') }] });
    expect(res.status).toBe(200);
    expect(logs.lines.some((l) => l.msg === 'producer connected' && l.client === '@platformatic/kafka')).toBe(true);
    expect((await call(gw, '/readyz')).status).toBe(200);
  });

  it('answers concurrent requests over 3 partitions with their own offsets, records byte for byte', async () => {
    const t = uniqueTopic('plt');
    await createTopicReady(brokers, t, 3);
    const requests = 20;
    const perRequest = 30;
    const replies = await Promise.all(
      Array.from({ length: requests }, (_, r) =>
        post(gw, `/topics/${t}`, BINARY_V2, {
          records: Array.from({ length: perRequest }, (_, i) => ({
            partition: (r + i) % 3,
            ...(i % 2 === 0 ? { key: b64(`k${r}-${i}`) } : {}),
            value: b64(`r${r}-i${i}`),
          })),
        }),
      ),
    );
    const sent = new Map<string, { partition: number; offset: number; key: string | null }>();
    replies.forEach((res, r) => {
      expect(res.status).toBe(200);
      res.body.offsets.forEach((o: { partition: number; offset: number; error_code: number | null }, i: number) => {
        expect(o.error_code).toBeNull();
        expect(o.partition).toBe((r + i) % 3);
        sent.set(`r${r}-i${i}`, { partition: o.partition, offset: o.offset, key: i % 2 === 0 ? `k${r}-${i}` : null });
      });
    });
    const recs = await readAll(brokers, t, requests * perRequest);
    expect(recs).toHaveLength(requests * perRequest);
    for (const rec of recs) {
      const want = sent.get(rec.value!.toString());
      expect(want, rec.value!.toString()).toBeDefined();
      expect([rec.partition, rec.offset, rec.key?.toString() ?? null]).toEqual([
        want!.partition,
        want!.offset,
        want!.key,
      ]);
    }
    // Within one request and one partition, records keep the request's order.
    for (let r = 0; r < requests; r++) {
      const offsets = replies[r]!.body.offsets.filter((o: { partition: number }) => o.partition === r % 3);
      for (let i = 1; i < offsets.length; i++) expect(offsets[i].offset).toBeGreaterThan(offsets[i - 1].offset);
    }
  });

  it('writes v3 headers (a repeated name kept), a null key and the timestamp as sent', async () => {
    const t = uniqueTopic('plt');
    await createTopicReady(brokers, t, 1);
    const cluster = (await call(gw, '/v3/clusters')).body.data[0].cluster_id;
    const res = await post(gw, `/v3/clusters/${cluster}/topics/${t}/records`, 'application/json', {
      partition_id: 0,
      headers: [
        { name: 'h', value: b64('one') },
        { name: 'h', value: b64('two') },
        { name: 'n', value: null },
      ],
      value: { type: 'STRING', data: 'v' },
      timestamp: '2026-01-02T03:04:05.678Z',
    });
    expect(res.status).toBe(200);
    const [rec] = await readAll(brokers, t, 1);
    expect(rec!.key).toBeNull();
    expect(rec!.value!.toString()).toBe('v');
    expect(rec!.timestamp).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect((rec!.headers.h as Buffer[]).map(String)).toEqual(['one', 'two']);
    // As on kafkajs (the batching producer writes a null header value as empty for both clients).
    expect(rec!.headers.n?.toString()).toBe('');
  });

  it('encodes its Produce requests in one pass; two topics, large, empty and null values, many headers, read back byte for byte', async () => {
    const [t1, t2] = [uniqueTopic('plt-enc'), uniqueTopic('plt-enc')];
    await Promise.all([createTopicReady(brokers, t1, 3), createTopicReady(brokers, t2, 2)]);
    const big = Buffer.alloc(70_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const bodies = [
      {
        topic: t1,
        records: [
          { partition: 2, key: b64('k'), value: big.toString('base64') },
          { partition: 0, value: '' },
        ],
      },
      {
        topic: t2,
        records: [
          { partition: 1, key: '', value: null },
          { partition: 0, value: b64('ü') },
        ],
      },
      {
        topic: t1,
        records: [
          { partition: 2, value: b64('after-big') },
          { partition: 1, key: b64('x'), value: b64('y') },
        ],
      },
    ];
    const cluster = (await call(gw, '/v3/clusters')).body.data[0].cluster_id;
    const headers = Array.from({ length: 12 }, (_, i) => ({ name: `h${i % 5}`, value: b64(`v${i}`.repeat(i * 20)) }));
    // Concurrent, so the batching producer sends them together: one request to the one broker, two topics.
    const [v3, ...v2] = await Promise.all([
      post(gw, `/v3/clusters/${cluster}/topics/${t2}/records`, 'application/json', {
        partition_id: 1,
        key: { type: 'BINARY', data: b64('hk') },
        headers,
        value: { type: 'BINARY', data: big.subarray(0, 300).toString('base64') },
        timestamp: '2026-01-02T03:04:05.678Z',
      }),
      ...bodies.map((body) => post(gw, `/topics/${body.topic}`, BINARY_V2, { records: body.records })),
    ]);
    expect(v3!.status).toBe(200);
    for (const res of v2) expect(res.status).toBe(200);

    const want = (body: (typeof bodies)[number], i: number, offset: number) => {
      const r = body.records[i]!;
      const bytes = (x: string | null | undefined) => (x == null ? null : Buffer.from(x, 'base64'));
      return { partition: r.partition, offset, key: bytes(r.key), value: bytes(r.value) };
    };
    const expected = new Map<string, ReturnType<typeof want>>();
    bodies.forEach((body, r) =>
      v2[r]!.body.offsets.forEach((o: { partition: number; offset: number }, i: number) => {
        expect(o.partition).toBe(body.records[i]!.partition);
        expected.set(`${body.topic}/${o.partition}/${o.offset}`, want(body, i, o.offset));
      }),
    );
    const [r1, r2] = await Promise.all([readAll(brokers, t1, 4), readAll(brokers, t2, 3)]);
    const seen = (topic: string, recs: typeof r1) =>
      recs.filter((rec) => expected.has(`${topic}/${rec.partition}/${rec.offset}`));
    for (const [topic, recs] of [
      [t1, r1],
      [t2, r2],
    ] as const)
      for (const rec of seen(topic, recs)) {
        const w = expected.get(`${topic}/${rec.partition}/${rec.offset}`)!;
        expect([rec.partition, rec.offset, rec.key, rec.value]).toEqual([w.partition, w.offset, w.key, w.value]);
      }
    expect(seen(t1, r1)).toHaveLength(4);
    expect(seen(t2, r2)).toHaveLength(2);
    // The v3 record: key, value, every header in order (repeated names kept), the timestamp as sent.
    const rec = r2.find((x) => x.partition === 1 && x.offset === v3!.body.offset)!;
    expect(rec.key).toEqual(Buffer.from('hk'));
    expect(rec.value).toEqual(big.subarray(0, 300));
    expect(rec.timestamp).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    for (let n = 0; n < 5; n++) {
      const got = ([] as Buffer[]).concat(rec.headers[`h${n}`] as Buffer | Buffer[]).map(String);
      expect(got).toEqual(
        headers.filter((h) => h.name === `h${n}`).map((h) => Buffer.from(h.value, 'base64').toString()),
      );
    }
    // …and that was the one-pass encoding, not the library's own.
    const encoding = logs.lines.filter((l) => l.msg === 'produce request encoding').map((l) => l.produceEncoding);
    expect(encoding).toContainEqual(expect.stringMatching(/^one-buffer v(9|10|11)$/));
    expect(encoding.filter((e) => String(e).startsWith('library'))).toEqual([]);
  });
});
