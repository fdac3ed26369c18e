// GET /sse against the real broker: the stream (every partition from `from`, record shape per format, key filter,
// `retry:` once, `subscribed` first), resume by Last-Event-ID with no gap and no repeat (on the same replica and on
// another one, by header and by query), every refusal before the stream in the Confluent body, the heartbeat, the
// per-replica stream bound, a slow reader cut after SSE_SLOW_CLIENT_MS, the query token kept out of the logs, and the
// AUTH_COOKIE_NAME cookie (opt-in, the same checks as any token, origin enforced, never logged).
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { ready, testKafkaClientEnv } from '../helpers/gateway.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { SseClient, type SseRecord } from '../helpers/sse.js';
import { FAST_CONSUMERS, startWsGateway } from '../helpers/ws.js';
import type { Producer } from 'kafkajs';

const brokers = inject('kafkaBrokers');
let producer: Producer;
const gateways: Gateway[] = [];
const clients: SseClient[] = [];

beforeAll(async () => {
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.allSettled(gateways.map((g) => g.close()));
  await producer?.disconnect();
});

async function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  const gw = await startWsGateway(env);
  gateways.push(gw);
  return gw;
}

async function open(
  base: Gateway | string,
  query: string,
  opts: Parameters<typeof SseClient.open>[1] = {},
): Promise<SseClient> {
  const c = await SseClient.open(`${typeof base === 'string' ? base : base.url}/sse${query}`, opts);
  clients.push(c);
  return c;
}

/** `n` records spread over the partitions in turn; keys `${label}-i`, JSON values. */
async function produce(topic: string, partitions: number, n: number, label: string, start = 0) {
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: n }, (_, j) => {
      const i = start + j;
      return {
        key: `${label}-${i}`,
        value: JSON.stringify({ i, label }),
        partition: i % partitions,
        headers: { trace: `t-${i}` },
      };
    }),
  });
}

const ids = (rs: SseRecord[]) => rs.map((r) => `${r.partition}:${r.offset}`);

/** Every record once, offsets ascending without gaps per partition, starting at `from` (default 0). */
function expectCompleteInOrder(
  rs: SseRecord[],
  perPartition: Record<number, number>,
  from: Record<number, number> = {},
) {
  const seen = new Map<number, number[]>();
  for (const r of rs) (seen.get(r.partition) ?? seen.set(r.partition, []).get(r.partition)!).push(r.offset);
  for (const [p, count] of Object.entries(perPartition)) {
    const start = from[Number(p)] ?? 0;
    expect(seen.get(Number(p)) ?? [], `partition ${p}`).toEqual(Array.from({ length: count }, (_, i) => start + i));
  }
  expect(new Set(ids(rs)).size).toBe(rs.length);
}

