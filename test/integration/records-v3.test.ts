// Confluent v3 records through a real gateway into a real broker: the single form, streaming (inline errors, order,
// back-pressure, hang-up) and batch; every record reported written is read back straight from Kafka.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import {
  call,
  createTopicReady,
  endOffsets,
  javaPartition,
  JSON_V2,
  post,
  startTestGateway,
} from '../helpers/gateway.js';
import { spawnReplica } from '../helpers/replicas.js';
import { readAll, uniqueTopic } from '../helpers/kafka.js';
import { openStream } from '../helpers/v3-stream.js';
import { quietPeriod } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
let cluster: string;

beforeAll(async () => {
  gw = await startTestGateway();
  cluster = (await call(gw, '/v3/clusters')).body.data[0].cluster_id;
});
afterAll(async () => {
  await gw?.close();
});

async function topicWith(partitions: number): Promise<string> {
  const t = uniqueTopic('v3rec');
  await createTopicReady(brokers, t, partitions);
  return t;
}

const recordsPath = (t: string, c = cluster) => `/v3/clusters/${c}/topics/${t}/records`;
const batchPath = (t: string, c = cluster) => `/v3/clusters/${c}/topics/${t}/records:batch`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  post(gw, path, 'application/json', body, headers);

describe('single record', () => {
  it("answers Confluent's report and writes key, value, headers and timestamp as sent", async () => {
    const t = await topicWith(3);
    // Raw text: the big integer must reach the gateway with all its digits.
    const body = JSON.stringify({
      headers: [
        { name: 'h1', value: Buffer.from('one').toString('base64') },
        { name: 'h2', value: null },
      ],
      key: { type: 'STRING', data: 'order-17' },
      value: { type: 'JSON', data: { amount: 42, big: 0 } },
      timestamp: '2026-01-02T03:04:05.678+01:00',
    }).replace('"big":0', '"big":12345678901234567890');
    const res = await postJson(recordsPath(t), body);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.text.endsWith('\r\n')).toBe(true);
    const partition = javaPartition(Buffer.from('order-17'), 3);
    expect(res.body).toEqual({
      error_code: 200,
      cluster_id: cluster,
      topic_name: t,
      partition_id: partition,
      offset: 0,
      timestamp: '2026-01-02T02:04:05.678Z',
      key: { type: 'STRING', size: 8 },
      value: { type: 'JSON', size: '{"amount":42,"big":12345678901234567890}'.length },
    });
    const [rec] = await readAll(brokers, t, 1);
    expect(rec!.partition).toBe(partition);
    expect(rec!.key!.toString()).toBe('order-17');
    // The big integer's digits as sent (JSON.parse would have rounded it).
    expect(rec!.value!.toString()).toBe('{"amount":42,"big":12345678901234567890}');
    expect(rec!.timestamp).toBe(Date.UTC(2026, 0, 2, 2, 4, 5, 678));
    expect(rec!.headers.h1?.toString()).toBe('one');
    expect(rec!.headers.h2?.toString()).toBe('');
  });

  it('writes each type byte for byte and reports its size; null data is a null key/value of size -1', async () => {
    const t = await topicWith(1);
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    const cases = [
      { key: { type: 'BINARY', data: bin.toString('base64') }, value: { type: 'STRING', data: 'héllo' } },
      { key: { type: 'JSON', data: 'k' }, value: { type: 'JSON', data: [1, 'ü', null] } },
      { key: { type: 'BINARY', data: null }, value: { type: 'STRING', data: '' } },
      { value: { type: 'JSON', data: null } },
      {},
    ];
    const bodies = [];
    for (const c of cases) {
      const res = await postJson(recordsPath(t), { partition_id: 0, ...c });
      expect(res.status).toBe(200);
      bodies.push(res.body);
    }
    expect(bodies.map((b) => [b.offset, b.key, b.value])).toEqual([
      [0, { type: 'BINARY', size: 5 }, { type: 'STRING', size: 6 }],
      [1, { type: 'JSON', size: 3 }, { type: 'JSON', size: '[1,"ü",null]'.length + 1 }],
      [2, { type: 'BINARY', size: -1 }, { type: 'STRING', size: 0 }],
      [3, undefined, { type: 'JSON', size: -1 }],
      [4, undefined, undefined],
    ]);
    const recs = await readAll(brokers, t, 5);
    expect(recs.map((r) => [r.key, r.value])).toEqual([
      [bin, Buffer.from('héllo')],
      [Buffer.from('"k"'), Buffer.from('[1,"ü",null]')],
      [null, Buffer.alloc(0)],
      [null, null],
      [null, null],
    ]);
  });

  it('refuses the whole request for request-level problems, before reading records', async () => {
    const t = await topicWith(1);
    const rec = { value: { type: 'STRING', data: 'x' } };
    const cases: [string, Promise<{ status: number; body: any }>, number, number][] = [
      ['unknown cluster', postJson(recordsPath(t, 'no-such-cluster'), rec), 404, 404],
      ['illegal topic name', postJson(recordsPath('bad name!'), rec), 422, 42206],
      ['unknown topic', postJson(recordsPath(uniqueTopic('missing')), rec), 404, 40401],
      ['internal topic', postJson(recordsPath('__consumer_offsets'), rec), 403, 40301],
      ['empty body', post(gw, recordsPath(t), 'application/json', ''), 422, 42206],
      ['not JSON', post(gw, recordsPath(t), 'text/plain', 'x'), 415, 415],
      ['Accept', postJson(recordsPath(t), rec, { Accept: 'text/html' }), 406, 406],
    ];
    for (const [what, p, status, code] of cases) {
      const res = await p;
      expect([what, res.status, res.body?.error_code]).toEqual([what, status, code]);
    }
    expect(await readAll(brokers, t, 0, 1000)).toEqual([]);
  });

  it('refuses a bad record: inline with HTTP 200 when streamed (as Confluent), with its own status when sent alone', async () => {
    const t = await topicWith(2);
    const cases: [unknown, number, number][] = [
      [{ value: { type: 'BINARY', data: 'not base64!' } }, 400, 400],
      [{ value: { type: 'BINARY', data: 1 } }, 400, 400],
      [{ value: { type: 'STRING', data: { a: 1 } } }, 400, 400],
      [{ value: { type: 'AVRO', data: 'x' } }, 400, 400],
      [{ value: { data: 'no type' } }, 400, 400],
      [{ records: [{ value: 1 }] }, 400, 400],
      [{ value: { type: 'STRING', data: 'x' }, timestamp: 'yesterday' }, 400, 400],
      [{ value: { type: 'STRING', data: 'x' }, timestamp: '1969-12-31T23:59:59Z' }, 400, 400],
      [{ partition_id: -1 }, 404, 40402],
      [{ partition_id: 2 }, 404, 40402],
    ];
    for (const [body, status, code] of cases) {
      // Alone (a body of declared length): the refusal's own status, Confluent's error body.
      const alone = await postJson(recordsPath(t), body);
      expect([body, alone.status, alone.body.error_code]).toEqual([body, status, code]);
      expect(typeof alone.body.message).toBe('string');
      // Streamed: 200, and the same error as that record's report.
      const s = openStream(gw.url, recordsPath(t));
      await s.write(JSON.stringify(body));
      s.end();
      expect(await s.status).toBe(200);
      await s.done;
      expect([body, s.reports]).toEqual([body, [{ error_code: code, message: alone.body.message }]]);
    }
    expect(await readAll(brokers, t, 0, 1000)).toEqual([]);
  });
});

