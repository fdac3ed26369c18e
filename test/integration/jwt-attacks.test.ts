// JWT attacks against a REAL gateway (AUTH_JWKS_URL → a local JWKS server this test rotates) in front of the real
// broker. One named test per attack: each sends the attack on the produce route and on topic creation, expects
// 401 + `WWW-Authenticate: Bearer error="invalid_token"` + 40101, then reads the topic straight from Kafka (its log end
// offset, and a kafkajs consumer that has read everything up to it) to prove nothing was written, and lists the
// cluster's topics to prove nothing was created. The verifier itself is unit-tested in test/unit/auth/.
import { createPublicKey } from 'node:crypto';
import { exportJWK, exportSPKI, SignJWT } from 'jose';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import {
  JSON_V2,
  call,
  createTopicReady,
  endOffsets,
  post,
  ready,
  type Reply,
  testKafkaClientEnv,
} from '../helpers/gateway.js';
import { kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import {
  nowS,
  signToken,
  signingKey,
  startCountingServer,
  startJwksServer,
  type JwksServer,
  type SigningKey,
  type TokenOptions,
} from '../helpers/jwks-server.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/wait.js';

const brokers = inject('kafkaBrokers');
const ISSUER = 'https://idp.attacks.test/';
const AUDIENCE = 'kafka-gateway';
/** Short, so "a key removed from the JWKS is refused after the cache age" runs in seconds. */
const CACHE_MAX_AGE_MS = 1500;
const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

let gw: Gateway;
let log: CapturedLog;
let jwks: JwksServer;
let k1: SigningKey;
let k2: SigningKey;
let attacker: SigningKey;
let topic: string;
let clusterId: string;
let consumer: Consumer;
/** Every record of `topic`, as read by our own consumer: offset → value. */
const seen = new Map<number, string>();
let baseline: Record<number, number>;
const tokensSent: string[] = [];

/** A token the gateway accepts (k1, right issuer and audience, produce rights on `topic`, admin). */
function good(opts: TokenOptions = {}, key: SigningKey = k1): Promise<string> {
  return signToken(key, {
    ...opts,
    claims: {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'attacks-test',
      kafka: { produce: [topic], consume: [topic], admin: true },
      ...opts.claims,
    },
  });
}

beforeAll(async () => {
  [k1, k2, attacker] = await Promise.all([signingKey('k1'), signingKey('k2'), signingKey('k1')]); // attacker reuses kid k1
  jwks = await startJwksServer([k1]);
  topic = uniqueTopic('attacks');
  await createTopicReady(brokers, topic, 1);
  log = captureLog('debug');
  const config = loadConfig(
    {
      KAFKA_BROKERS: brokers,
      PORT: '0',
      HOST: '127.0.0.1',
      ...testKafkaClientEnv(),
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_CACHE_MAX_AGE_MS: String(CACHE_MAX_AGE_MS),
      AUTH_JWKS_COOLDOWN_MS: '0',
    },
    'prod',
  );
  gw = await startGateway(config, { logger: log.logger });
  await ready(gw);
  clusterId = (await call(gw, '/v3/clusters', { headers: { authorization: `Bearer ${await good()}` } })).body.data[0]
    .cluster_id;

  consumer = kafkaClient(brokers).consumer({
    groupId: uniqueTopic('attacks-reader'),
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.set(Number(message.offset), message.value?.toString() ?? '');
    },
  });
  // Baseline: a valid token writes; the consumer sees it (so "nothing seen" later means something).
  const res = await produceWith(`Bearer ${await good()}`, 'baseline');
  expect(res.status, res.text).toBe(200);
  await caughtUp();
  expect([...seen.values()].some((v) => v.includes('baseline'))).toBe(true);
  baseline = await endOffsets(brokers, topic);
}, 120_000);

afterAll(async () => {
  await consumer?.disconnect().catch(() => {});
  await gw?.close();
  await jwks?.close();
});

function produceWith(authorization: string | undefined, marker: string): Promise<Reply> {
  if (authorization) tokensSent.push(authorization.replace(/^\S+\s+/, ''));
  return post(
    gw,
    `/topics/${topic}`,
    JSON_V2,
    { records: [{ key: marker, value: { marker } }] },
    authorization ? { Authorization: authorization } : {},
  );
}

/** Our consumer has read everything up to the topic's end offset. */
async function caughtUp(timeoutMs = 20_000): Promise<void> {
  await waitFor(
    'our consumer to reach the end offset',
    async () => {
      const end = (await endOffsets(brokers, topic))[0]!;
      return end === 0 || seen.has(end - 1);
    },
    { timeoutMs, intervalMs: 100 },
  );
}