describe('GET /sse', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway();
  });

  it('streams every partition from earliest: retry once, subscribed first, records in the WebSocket shape', async () => {
    const topic = uniqueTopic('sse');
    await createTopic(brokers, topic, 3);
    await produce(topic, 3, 9, 'a');
    const c = await open(gw, `?topic=${topic}&from=earliest`);
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(c.headers['cache-control']).toContain('no-cache');
    await c.waitRecords(9);
    expect(c.retry).toBe(2000);
    expect(c.events[0]!.event).toBe('subscribed');
    const sub = JSON.parse(c.events[0]!.data);
    expect(sub).toMatchObject({ topic, resumed: false });
    expect(sub.positions).toEqual([0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })));
    expectCompleteInOrder(c.records, { 0: 3, 1: 3, 2: 3 });
    const r = c.records.find((x) => x.key === 'a-4')!;
    expect(r).toMatchObject({ topic, partition: 1, offset: 1, value: { i: 4, label: 'a' } });
    expect(typeof r.timestamp).toBe('number');
    expect(r.headers).toEqual([{ name: 'trace', value: Buffer.from('t-4').toString('base64') }]);
    // Every record event has an id, and ids change as the stream moves.
    const recordIds = c.events.filter((e) => e.event === 'record').map((e) => e.id);
    expect(new Set(recordIds).size).toBe(9);
    expect(recordIds.every((id) => id.startsWith('1.'))).toBe(true);
  });

  it('from=latest (the default) sends only records produced after the subscribed event', async () => {
    const topic = uniqueTopic('sse-latest');
    await createTopic(brokers, topic, 2);
    await produce(topic, 2, 4, 'old');
    const c = await open(gw, `?topic=${topic}`);
    await c.until(() => c.events.length >= 1, 'subscribed');
    expect(JSON.parse(c.events[0]!.data).positions.map((p: { offset: number }) => p.offset)).toEqual([2, 2]);
    await produce(topic, 2, 4, 'new', 4);
    await c.waitRecords(4);
    expect(c.records.map((r) => r.key).sort()).toEqual(['new-4', 'new-5', 'new-6', 'new-7']);
  });

  it('partition, key filter and format=string as in the /ws shortcut; a pretty-printed JSON value survives', async () => {
    const topic = uniqueTopic('sse-filter');
    await createTopic(brokers, topic, 2);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'eu-1', value: '{\n  "pretty": true\n}', partition: 0 },
        { key: 'us-1', value: 'x', partition: 0 },
        { key: 'eu-2', value: 'plain text', partition: 0 },
        { key: 'eu-3', value: 'other partition', partition: 1 },
      ],
    });
    const json = await open(gw, `?topic=${topic}&partition=0&from=earliest&keyPrefix=eu`);
    await json.waitRecords(2);
    expect(json.records.map((r) => [r.key, r.value])).toEqual([
      ['eu-1', { pretty: true }],
      ['eu-2', 'plain text'],
    ]);
    const str = await open(gw, `?topic=${topic}&partition=1&from=0&format=string&key=eu-3`);
    await str.waitRecords(1);
    expect(str.records[0]).toMatchObject({ partition: 1, offset: 0, key: 'eu-3', value: 'other partition' });
  });

  it('two live streams share the topic reader, each with its own partitions and key filter', async () => {
    const topic = uniqueTopic('sse-shared');
    await createTopic(brokers, topic, 2);
    const p1 = await open(gw, `?topic=${topic}&partition=1`);
    const eu = await open(gw, `?topic=${topic}&keyPrefix=eu`);
    await p1.until(() => p1.events.length >= 1, 'subscribed');
    await eu.until(() => eu.events.length >= 1, 'subscribed');
    expect(JSON.parse(p1.events[0]!.data).positions).toEqual([{ topic, partition: 1, offset: 0 }]);
    expect(gw.kafka.consumers.stats().broadcastConsumers).toContainEqual({ topic, watchers: 2 });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'eu-a', value: '1', partition: 0 },
        { key: 'us-b', value: '2', partition: 1 },
        { key: 'eu-c', value: '3', partition: 1 },
      ],
    });
    await p1.waitRecords(2);
    await eu.waitRecords(2);
    expect(p1.records.map((r) => r.key)).toEqual(['us-b', 'eu-c']);
    expect(eu.records.map((r) => r.key).sort()).toEqual(['eu-a', 'eu-c']);
  });

  it('from=@time starts each partition at the first record at or after that time', async () => {
    const topic = uniqueTopic('sse-time');
    await createTopic(brokers, topic, 1);
    const t0 = Date.now() - 60_000;
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { value: 'before', timestamp: String(t0 - 1000) },
        { value: 'after', timestamp: String(t0 + 1000) },
      ],
    });
    const c = await open(gw, `?topic=${topic}&from=@${t0}&format=string`);
    await c.waitRecords(1);
    expect(c.records.map((r) => r.value)).toEqual(['after']);
  });
});