describe('streaming', () => {
  it('answers one report per record in order, a malformed one inline, while the stream goes on', async () => {
    const t = await topicWith(3);
    const s = openStream(gw.url, recordsPath(t));
    const n = 500;
    const bad = new Set([7, 250, 499]);
    for (let i = 0; i < n; i++) {
      // Records split across writes at odd places, with and without whitespace between them.
      const text = bad.has(i)
        ? `{"value": {"type": "STRING", "data": "broken ${i}"},}`
        : JSON.stringify({ key: { type: 'STRING', data: `k${i % 10}` }, value: { type: 'STRING', data: `v${i}` } });
      const cut = i % 3 === 0 ? 5 : text.length;
      await s.write(text.slice(0, cut));
      if (cut < text.length) await s.write(text.slice(cut));
      if (i % 2 === 0) await s.write('\n');
    }
    s.end();
    expect(await s.status).toBe(200);
    await s.done;
    expect(s.reports).toHaveLength(n);
    const written: [number, number, string][] = [];
    s.reports.forEach((r, i) => {
      if (bad.has(i)) {
        expect(r.error_code).toBe(400);
        return;
      }
      expect(r.error_code).toBe(200);
      expect(r.partition_id).toBe(javaPartition(Buffer.from(`k${i % 10}`), 3));
      written.push([r.partition_id as number, r.offset as number, `v${i}`]);
    });
    const recs = await readAll(brokers, t, written.length);
    expect(recs.map((r) => [r.partition, r.offset, r.value!.toString()]).sort()).toEqual(written.sort());
  });

  it('takes a gzip-encoded stream (Content-Encoding), and refuses one that is not gzip with 400', async () => {
    const t = await topicWith(1);
    const text = [1, 2, 3].map((i) => JSON.stringify({ value: { type: 'STRING', data: `z${i}` } })).join('\n');
    const res = await post(gw, recordsPath(t), 'application/json', gzipSync(text), { 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(200);
    const reports = res.text
      .split('\r\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(reports.map((r) => [r.error_code, r.offset])).toEqual([
      [200, 0],
      [200, 1],
      [200, 2],
    ]);
    expect((await readAll(brokers, t, 3)).map((r) => r.value!.toString())).toEqual(['z1', 'z2', 'z3']);
    const bad = await post(gw, recordsPath(t), 'application/json', 'not gzip', { 'Content-Encoding': 'gzip' });
    expect([bad.status, bad.body?.error_code]).toEqual([400, 400]);
  });

  it('stops reading the body while the client does not read its reports (gateway RSS stays flat), then finishes', async () => {
    const t = await topicWith(1);
    // A gateway process of its own, so that its memory is measured apart from this test's.
    // A long request: the client writes until held back, then waits.
    const replica = await spawnReplica({ KAFKA_BROKERS: brokers, AUTH_MODE: 'none', REQUEST_TIMEOUT_MS: '170000' });
    try {
      const rss = () => {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${replica.child.pid}/status`, 'utf8'));
        return Number(m![1]) * 1024;
      };
      const rssBefore = rss();
      const s = openStream(replica.url, recordsPath(t));
      s.pauseReading();
      const rec = (i: number) => JSON.stringify({ value: { type: 'STRING', data: `${i}:${'x'.repeat(100)}` } });
      const PER_WRITE = 100;
      const LIMIT = 2_000_000; // ~260 MB of body: far more than any buffer on the way may hold
      let sent = 0;
      const t0 = Date.now();
      let drained = true;
      let rssHeld = 0;
      let rssLater = 0;
      // Write until a write does not drain for 3 s and still has not 5 s later: held back, not merely slowed down
      // (a busy machine can pause the gateway for seconds). Meanwhile its memory is measured.
      while (sent < LIMIT) {
        let text = '';
        for (let i = 0; i < PER_WRITE; i++) text += rec(sent + i);
        drained = false;
        const pending = s.write(text).then(() => {
          drained = true;
        });
        sent += PER_WRITE;
        const ok = await Promise.race([pending.then(() => true), sleep(3000).then(() => false)]);
        if (ok) continue;
        rssHeld = rss();
        await sleep(5000);
        rssLater = rss();
        if (!drained) break;
      }
      console.log(
        `back-pressure: held back after ${sent} records (${((Date.now() - t0) / 1000).toFixed(1)} s); gateway RSS ` +
          `+${((rssHeld - rssBefore) / 2 ** 20).toFixed(0)} MiB, then ${((rssLater - rssHeld) / 2 ** 20).toFixed(1)} MiB over 5 s`,
      );
      expect(sent, 'the gateway stopped taking the body').toBeLessThan(LIMIT);
      // Held back: what the gateway keeps is bounded (32 MiB of unread reports, 1,024 records awaiting Kafka) and then
      // flat. The RSS also holds the heap V8 grew while it processed ~200,000 records, which it does not hand back
      // at once: hence a generous bound on the rise, and a tight one on the flatness.
      expect(rssHeld - rssBefore).toBeLessThan(320 * 1024 * 1024);
      expect(rssLater - rssHeld, 'flat while the client still does not read').toBeLessThan(16 * 1024 * 1024);

      // Reading again lets the whole stream through: one report per record, in order, all in Kafka.
      s.resumeReading();
      s.end();
      await s.done;
      expect(s.reports).toHaveLength(sent);
      s.reports.forEach((r, i) => {
        if (r.error_code !== 200 || r.offset !== i) expect([i, r]).toEqual([i, { error_code: 200, offset: i }]);
      });
      const end = await endOffsets(brokers, t);
      expect(end[0]).toBe(sent);
    } finally {
      await replica.stop();
    }
  }, 180_000);

  it('after a hang-up mid-stream, what was acknowledged is in Kafka and nothing beyond what was in flight is sent', async () => {
    const t = await topicWith(1);
    const s = openStream(gw.url, recordsPath(t));
    const rec = (i: number) => JSON.stringify({ value: { type: 'STRING', data: `r${i}` } });
    let sent = 0;
    for (; sent < 300; sent++) await s.write(rec(sent));
    await s.waitReports(200);
    for (let i = 0; i < 50; i++) await s.write(rec(sent++));
    s.destroy();
    await s.done;
    const acknowledged = s.reports.filter((r) => r.error_code === 200);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
    // Kafka's content settles (in-flight records land), then stays put: nothing is sent after the hang-up.
    const stable = async () => {
      let last = -1;
      for (;;) {
        const now = (await endOffsets(brokers, t))[0]!;
        if (now === last) return now;
        last = now;
        await quietPeriod(1000, 'no record lands after the end offset stopped moving');
      }
    };
    const written = await stable();
    const recs = await readAll(brokers, t, written);
    // One partition, written in order: a gap-free prefix of what was sent, each record once.
    expect(recs.map((r) => r.value!.toString())).toEqual(Array.from({ length: written }, (_, i) => `r${i}`));
    expect(written).toBeGreaterThanOrEqual(acknowledged.length);
    expect(written).toBeLessThanOrEqual(sent);
    for (const r of acknowledged) expect(recs[r.offset as number]!.value!.toString()).toBe(`r${r.offset}`);
    expect(gw.kafka.producer.inflightBytes).toBe(0);
  });
});

describe('a stream that reaches REQUEST_TIMEOUT_MS', () => {
  it('stops reading before Node cuts it: every report written, then a 408 report where it stopped', async () => {
    const short = await startTestGateway({ REQUEST_TIMEOUT_MS: '3000' });
    try {
      const t = await topicWith(1);
      const s = openStream(short.url, recordsPath(t));
      const started = Date.now();
      let sent = 0;
      let ended = false;
      void s.done.then(() => (ended = true));
      // A record every 50 ms, for longer than the request may last.
      while (!ended && Date.now() - started < 8000) {
        await s.write(JSON.stringify({ value: { type: 'STRING', data: `r${sent}` } })).catch(() => {});
        sent++;
        await new Promise((r) => setTimeout(r, 50));
      }
      await s.done;
      expect(Date.now() - started, 'the gateway ended the stream itself').toBeLessThan(8000);
      const last = s.reports.at(-1)!;
      expect(last.error_code).toBe(408);
      const written = s.reports.slice(0, -1);
      expect(written.length).toBeGreaterThan(10);
      written.forEach((r, i) => expect([i, r.error_code, r.offset]).toEqual([i, 200, i]));
      // Exactly the reported records are in Kafka: nothing after the 408 was read or sent.
      await quietPeriod(1000, 'nothing after the 408 reaches Kafka');
      expect((await endOffsets(brokers, t))[0]).toBe(written.length);
    } finally {
      await short.close();
    }
  });
});

describe('batch', () => {
  it('answers 207 with one result per entry id: written ones in successes, the others in failures', async () => {
    const t = await topicWith(2);
    const res = await postJson(batchPath(t), {
      entries: [
        { id: 'a', key: { type: 'STRING', data: 'k' }, value: { type: 'STRING', data: 'first' } },
        { id: 'b', value: { type: 'BINARY', data: 'not base64!' } },
        { id: 'c', partition_id: 1, value: { type: 'JSON', data: { n: 3 } }, timestamp: '2026-12-02T10:00:00Z' },
        { id: 'd', partition_id: 7, value: { type: 'STRING', data: 'nowhere' } },
      ],
    });
    expect(res.status).toBe(207);
    const p = javaPartition(Buffer.from('k'), 2);
    expect(res.body.successes).toEqual([
      {
        id: 'a',
        cluster_id: cluster,
        topic_name: t,
        partition_id: p,
        offset: 0,
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/),
        key: { type: 'STRING', size: 1 },
        value: { type: 'STRING', size: 5 },
      },
      {
        id: 'c',
        cluster_id: cluster,
        topic_name: t,
        partition_id: 1,
        offset: p === 1 ? 1 : 0,
        timestamp: '2026-12-02T10:00:00Z',
        value: { type: 'JSON', size: 7 },
      },
    ]);
    expect(res.body.failures).toEqual([
      { id: 'b', error_code: 400, message: expect.any(String) },
      { id: 'd', error_code: 40402, message: expect.any(String) },
    ]);
    const recs = await readAll(brokers, t, 2);
    expect(recs.map((r) => r.value!.toString()).sort()).toEqual(['first', '{"n":3}']);
    expect(recs.find((r) => r.value!.toString() === '{"n":3}')!.timestamp).toBe(Date.UTC(2026, 11, 2, 10));
  });

  it('refuses a batch whose entry list or ids are not valid with 422 42208, writing nothing', async () => {
    const t = await topicWith(1);
    const v = { type: 'STRING', data: 'x' };
    const cases = [
      { entries: [] },
      {
        entries: [
          { id: 'same', value: v },
          { id: 'same', value: v },
        ],
      },
      { entries: [{ id: 'has space', value: v }] },
      { entries: [{ id: 'x'.repeat(81), value: v }] },
      { entries: [{ value: v }] },
    ];
    for (const body of cases) {
      const res = await postJson(batchPath(t), body);
      expect([body, res.status, res.body.error_code]).toEqual([body, 422, 42208]);
    }
    const wrongType = await postJson(batchPath(t), { entries: [{ id: '1', partition_id: 'x' }] });
    expect([wrongType.status, wrongType.body.error_code]).toEqual([400, 400]);
    expect(await readAll(brokers, t, 0, 1000)).toEqual([]);
  });
});

describe('v2 timestamp', () => {
  it("writes a record's timestamp (epoch ms) as its CreateTime", async () => {
    const t = await topicWith(1);
    const res = await post(gw, `/topics/${t}`, JSON_V2, {
      records: [{ value: 1, timestamp: 1_000 }, { value: 2 }],
    });
    expect(res.status).toBe(200);
    const recs = await readAll(brokers, t, 2);
    expect(recs[0]!.timestamp).toBe(1000);
    expect(Math.abs(recs[1]!.timestamp - Date.now())).toBeLessThan(60_000);
    const bad = await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1, timestamp: -5 }] });
    expect([bad.status, bad.body.error_code]).toEqual([422, 422]);
  });
});
