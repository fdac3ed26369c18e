// Callers of the REST API against a real gateway (AUTH_PUBLIC_KEY_FILE: one ES256 public key) and the real broker:
// a token on every route but the open ones, permissions from claim and scope globs (403 40301, listings filtered,
// admin for topic admin, internal topics admin-only), AUTH_PRINCIPAL_HEADER read back from Kafka, admin actions
// logged with the sub, AUTH_MODE defaults, CORS preflight, security headers and the per-caller rate limit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import {
  BINARY_V2,
  JSON_V2,
  V2,
  call,
  createTopicReady,
  endOffsets,
  post,
  ready,
  type ProduceReply,
  type Reply,
  testKafkaClientEnv,
} from '../helpers/gateway.js';
import { ensureConsumerOffsetsTopic, readAll, uniqueTopic } from '../helpers/kafka.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';

const brokers = inject('kafkaBrokers');
const ROOT = join(import.meta.dirname, '..', '..');
const PRINCIPAL_HEADER = 'kgw-principal';
const ALLOWED_ORIGIN = 'https://app.example.test';
const RATE = 20;

let dir: string;
let privateKey: CryptoKey;
let gw: Gateway;
let log: CapturedLog;
let clusterId: string;
/** Every topic of this file starts with P (so globs cannot reach other files' topics). */
let P: string;
let orders: string;
let audit: string;
let payments: string;
let secret: string;

type Claims = Record<string, unknown>;
const sign = (sub: string, claims: Claims = {}, expS = 600) =>
  new SignJWT({ sub, ...claims })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuedAt()
    .setExpirationTime(`${expS}s`)
    .sign(privateKey);
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const b64 = (s: string) => Buffer.from(s).toString('base64');

function env(extra: Record<string, string> = {}) {
  return loadConfig(
    {
      KAFKA_BROKERS: brokers,
      PORT: '0',
      HOST: '127.0.0.1',
      ...testKafkaClientEnv(),
      AUTH_MODE: 'jwt',
      AUTH_PUBLIC_KEY_FILE: join(dir, 'public.pem'),
      AUTH_PRINCIPAL_HEADER: PRINCIPAL_HEADER,
      CORS_ORIGINS: ALLOWED_ORIGIN,
      RATE_LIMIT_RECORDS_PER_S: String(RATE),
      ...extra,
    },
    'prod',
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-rest-sec-'));
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  writeFileSync(join(dir, 'public.pem'), await exportSPKI(pair.publicKey));
  P = uniqueTopic('rest-sec');
  orders = `${P}.orders.eu`;
  audit = `${P}.audit`;
  payments = `${P}.payments`;
  secret = `${P}.secret`;
  await Promise.all([orders, audit, payments, secret].map((t) => createTopicReady(brokers, t, 1)));
  log = captureLog('info');
  gw = await startGateway(env(), { logger: log.logger });
  await ready(gw);
  clusterId = (await call(gw, '/v3/clusters', { headers: auth(await sign('ops', { kafka: { admin: true } })) })).body
    .data[0].cluster_id;
}, 120_000);