describe('resume by Last-Event-ID', () => {
  let a: Gateway;
  let b: Gateway;
  beforeAll(async () => {
    [a, b] = await Promise.all([gateway(), gateway()]);
  });

  it('goes on after the last event seen, on another replica, with no record missed or repeated', async () => {
    const topic = uniqueTopic('sse-resume');
    await createTopic(brokers, topic, 3);
    await produce(topic, 3, 30, 'r');
    const first = await open(a, `?topic=${topic}&from=earliest`);
    await first.waitRecords(12);
    first.close();
    // What the client saw; the id of its last event is where it stands (a browser would send exactly this).
    const seen = first.records;
    const lastId = first.lastEventId;
    await produce(topic, 3, 15, 'r', 30);
    const second = await open(b, `?topic=${topic}&from=latest`, { headers: { 'Last-Event-ID': lastId } });
    expect(second.status).toBe(200);
    await second.waitRecords(45 - seen.length);
    expect(JSON.parse(second.events[0]!.data).resumed).toBe(true);
    // `from=latest` lost to the id: nothing produced before the reconnect is skipped.
    expectCompleteInOrder([...seen, ...second.records], { 0: 15, 1: 15, 2: 15 });
    second.close();
  });

  it('a client that was at the end of every partition resumes on the shared reader; one behind gets its own', async () => {
    const topic = uniqueTopic('sse-resume-tail');
    await createTopic(brokers, topic, 2);
    await produce(topic, 2, 4, 'tail');
    const first = await open(a, `?topic=${topic}&from=earliest`);
    await first.waitRecords(4);
    first.close();
    const readers = () => b.kafka.consumers.stats();
    const assignsBefore = readers().assignSessions;
    // Nothing produced since: the id is exactly where the shared reader starts.
    const atTail = await open(b, `?topic=${topic}`, { headers: { 'Last-Event-ID': first.lastEventId } });
    await atTail.until(() => atTail.events.length >= 1, 'subscribed');
    expect(readers().broadcastConsumers).toContainEqual({ topic, watchers: 1 });
    expect(readers().assignSessions).toBe(assignsBefore);
    await produce(topic, 2, 4, 'tail', 4);
    await atTail.waitRecords(4);
    expectCompleteInOrder([...first.records, ...atTail.records], { 0: 4, 1: 4 });
    const tailId = atTail.lastEventId;
    atTail.close();
    // Records produced while away: a reader of its own, from the id.
    await produce(topic, 2, 2, 'tail', 8);
    const behind = await open(b, `?topic=${topic}`, { headers: { 'Last-Event-ID': tailId } });
    await behind.waitRecords(2);
    expect(readers().assignSessions).toBe(assignsBefore + 1);
    expect(behind.records.map((r) => r.key).sort()).toEqual(['tail-8', 'tail-9']);
  });

  it('takes lastEventId from the query; the header wins over it', async () => {
    const topic = uniqueTopic('sse-resume-q');
    await createTopic(brokers, topic, 1);
    await produce(topic, 1, 10, 'q');
    const first = await open(a, `?topic=${topic}&from=earliest`);
    await first.waitRecords(10);
    const at3 = first.events.filter((e) => e.event === 'record')[2]!.id; // after offset 2
    const at7 = first.events.filter((e) => e.event === 'record')[6]!.id; // after offset 6
    first.close();
    const byQuery = await open(b, `?topic=${topic}&lastEventId=${encodeURIComponent(at3)}`);
    await byQuery.waitRecords(7);
    expect(byQuery.records.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    const both = await open(b, `?topic=${topic}&lastEventId=${encodeURIComponent(at3)}`, {
      headers: { 'Last-Event-ID': at7 },
    });
    await both.waitRecords(3);
    expect(both.records.map((r) => r.offset)).toEqual([7, 8, 9]);
  });

  it('a filtered stream resumes after records it skipped without sending them', async () => {
    const topic = uniqueTopic('sse-resume-f');
    await createTopic(brokers, topic, 1);
    await producer.send({
      topic,
      acks: -1,
      messages: ['x-0', 'y-1', 'x-2', 'y-3'].map((key) => ({ key, value: '1' })),
    });
    const first = await open(a, `?topic=${topic}&from=earliest&keyPrefix=x`);
    await first.waitRecords(2);
    first.close();
    await producer.send({ topic, acks: -1, messages: ['y-4', 'x-5'].map((key) => ({ key, value: '1' })) });
    const second = await open(b, `?topic=${topic}&keyPrefix=x`, { headers: { 'Last-Event-ID': first.lastEventId } });
    await second.waitRecords(1);
    expect(second.records.map((r) => r.key)).toEqual(['x-5']);
  });
});

describe('refusals before the stream (Confluent body)', () => {
  let gw: Gateway;
  let topic: string;
  beforeAll(async () => {
    topic = uniqueTopic('sse-err');
    [gw] = await Promise.all([gateway({ WS_ALLOWED_ORIGINS: 'https://app.example' }), createTopic(brokers, topic, 2)]);
  });

  async function refused(query: string, headers: Record<string, string> = {}) {
    const c = await open(gw, query, { headers });
    const text = await c.text;
    expect(c.headers['content-type']).toMatch(/application\/json/);
    return { status: c.status, body: JSON.parse(text) as { error_code: number; message: string } };
  }

  it.each([
    ['', 'topic'],
    ['?topic=a,b', 'One topic'],
    ['?topic=bad%20name', 'topic'],
    ['?topic=t&from=yesterday', 'from'],
    ['?topic=t&partition=x', 'partition'],
    ['?topic=t&group=g', 'WebSocket parameter'],
    ['?topic=t&format=xml', 'format'],
    ['?topic=t&key=a&keyPrefix=b', 'key'],
    ['?topic=t&nope=1', 'nope'],
    ['?topic=t&topic=u', 'more than once'],
  ])('400 for %s', async (query, word) => {
    const r = await refused(query);
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe(400);
    expect(r.body.message).toContain(word);
  });

  it('404 40401 for an unknown topic, 404 40402 for an unknown partition', async () => {
    expect(await refused(`?topic=${uniqueTopic('missing')}`)).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    expect(await refused(`?topic=${topic}&partition=0,2`)).toMatchObject({ status: 404, body: { error_code: 40402 } });
  });

  it('400 for a Last-Event-ID that is not ours, or from another topic', async () => {
    expect(await refused(`?topic=${topic}`, { 'Last-Event-ID': 'garbage' })).toMatchObject({ status: 400 });
    const other = uniqueTopic('sse-other');
    await createTopic(brokers, other, 1);
    const c = await open(gw, `?topic=${other}`);
    await c.until(() => c.lastEventId !== '', 'an id');
    const r = await refused(`?topic=${topic}`, { 'Last-Event-ID': c.lastEventId });
    expect(r).toMatchObject({ status: 400, body: { error_code: 400 } });
    expect(r.body.message).toContain('another topic');
  });

  it('403 40301 for a browser Origin outside WS_ALLOWED_ORIGINS; the allowed one streams', async () => {
    expect(await refused(`?topic=${topic}`, { Origin: 'https://evil.example' })).toMatchObject({
      status: 403,
      body: { error_code: 40301 },
    });
    const ok = await open(gw, `?topic=${topic}`, { headers: { Origin: 'https://app.example' } });
    expect(ok.status).toBe(200);
  });
});

describe('auth (JWT): ?access_token= only with WS_QUERY_TOKEN, consume right, token never logged', () => {
  const SECRET = 'sse-test-secret-0123456789-abcdefghij';
  let log: CapturedLog;
  let topic: string;
  let other: string;
  const start = async (queryToken: boolean) => {
    const config = loadConfig(
      {
        KAFKA_BROKERS: brokers,
        PORT: '0',
        HOST: '127.0.0.1',
        ...testKafkaClientEnv(),
        AUTH_MODE: 'jwt',
        AUTH_HS256_SECRET: SECRET,
        WS_QUERY_TOKEN: String(queryToken),
        LOG_LEVEL: 'debug',
        ...FAST_CONSUMERS,
      },
      'prod',
    );
    const gw = await startGateway(config, { logger: log.logger });
    gateways.push(gw);
    await ready(gw);
    return gw;
  };
  const token = (consume: string[]) =>
    new SignJWT({ kafka: { consume } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sse-user')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));

  beforeAll(async () => {
    log = captureLog('debug');
    topic = uniqueTopic('sse-auth');
    other = uniqueTopic('sse-auth-other');
    await Promise.all([createTopic(brokers, topic, 1), createTopic(brokers, other, 1)]);
  });

  it('401 without a token; the bearer header works; ?access_token= is refused unless WS_QUERY_TOKEN=true', async () => {
    const gw = await start(false);
    const t = await token([topic]);
    const none = await open(gw, `?topic=${topic}`);
    expect(none.status).toBe(401);
    expect(JSON.parse(await none.text).error_code).toBe(40101);
    const byQuery = await open(gw, `?topic=${topic}&access_token=${t}`);
    expect(byQuery.status).toBe(401);
    const byHeader = await open(gw, `?topic=${topic}`, { headers: { Authorization: `Bearer ${t}` } });
    expect(byHeader.status).toBe(200);
  });

  it('?access_token= with WS_QUERY_TOKEN=true; 403 40301 without consume on the topic; the token is not logged', async () => {
    const gw = await start(true);
    const t = await token([topic]);
    const ok = await open(gw, `?topic=${topic}&from=earliest&access_token=${t}`);
    expect(ok.status).toBe(200);
    await produce(topic, 1, 1, 'auth');
    await ok.waitRecords(1);
    const forbidden = await open(gw, `?topic=${other}&access_token=${t}`);
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(await forbidden.text).error_code).toBe(40301);
    const bad = await open(gw, `?topic=${topic}&access_token=${t}x`);
    expect(bad.status).toBe(401);
    expect(log.lines.some((l) => l.component === 'http' && l.status === 403)).toBe(true); // the access log ran
    expect(log.text()).not.toContain(t.split('.')[2]);
  });

  it("ends the stream at the token's exp with an `expired` event (as a WebSocket closes with 4401)", async () => {
    const gw = await start(false);
    const exp = Math.floor(Date.now() / 1000) + 3;
    const t = await new SignJWT({ kafka: { consume: [topic] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sse-user')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(SECRET));
    const c = await open(gw, `?topic=${topic}`, { headers: { Authorization: `Bearer ${t}` } });
    expect(c.status).toBe(200);
    await c.until(() => c.ended, 'the end of the stream', 30_000);
    const last = c.events.at(-1)!;
    expect(last.event).toBe('expired');
    expect(JSON.parse(last.data)).toMatchObject({ error_code: 40101 });
    // Not before the token's exp (whole seconds).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });
});

describe('auth (JWT) by cookie: only with AUTH_COOKIE_NAME, same checks as any token, never logged', () => {
  const SECRET = 'sse-cookie-secret-0123456789-abcdefghij';
  const COOKIE = 'kgw_token';
  let log: CapturedLog;
  let topic: string;
  let other: string;
  const start = async (env: Record<string, string>) => {
    const config = loadConfig(
      {
        KAFKA_BROKERS: brokers,
        PORT: '0',
        HOST: '127.0.0.1',
        ...testKafkaClientEnv(),
        AUTH_MODE: 'jwt',
        AUTH_HS256_SECRET: SECRET,
        LOG_LEVEL: 'debug',
        ...FAST_CONSUMERS,
        ...env,
      },
      'prod',
    );
    const gw = await startGateway(config, { logger: log.logger });
    gateways.push(gw);
    await ready(gw);
    return gw;
  };
  const token = (consume: string[], exp: number | string = '5m', secret = SECRET) =>
    new SignJWT({ kafka: { consume } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sse-cookie-user')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
  const cookie = (t: string) => ({ Cookie: `theme=dark; ${COOKIE}=${t}; other=1` });
  const errorCode = async (c: SseClient) => (JSON.parse(await c.text) as { error_code: number }).error_code;

  beforeAll(async () => {
    log = captureLog('debug');
    topic = uniqueTopic('sse-cookie');
    other = uniqueTopic('sse-cookie-other');
    await Promise.all([createTopic(brokers, topic, 1), createTopic(brokers, other, 1)]);
    await produce(topic, 1, 2, 'cookie');
  });

  it('without AUTH_COOKIE_NAME a cookie is ignored (401)', async () => {
    const gw = await start({});
    const c = await open(gw, `?topic=${topic}`, { headers: cookie(await token([topic])) });
    expect(c.status).toBe(401);
    expect(await errorCode(c)).toBe(40101);
  });

  it('with it: the cookie streams; a bad or foreign-signed cookie is 401; no consume right 403; never logged', async () => {
    const gw = await start({ AUTH_COOKIE_NAME: COOKIE });
    const t = await token([topic]);
    const ok = await open(gw, `?topic=${topic}&from=earliest`, { headers: cookie(t) });
    expect(ok.status).toBe(200);
    await ok.waitRecords(2);
    expect(ok.records.map((r) => r.key)).toEqual(['cookie-0', 'cookie-1']);

    const tampered = await open(gw, `?topic=${topic}`, { headers: cookie(`${t}x`) });
    expect(tampered.status).toBe(401);
    expect(await errorCode(tampered)).toBe(40101);
    const foreign = await open(gw, `?topic=${topic}`, {
      headers: cookie(await token([topic], '5m', 'another-secret-0123456789-abcdefghijkl')),
    });
    expect(foreign.status).toBe(401);
    const expired = await open(gw, `?topic=${topic}`, {
      headers: cookie(await token([topic], Math.floor(Date.now() / 1000) - 120)),
    });
    expect(expired.status).toBe(401);
    const forbidden = await open(gw, `?topic=${other}`, { headers: cookie(t) });
    expect(forbidden.status).toBe(403);
    expect(await errorCode(forbidden)).toBe(40301);
    // The cookie is read only by /sse: a REST route still wants the Authorization header.
    const rest = await fetch(`${gw.url}/topics/${topic}`, { headers: cookie(t) });
    expect(rest.status).toBe(401);

    expect(log.lines.some((l) => l.component === 'http' && l.status === 401)).toBe(true); // the access log ran
    expect(log.text()).not.toContain(t.split('.')[2]);
  });

  it("a foreign browser Origin is refused (403 40301) even with a valid cookie; the gateway's own origin streams", async () => {
    const gw = await start({ AUTH_COOKIE_NAME: COOKIE });
    const t = await token([topic]);
    const evil = await open(gw, `?topic=${topic}`, { headers: { ...cookie(t), Origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    expect(await errorCode(evil)).toBe(40301);
    // Another port of the same host is another origin (same site: SameSite would not stop its cookie).
    const sibling = await open(gw, `?topic=${topic}`, {
      headers: { ...cookie(t), Origin: `http://127.0.0.1:${Number(new URL(gw.url).port) + 1}` },
    });
    expect(sibling.status).toBe(403);
    const own = await open(gw, `?topic=${topic}`, { headers: { ...cookie(t), Origin: new URL(gw.url).origin } });
    expect(own.status).toBe(200);
  });

  it('an explicit token wins over the cookie: a bad Authorization header is 401 whatever the cookie', async () => {
    const gw = await start({ AUTH_COOKIE_NAME: COOKIE });
    const good = await token([topic]);
    const badHeader = await open(gw, `?topic=${topic}`, {
      headers: { ...cookie(good), Authorization: `Bearer ${good}x` },
    });
    expect(badHeader.status).toBe(401);
    const goodHeader = await open(gw, `?topic=${topic}`, {
      headers: { ...cookie('garbage'), Authorization: `Bearer ${good}` },
    });
    expect(goodHeader.status).toBe(200);
  });

  it("a stream opened with a cookie ends at the token's exp with an `expired` event", async () => {
    const gw = await start({ AUTH_COOKIE_NAME: COOKIE });
    const exp = Math.floor(Date.now() / 1000) + 3;
    const c = await open(gw, `?topic=${topic}`, { headers: cookie(await token([topic], exp)) });
    expect(c.status).toBe(200);
    await c.until(() => c.ended, 'the end of the stream', 30_000);
    const last = c.events.at(-1)!;
    expect(last.event).toBe('expired');
    expect(JSON.parse(last.data)).toMatchObject({ error_code: 40101 });
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });
});

describe('shutdown', () => {
  it('ends open streams at once (the client reconnects elsewhere) instead of holding the shutdown', async () => {
    const gw = await startWsGateway({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const topic = uniqueTopic('sse-stop');
    await createTopic(brokers, topic, 1);
    await produce(topic, 1, 3, 's');
    const c = await open(gw, `?topic=${topic}&from=earliest`);
    await c.waitRecords(3);
    const t0 = Date.now();
    await gw.close();
    await c.until(() => c.ended, 'the end of the stream', 5_000);
    // Far below SHUTDOWN_TIMEOUT_MS: the stream did not keep the replica alive until its connections were cut.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(c.records).toHaveLength(3);
  });
});

describe('heartbeat, stream bound, slow reader', () => {
  it('sends a keep-alive comment every SSE_HEARTBEAT_MS on an idle stream', async () => {
    const gw = await gateway({ SSE_HEARTBEAT_MS: '200' });
    const topic = uniqueTopic('sse-hb');
    await createTopic(brokers, topic, 1);
    const c = await open(gw, `?topic=${topic}`);
    await c.until(() => c.comments.filter((x) => x === 'keep-alive').length >= 3, '3 keep-alive comments', 10_000);
    expect(c.records).toEqual([]);
  });

  it('503 50301 over SSE_MAX_READERS for streams that need a reader of their own; live streams still open', async () => {
    const gw = await gateway({ SSE_MAX_READERS: '1' });
    const topic = uniqueTopic('sse-readers');
    await createTopic(brokers, topic, 1);
    const own = await open(gw, `?topic=${topic}&from=earliest`);
    expect(own.status).toBe(200);
    const second = await open(gw, `?topic=${topic}&from=earliest`);
    expect(second.status).toBe(503);
    expect(JSON.parse(await second.text)).toMatchObject({ error_code: 50301 });
    expect(JSON.parse(await second.text).message).toContain('SSE_MAX_READERS');
    const live = await open(gw, `?topic=${topic}`);
    expect(live.status).toBe(200);
    own.close();
    const deadline = Date.now() + 10_000;
    let again: SseClient;
    for (;;) {
      again = await open(gw, `?topic=${topic}&from=earliest`);
      if (again.status === 200 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again.status).toBe(200);
  });

  it('503 50301 over SSE_MAX_STREAMS; a closed stream frees its slot', async () => {
    const gw = await gateway({ SSE_MAX_STREAMS: '2' });
    const topic = uniqueTopic('sse-max');
    await createTopic(brokers, topic, 1);
    const s1 = await open(gw, `?topic=${topic}`);
    const s2 = await open(gw, `?topic=${topic}`);
    expect([s1.status, s2.status]).toEqual([200, 200]);
    const third = await open(gw, `?topic=${topic}`);
    expect(third.status).toBe(503);
    expect(JSON.parse(await third.text).error_code).toBe(50301);
    expect(third.headers['retry-after']).toBe('1');
    s1.close();
    const deadline = Date.now() + 10_000;
    let again: SseClient;
    for (;;) {
      again = await open(gw, `?topic=${topic}`);
      if (again.status === 200 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again.status).toBe(200);
  });

  it.each([
    ['from=earliest', 'its own reader pauses at the high water'],
    ['from=latest', 'the shared reader goes on for others, the stream ends'],
  ])('a reader that does not read (%s: %s) is cut after SSE_SLOW_CLIENT_MS and resumes with no loss', async (from) => {
    const log = captureLog('info');
    const config = loadConfig(
      {
        KAFKA_BROKERS: brokers,
        PORT: '0',
        HOST: '127.0.0.1',
        ...testKafkaClientEnv(),
        AUTH_MODE: 'none',
        SSE_SEND_HIGH_WATER_BYTES: '65536',
        SSE_SLOW_CLIENT_MS: '1500',
        ...FAST_CONSUMERS,
      },
      'prod',
    );
    const gw = await startGateway(config, { logger: log.logger });
    gateways.push(gw);
    await ready(gw);
    const topic = uniqueTopic('sse-slow');
    await createTopic(brokers, topic, 1);
    // The response head comes once the stream's start positions are fixed: everything produced after is its.
    const slow = await open(gw, `?topic=${topic}&${from}&format=string`, { paused: true });
    expect(slow.status).toBe(200);
    // ~24 MB: more than the loopback socket buffers of both ends hold, so the gateway's own queue fills.
    const big = 'v'.repeat(100_000);
    for (let i = 0; i < 30; i++)
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 8 }, () => ({ value: big })) });
    const cutLine = () => log.lines.some((l) => l.msg === 'SSE stream closed: the client read too slowly');
    await slow.until(cutLine, 'the gateway to cut the stream', 30_000);
    // While it did not read, the gateway's queue stayed at the high water plus at most one record (its own reader
    // paused) or one fetch (the shared reader, KAFKA_CONSUMER_FETCH_MAX_BYTES, 1 MiB by default) and one record.
    const cut = log.lines.find((l) => l.msg === 'SSE stream closed: the client read too slowly')!;
    expect(cut.queuedBytes as number).toBeLessThanOrEqual(65536 + (from === 'from=latest' ? 1024 * 1024 : 0) + 101_000);
    // Reading now gets what the sockets held, then the end: the gateway dropped the connection with records unsent.
    slow.resume();
    await slow.until(() => slow.ended, 'the end of the cut stream');
    const got = slow.records;
    expect(got.length).toBeLessThan(240);
    // Its Last-Event-ID resumes exactly after the last event it did get.
    const again = await open(gw, `?topic=${topic}&format=string`, { headers: { 'Last-Event-ID': slow.lastEventId } });
    await again.waitRecords(240 - got.length, 30_000);
    expect([...got, ...again.records].map((r) => r.offset)).toEqual(Array.from({ length: 240 }, (_, i) => i));
  });
});