function expectRefused(res: Reply, reason?: RegExp): void {
  expect(res.status, res.text).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(res.body.error_code).toBe(40101);
  if (reason) expect(res.body.message).toMatch(reason);
}

/** Kafka unchanged: same end offset, no record with `marker` read back, no topic named after it. */
async function nothingReachedKafka(marker: string): Promise<void> {
  expect(await endOffsets(brokers, topic)).toEqual(baseline);
  await caughtUp();
  expect([...seen.values()].filter((v) => v.includes(marker))).toEqual([]);
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    expect((await admin.listTopics()).filter((t) => t.startsWith(marker))).toEqual([]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The whole check for one attack: `authorization` (a full header value, or undefined for none) on produce and on
 * topic creation → 401 40101 each; then nothing reached Kafka.
 */
async function attack(authorization: string | undefined, reason?: RegExp): Promise<void> {
  const marker = uniqueTopic('attack');
  expectRefused(await produceWith(authorization, marker), reason);
  const create = await post(
    gw,
    `/v3/clusters/${clusterId}/topics`,
    'application/json',
    { topic_name: marker, partitions_count: 1 },
    authorization ? { Authorization: authorization } : {},
  );
  expectRefused(create, reason);
  await nothingReachedKafka(marker);
}

const bearer = (t: string) => `Bearer ${t}`;

describe('baseline', () => {
  it('a valid token produces (and the record is read back from Kafka)', async () => {
    const marker = uniqueTopic('valid');
    const res = await produceWith(bearer(await good()), marker);
    expect(res.status, res.text).toBe(200);
    await caughtUp();
    expect([...seen.values()].some((v) => v.includes(marker))).toBe(true);
    baseline = await endOffsets(brokers, topic);
  });
});

describe('attacks: 401 40101 and nothing reaches Kafka', () => {
  it('missing token', async () => {
    await attack(undefined, /missing bearer token/i);
  });

  it('malformed token: another scheme', async () => {
    await attack(`Basic ${b64url('admin:admin')}`, /malformed authorization/i);
  });

  it('malformed token: not a JWT', async () => {
    await attack(bearer('not-a-jwt'), /malformed token/);
  });

  it('malformed token: two segments, bad base64, non-JSON header', async () => {
    await attack(bearer('aaa.bbb'));
    await attack(bearer(`${b64url('{not json')}.${b64url({ sub: 'x' })}.c2ln`));
    await attack(bearer(`${b64url({ alg: 'RS256', kid: 'k1' })}.!!!.c2ln`));
  });

  it('alg none', async () => {
    const payload = { sub: 'attacker', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 3600, kafka: { admin: true } };
    await attack(bearer(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`));
    await attack(bearer(`${b64url({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64url(payload)}.${b64url('sig')}`));
  });

  it('HS256 signed with the RSA public key', async () => {
    const claims = { sub: 'attacker', iss: ISSUER, aud: AUDIENCE, kafka: { admin: true } };
    const pem = await exportSPKI(k1.publicKey);
    const asPem = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(pem));
    await attack(bearer(asPem), /algorithm not allowed/);
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const asDer = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setExpirationTime('1h')
      .sign(new Uint8Array(der));
    await attack(bearer(asDer), /algorithm not allowed/);
  });

  it('unknown kid', async () => {
    const stranger = await signingKey('k-unknown');
    await attack(bearer(await good({}, stranger)), /no matching key/);
  });

  it('kid injection (path, query and quote characters) is just an unknown kid', async () => {
    for (const kid of ['../../../../dev/null', "k1' OR '1'='1", 'k1?x=1', 'http://127.0.0.1:1/jwks.json'])
      await attack(bearer(await good({ header: { kid } })), /no matching key/);
  });

  it('wrong signature (another key, same kid)', async () => {
    await attack(bearer(await good({}, attacker)), /signature verification failed/);
  });

  it('tampered payload (admin added after signing)', async () => {
    const token = await good({ claims: { kafka: { produce: ['nothing'] } } });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload.kafka = { produce: ['*'], admin: true };
    await attack(bearer(`${h}.${b64url(payload)}.${s}`), /signature verification failed/);
  });

  it('expired token', async () => {
    await attack(bearer(await good({ claims: { iat: nowS() - 7200, exp: nowS() - 3600 } })), /token expired/);
  });

  it('token without exp', async () => {
    await attack(bearer(await good({ claims: { exp: undefined } })), /missing exp claim/);
  });

  it('token not yet valid (nbf in the future)', async () => {
    await attack(bearer(await good({ claims: { nbf: nowS() + 3600 } })), /not yet valid/);
  });

  it('wrong issuer', async () => {
    await attack(bearer(await good({ claims: { iss: 'https://evil.example/' } })), /unexpected issuer/);
  });

  it('wrong audience', async () => {
    await attack(bearer(await good({ claims: { aud: 'some-other-service' } })), /unexpected audience/);
  });

  it('oversized token (validly signed, over AUTH_MAX_TOKEN_BYTES)', async () => {
    const big = await good({ claims: { pad: 'x'.repeat(9000) } });
    expect(big.length).toBeGreaterThan(8192);
    await attack(bearer(big), /too large/);
  });

  it("jku pointing elsewhere (the attacker's key set is never fetched)", async () => {
    const evil = await signingKey('evil');
    const evilJwks = await startCountingServer({ keys: [evil.jwk] });
    try {
      await attack(bearer(await good({ header: { jku: evilJwks.url } }, evil)), /no matching key/);
      await attack(bearer(await good({ header: { jku: evilJwks.url, x5u: evilJwks.url } }, evil)));
      expect(evilJwks.hits()).toBe(0);
    } finally {
      await evilJwks.close();
    }
  });

  it("embedded jwk header (the attacker's own public key)", async () => {
    const evil = await signingKey('k1');
    const jwk = await exportJWK(evil.publicKey);
    await attack(bearer(await good({ header: { jwk } }, evil)), /signature verification failed/);
  });

  it('token without sub', async () => {
    await attack(bearer(await good({ claims: { sub: undefined } })), /missing sub claim/);
  });
});

describe('key rotation through the JWKS, without a restart', () => {
  it('a newly published key is accepted', async () => {
    const early = await call(gw, '/topics', { headers: { authorization: bearer(await good({}, k2)) } });
    expectRefused(early, /no matching key/); // not published yet
    jwks.publish([k1, k2]);
    const marker = uniqueTopic('rotated');
    const res = await produceWith(bearer(await good({}, k2)), marker);
    expect(res.status, res.text).toBe(200);
    await caughtUp();
    expect([...seen.values()].some((v) => v.includes(marker))).toBe(true);
    baseline = await endOffsets(brokers, topic);
  });

  it('a key removed from the JWKS is refused once the cache age has passed', async () => {
    jwks.publish([k2]); // k1 retired
    // Accepted while the cached key set is fresh; refused once the gateway fetched the set again.
    const retired = bearer(await good({}, k1));
    await waitFor(
      'the retired key to be refused',
      async () => (await call(gw, '/topics', { headers: { authorization: retired } })).status === 401,
      { timeoutMs: CACHE_MAX_AGE_MS + 15_000, intervalMs: 200 },
    );
    await attack(bearer(await good({}, k1)), /no matching key/);
    // k2 still works
    const ok = await call(gw, '/topics', { headers: { authorization: bearer(await good({}, k2)) } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('JWKS down → 503 50303 with Retry-After (not 401), nothing written; back up → accepted again', async () => {
    jwks.setUp(false);
    try {
      // Once the cached key set is older than CACHE_MAX_AGE_MS the gateway must fetch it, and cannot.
      const probe = bearer(await good({}, k2));
      await waitFor(
        'the JWKS outage to show',
        async () => (await call(gw, '/topics', { headers: { authorization: probe } })).status === 503,
        { timeoutMs: CACHE_MAX_AGE_MS + 15_000, intervalMs: 200 },
      );
      const marker = uniqueTopic('jwks-down');
      const res = await produceWith(bearer(await good({}, k2)), marker);
      expect(res.status, res.text).toBe(503);
      expect(res.body.error_code).toBe(50303);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.headers.get('www-authenticate')).toBeNull();
      await nothingReachedKafka(marker);
      // /healthz and /readyz never depend on the JWKS.
      expect((await call(gw, '/readyz')).status).toBe(200);
    } finally {
      jwks.setUp(true);
    }
    const res = await produceWith(bearer(await good({}, k2)), uniqueTopic('jwks-back'));
    expect(res.status, res.text).toBe(200);
  });
});

describe('the log', () => {
  it('never holds a token', () => {
    const text = log.text();
    expect(tokensSent.length).toBeGreaterThan(20);
    for (const t of tokensSent) {
      const signature = t.split('.')[2];
      if (signature && signature.length > 20) expect(text).not.toContain(signature);
      if (t.length > 40) expect(text).not.toContain(t);
    }
  });
});