afterAll(async () => {
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function expect401(r: Reply): void {
  expect(r.status, r.text).toBe(401);
  expect(r.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(r.body.error_code).toBe(40101);
}

function expect403(r: Reply): void {
  expect(r.status, r.text).toBe(403);
  expect(r.body.error_code).toBe(40301);
}

const produceJson = (topic: string, token: string, records: unknown[] = [{ value: 1 }]) =>
  post<ProduceReply>(gw, `/topics/${topic}`, JSON_V2, { records }, auth(token));

describe('a bearer token on every REST route; only the open paths answer without one', () => {
  const OPEN = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/openapi.yaml', '/docs', '/ui'];

  it('every operation in the OpenAPI document (except the open ones) is 401 40101 without a token', async () => {
    const doc = (await call(gw, '/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const checked: string[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      const path = template
        .replace('{topic}', orders)
        .replace('{topic_name}', orders)
        .replace('{partition}', '0')
        .replace('{cluster_id}', clusterId);
      for (const [method, op] of Object.entries(ops)) {
        // Operations marked open (`security: []`) must be among the documented open paths; /metrics is open by setting.
        if (Array.isArray(op.security) && op.security.length === 0) expect(OPEN).toContain(template);
        const open = OPEN.includes(template);
        const init: RequestInit = { method: method.toUpperCase() };
        if (method === 'post')
          Object.assign(init, {
            headers: { 'Content-Type': JSON_V2 },
            body: JSON.stringify({ records: [{ value: 1 }] }),
          });
        const r = await call(gw, path, init);
        if (open) expect(r.status).not.toBe(401);
        else expect401(r);
        checked.push(`${method} ${template}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(15);
    // Nothing was written by the unauthenticated POSTs.
    expect(await endOffsets(brokers, orders)).toEqual({ 0: 0 });
  });

  it('unknown paths are 401 too (no route discovery without a token), and a bad token is 401 everywhere', async () => {
    expect401(await call(gw, '/v3/clusters/x/acls'));
    expect401(await call(gw, '/nope'));
    expect401(await call(gw, '/docsXYZ'));
    expect401(await call(gw, '/topics', { headers: { Authorization: 'Bearer x.y.z' } }));
  });

  it(`${OPEN.join(', ')} answer without a token`, async () => {
    for (const p of OPEN) {
      const r = await call(gw, p, { redirect: 'manual' });
      expect(r.status, `${p}: ${r.text.slice(0, 200)}`).toBe(200);
    }
  });

  it('AUTH_PUBLIC_DOCS=false and AUTH_PUBLIC_METRICS=false close docs and metrics', async () => {
    const closed = await startGateway(
      env({ AUTH_PUBLIC_DOCS: 'false', AUTH_PUBLIC_METRICS: 'false', LOG_LEVEL: 'silent' }),
      { logger: captureLog('silent').logger },
    );
    try {
      for (const p of ['/metrics', '/openapi.json', '/docs', '/ui']) expect401(await call(closed, p));
      for (const p of ['/healthz', '/readyz']) expect((await call(closed, p)).status).not.toBe(401);
    } finally {
      await closed.close();
    }
  });
});

describe('permissions (claim and scope globs)', () => {
  it('produce: a topic inside the claim glob is written (read back), one outside is 403 40301 and nothing is written', async () => {
    const t = await sign('orders-svc', { kafka: { produce: [`${P}.orders.*`] } });
    const ok = await produceJson(orders, t, [{ value: 'kept' }]);
    expect(ok.status, ok.text).toBe(200);
    expect((await readAll(brokers, orders, 1)).map((r) => r.value!.toString())).toEqual(['"kept"']);
    const before = await endOffsets(brokers, payments);
    expect403(await produceJson(payments, t));
    expect403(await post(gw, `/topics/${payments}/partitions/0`, JSON_V2, { records: [{ value: 1 }] }, auth(t)));
    expect(await endOffsets(brokers, payments)).toEqual(before);
  });

  it('scope entries grant the same rights; consume alone does not allow produce', async () => {
    const t = await sign('pay-svc', { scope: `openid kafka:produce:${payments} kafka:consume:${audit}` });
    expect((await produceJson(payments, t)).status).toBe(200);
    const before = await endOffsets(brokers, audit);
    expect403(await produceJson(audit, t));
    expect(await endOffsets(brokers, audit)).toEqual(before);
    expect((await call(gw, `/topics/${audit}`, { headers: { ...auth(t), Accept: V2 } })).status).toBe(200);
  });

  it('a malformed claim grants nothing', async () => {
    const t = await sign('broken', { kafka: { produce: `${P}.*`, admin: 'true' } });
    expect403(await produceJson(orders, t));
    expect403(
      await post(gw, `/v3/clusters/${clusterId}/topics`, 'application/json', { topic_name: `${P}.x` }, auth(t)),
    );
  });

  it('metadata of a topic outside the rights is 403 on every route', async () => {
    const t = await sign('reader', { kafka: { consume: [audit] } });
    for (const p of [
      `/topics/${secret}`,
      `/topics/${secret}/partitions`,
      `/topics/${secret}/partitions/0`,
      `/topics/${secret}/partitions/0/offsets`,
      `/v3/clusters/${clusterId}/topics/${secret}`,
    ])
      expect403(await call(gw, p, { headers: auth(t) }));
    expect((await call(gw, `/topics/${audit}/partitions/0/offsets`, { headers: auth(t) })).status).toBe(200);
  });

  it('listings show only the permitted topics, and never internal ones', async () => {
    const t = await sign('lister', { kafka: { consume: [`${P}.orders.*`], produce: [audit] } });
    const v2 = (await call(gw, '/topics', { headers: auth(t) })).body as string[];
    expect(v2.filter((n) => n.startsWith(P)).sort()).toEqual([audit, orders].sort());
    expect(v2.filter((n) => !n.startsWith(P))).toEqual([]);
    const v3 = (await call(gw, `/v3/clusters/${clusterId}/topics`, { headers: auth(t) })).body.data.map(
      (x: { topic_name: string }) => x.topic_name,
    ) as string[];
    expect(v3.sort()).toEqual([audit, orders].sort());
  });

  it('internal topics (__*) are admin-only, whatever the globs say', async () => {
    await ensureConsumerOffsetsTopic(brokers);
    const everything = await sign('greedy', { kafka: { produce: ['*'], consume: ['*'] } });
    expect403(await call(gw, '/topics/__consumer_offsets', { headers: auth(everything) }));
    expect403(await produceJson('__consumer_offsets', everything));
    const v3names = async (t: string) =>
      (
        (await call(gw, `/v3/clusters/${clusterId}/topics`, { headers: auth(t) })).body.data as Array<{
          topic_name: string;
        }>
      ).map((x) => x.topic_name);
    expect((await call(gw, '/topics', { headers: auth(everything) })).body).not.toContain('__consumer_offsets');
    expect(await v3names(everything)).not.toContain('__consumer_offsets');
    const admin = await sign('ops', { scope: 'kafka:admin' });
    expect((await call(gw, '/topics/__consumer_offsets', { headers: auth(admin) })).status).toBe(200);
    expect(await v3names(admin)).toContain('__consumer_offsets'); // (v2's GET /topics leaves internal topics out for everyone)
  });

  it('topic admin needs admin (403 without, topic untouched); admin actions are logged with the sub', async () => {
    const name = `${P}.created`;
    const user = await sign('not-admin', { kafka: { produce: ['*'], consume: ['*'], groups: ['*'] } });
    // A record in the topic first: a deleted and re-created topic would start again at offset 0.
    expect((await produceJson(audit, user)).status).toBe(200);
    const before = await endOffsets(brokers, audit);
    expect(before[0]).toBeGreaterThan(0);
    expect403(
      await post(
        gw,
        `/v3/clusters/${clusterId}/topics`,
        'application/json',
        { topic_name: name, partitions_count: 1 },
        auth(user),
      ),
    );
    expect403(await call(gw, `/v3/clusters/${clusterId}/topics/${audit}`, { method: 'DELETE', headers: auth(user) }));
    expect((await call(gw, `/v3/clusters/${clusterId}/topics/${audit}`, { headers: auth(user) })).status).toBe(200); // still there
    expect(await endOffsets(brokers, audit)).toEqual(before); // neither deleted nor re-created

    const admin = await sign('ops-admin', { kafka: { admin: true } });
    const created = await post(
      gw,
      `/v3/clusters/${clusterId}/topics`,
      'application/json',
      { topic_name: name, partitions_count: 1 },
      auth(admin),
    );
    expect(created.status, created.text).toBe(201);
    const deleted = await call(gw, `/v3/clusters/${clusterId}/topics/${name}`, {
      method: 'DELETE',
      headers: auth(admin),
    });
    expect(deleted.status, deleted.text).toBe(204);

    const auditLines = log.lines.filter((l) => l.component === 'admin');
    expect(auditLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'topic created', sub: 'ops-admin', topic: name }),
        expect.objectContaining({ msg: 'topic deleted', sub: 'ops-admin', topic: name }),
      ]),
    );
    expect(auditLines.filter((l) => l.sub === 'not-admin')).toEqual([]);
  });
});

describe('AUTH_PRINCIPAL_HEADER', () => {
  it("puts the caller's sub in every record's headers, replacing any caller header of that name", async () => {
    const t = await sign('billing-svc', { kafka: { produce: [`${P}.orders.*`], consume: [`${P}.orders.*`] } });
    const topic = `${P}.orders.principal`;
    await createTopicReady(brokers, topic, 1);
    const res = await post<ProduceReply>(
      gw,
      `/topics/${topic}`,
      BINARY_V2,
      {
        records: [
          {
            value: b64('forged'),
            headers: [
              { name: PRINCIPAL_HEADER, value: b64('admin') },
              { name: 'trace', value: b64('t-1') },
            ],
          },
          { value: b64('forged-case'), headers: [{ name: 'KGW-Principal', value: b64('root') }] },
          { value: b64('plain') },
        ],
      },
      auth(t),
    );
    expect(res.status, res.text).toBe(200);
    const json = await produceJson(topic, t, [{ value: 'json' }]);
    expect(json.status).toBe(200);
    const recs = await readAll(brokers, topic, 4);
    expect(recs).toHaveLength(4);
    for (const r of recs) {
      const names = Object.keys(r.headers);
      expect(names.filter((n) => n.toLowerCase() === PRINCIPAL_HEADER)).toEqual([PRINCIPAL_HEADER]);
      expect(String(r.headers[PRINCIPAL_HEADER])).toBe('billing-svc');
    }
    expect(String(recs[0]!.headers.trace)).toBe('t-1');
  });
});

describe('AUTH_MODE', () => {
  /** Runs the production entry (`npm start` runs the same main, built) until it exits or prints `until`. */
  function runMain(extraEnv: Record<string, string>, until?: RegExp): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const childEnv: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        ...extraEnv,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (until?.test(out)) child.kill('SIGTERM');
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  it('npm start defaults to jwt: without a key source it refuses to start', async () => {
    expect(loadConfig({ KAFKA_BROKERS: brokers, AUTH_HS256_SECRET: 'x'.repeat(32) }, 'prod').AUTH_MODE).toBe('jwt');
    const { code, out } = await runMain({ KAFKA_BROKERS: brokers, PORT: '0' });
    expect(code).toBe(2);
    expect(out).toMatch(/AUTH_MODE: jwt needs exactly one key source/);
  });

  it('AUTH_MODE=none starts with a warning', async () => {
    const { out } = await runMain(
      { KAFKA_BROKERS: brokers, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'none' },
      /gateway listening/,
    );
    // The log lines (JSON); the runtime may add lines of its own (a Node warning) on the same stream.
    const warning = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => /AUTH_MODE=none/.test(l.msg));
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toMatch(/every caller may produce, read and administer every topic/);
  });
});

describe('CORS (CORS_ORIGINS)', () => {
  const preflight = (origin: string) =>
    call(gw, `/topics/${orders}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });

  it('a preflight from an allowed origin succeeds without a token', async () => {
    const r = await preflight(ALLOWED_ORIGIN);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(r.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
    expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/content-type/);
    expect(r.headers.get('access-control-allow-credentials')).toBeNull(); // bearer tokens, never cookies
  });

  it('a preflight from another origin gets no CORS grant', async () => {
    const r = await preflight('https://evil.example.test');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('actual responses carry the grant (and expose WWW-Authenticate and Retry-After) only for allowed origins', async () => {
    const t = await sign('cors', { kafka: { consume: [audit] } });
    const ok = await call(gw, '/topics', { headers: { ...auth(t), Origin: ALLOWED_ORIGIN } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(ok.headers.get('vary')?.toLowerCase()).toMatch(/origin/);
    const denied = await call(gw, '/topics', { headers: { Origin: ALLOWED_ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(denied.headers.get('access-control-expose-headers')?.toLowerCase()).toMatch(/www-authenticate/);
    const evil = await call(gw, '/topics', { headers: { ...auth(t), Origin: 'https://evil.example.test' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('without CORS_ORIGINS there is no CORS at all', async () => {
    const plain = await startGateway(env({ CORS_ORIGINS: '', LOG_LEVEL: 'silent' }), {
      logger: captureLog('silent').logger,
    });
    try {
      const r = await call(plain, '/topics', {
        method: 'OPTIONS',
        headers: { Origin: ALLOWED_ORIGIN, 'Access-Control-Request-Method': 'GET' },
      });
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

describe('security headers', () => {
  it('every response carries the standard headers (200, 401, 403, 404, docs)', async () => {
    const t = await sign('hdr', { kafka: { consume: [audit] } });
    const responses = [
      await call(gw, '/topics', { headers: auth(t) }),
      await call(gw, '/topics'),
      await call(gw, `/topics/${secret}`, { headers: auth(t) }),
      await call(gw, '/nope', { headers: auth(t) }),
      await call(gw, '/healthz'),
      await call(gw, '/docs'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 403, 404, 200, 200]);
    for (const r of responses) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(r.headers.get('x-permitted-cross-domain-policies')).toBe('none');
      expect(r.headers.get('x-powered-by')).toBeNull();
      expect(r.headers.get('server')).toBeNull();
    }
    expect(responses[5]!.headers.get('content-security-policy')).toMatch(/default-src/);
    expect((await call(gw, '/ui')).headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  });
});

describe('per-caller rate limit (RATE_LIMIT_RECORDS_PER_S)', () => {
  it('over the rate → 429 with Retry-After, nothing written; other callers unaffected; later allowed again', async () => {
    const topic = `${P}.orders.rate`;
    await createTopicReady(brokers, topic, 1);
    const a = await sign('rate-a', { kafka: { produce: [`${P}.orders.*`] } });
    const b = await sign('rate-b', { kafka: { produce: [`${P}.orders.*`] } });
    const burst = Array.from({ length: RATE }, (_, i) => ({ value: i }));
    // The offsets first, so nothing slow sits between the burst and the request over the rate.
    const before = await endOffsets(brokers, topic);
    expect((await produceJson(topic, a, burst)).status).toBe(200);
    const limited: Reply = await produceJson(topic, a, burst.slice(0, 10));
    expect(limited.status, limited.text).toBe(429);
    expect(limited.body.error_code).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await endOffsets(brokers, topic)).toEqual({ 0: before[0]! + RATE }); // the burst, and nothing of the 429
    expect((await produceJson(topic, b, burst)).status).toBe(200); // per sub
    // A client that waits as Retry-After says is served again (the wait is the contract under test).
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await produceJson(topic, a, burst.slice(0, 10))).status).toBe(200);
  });
});
