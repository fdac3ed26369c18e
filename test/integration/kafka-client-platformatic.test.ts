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
  logs = captureLog('info');
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
});
