// The local Kafka launcher itself: the shared PLAINTEXT broker from the global setup, and a broker of its own with
// every secured listener (mTLS, SASL PLAIN/SCRAM over plaintext and TLS, OAUTHBEARER against a local JWKS server).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  clientConfigFor,
  createTopic,
  kafkaClient,
  produce,
  readAll,
  startKafka,
  uniqueTopic,
  type LocalKafka,
} from '../helpers/kafka.js';

const SLOW = { timeout: 120_000 };

describe('shared single-node broker (global setup)', () => {
  const brokers = inject('kafkaBrokers');

  it('round-trips records with keys and headers', SLOW, async () => {
    const topic = uniqueTopic('launcher-rt');
    await createTopic(brokers, topic, 3);
    await produce(brokers, topic, [
      { key: 'k1', value: 'v1', headers: { h: 'x' }, partition: 0 },
      { key: null, value: Buffer.from([0, 1, 2]), partition: 1 },
      { key: 'k3', value: null, partition: 2 },
    ]);
    const records = await readAll(brokers, topic, 3, 30_000);
    expect(records).toHaveLength(3);
    const byKey = new Map(records.map((r) => [r.key?.toString() ?? null, r]));
    expect(byKey.get('k1')?.value?.toString()).toBe('v1');
    expect(String(byKey.get('k1')?.headers.h)).toBe('x');
    expect(byKey.get(null)?.value).toEqual(Buffer.from([0, 1, 2]));
    expect(byKey.get('k3')).toMatchObject({ partition: 2, offset: 0, value: null });
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
  });

  it('does not auto-create topics', SLOW, async () => {
    const topic = uniqueTopic('launcher-missing');
    const producer = kafkaClient(brokers, { retry: { retries: 1, initialRetryTime: 100 } }).producer({
      allowAutoTopicCreation: true, // ask for it: the broker must still refuse (auto.create.topics.enable=false)
    });
    await producer.connect();
    try {
      await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
    } finally {
      await admin.disconnect();
    }
  });
});

// --- a local OAuth issuer: a JWKS endpoint and tokens signed with its key ---
interface Issuer {
  server: Server;
  jwksUrl: string;
  issuer: string;
  audience: string;
  token(claims?: Record<string, unknown>, key?: CryptoKey): Promise<string>;
  otherKey: CryptoKey;
}

async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server = createServer((req, res) => {
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const audience = 'kafka-test';
  return {
    server,
    jwksUrl: `${issuer}/jwks.json`,
    issuer,
    audience,
    otherKey: other.privateKey,
    token: (claims = {}, key = privateKey) =>
      new SignJWT({
        scope: 'kafka',
        sub: 'alice',
        iss: issuer,
        aud: audience,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 600,
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .sign(key),
  };
}

describe('secured listeners (own broker)', () => {
  let kafka: LocalKafka;
  let issuer: Issuer;
  const topic = uniqueTopic('launcher-secure');
  const produced: string[] = [];

  beforeAll(async () => {
    issuer = await startIssuer();
    kafka = await startKafka({
      listeners: ['SSL', 'SASL_PLAINTEXT', 'SASL_SSL', 'OAUTHBEARER'],
      oauth: { jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience },
      log: () => {},
    });
    await createTopic(kafka.bootstrap.PLAINTEXT, topic, 1);
  }, 120_000);

  afterAll(async () => {
    await kafka?.stop();
    await new Promise((resolve) => issuer?.server.close(resolve));
  }, 60_000);

  /** Produces one record over the given client settings and checks metadata works too. */
  async function roundTrip(config: ReturnType<typeof clientConfigFor>, label: string): Promise<void> {
    const client = kafkaClient(config.brokers as string[], { ...config, retry: { retries: 0 } });
    const admin = client.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
    const producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: label, value: label }] });
      produced.push(label);
    } finally {
      await producer.disconnect();
    }
  }

  async function refused(config: ReturnType<typeof clientConfigFor>): Promise<void> {
    const admin = kafkaClient(config.brokers as string[], {
      ...config,
      retry: { retries: 0 },
      connectionTimeout: 3000,
    }).admin();
    await expect(
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
    ).rejects.toThrow();
    await admin.disconnect().catch(() => {});
  }

  it('generates TLS material and SASL users', () => {
    expect(kafka.ssl).not.toBeNull();
    expect(kafka.bootstrap).toMatchObject({
      SSL: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      SASL_PLAINTEXT: expect.any(String),
      SASL_SSL: expect.any(String),
      OAUTHBEARER: expect.any(String),
    });
  });

  it('SSL with a client certificate (mTLS)', SLOW, async () => {
    await roundTrip(clientConfigFor(kafka, 'SSL'), 'ssl-mtls');
  });

  it('SSL without a client certificate is refused', SLOW, async () => {
    const config = clientConfigFor(kafka, 'SSL');
    const ssl = config.ssl as { ca: string[]; servername: string };
    await refused({ ...config, ssl: { ca: ssl.ca, servername: ssl.servername } });
  });

  it('SSL with an untrusted CA is refused', SLOW, async () => {
    await refused({ ...clientConfigFor(kafka, 'SSL'), ssl: { rejectUnauthorized: true, servername: 'localhost' } });
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('SASL_PLAINTEXT %s', SLOW, async (mechanism) => {
    await roundTrip(clientConfigFor(kafka, 'SASL_PLAINTEXT', { mechanism }), `sasl-plaintext-${mechanism}`);
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('SASL_SSL %s', SLOW, async (mechanism) => {
    await roundTrip(clientConfigFor(kafka, 'SASL_SSL', { mechanism }), `sasl-ssl-${mechanism}`);
  });

  it.each([
    ['SASL_PLAINTEXT', 'plain'],
    ['SASL_PLAINTEXT', 'scram-sha-256'],
    ['SASL_SSL', 'scram-sha-512'],
  ] as const)('%s %s with a wrong password is refused', SLOW, async (listener, mechanism) => {
    await refused(clientConfigFor(kafka, listener, { mechanism, password: 'wrong-password' }));
  });

  it('SASL with an unknown user is refused', SLOW, async () => {
    await refused(clientConfigFor(kafka, 'SASL_PLAINTEXT', { mechanism: 'scram-sha-256', username: 'mallory' }));
  });

  it('OAUTHBEARER with a token from the configured issuer', SLOW, async () => {
    const token = await issuer.token();
    await roundTrip(
      {
        brokers: [kafka.bootstrap.OAUTHBEARER!],
        sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
      },
      'oauthbearer',
    );
  });

  it.each([
    ['signed by another key', async () => issuer.token({}, issuer.otherKey)],
    ['for another audience', async () => issuer.token({ aud: 'someone-else' })],
    ['from another issuer', async () => issuer.token({ iss: 'https://elsewhere.example' })],
    [
      'that expired',
      async () =>
        issuer.token({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
    ],
  ])('OAUTHBEARER with a token %s is refused', SLOW, async (_label, makeToken) => {
    const token = await makeToken();
    await refused({
      brokers: [kafka.bootstrap.OAUTHBEARER!],
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
    });
  });

  it('every accepted client wrote its record (read back over SASL_SSL)', SLOW, async () => {
    const records = await readAll(kafka.bootstrap.SASL_SSL!, topic, produced.length, 30_000, {
      client: clientConfigFor(kafka, 'SASL_SSL', { mechanism: 'scram-sha-256' }),
      settleMs: 300,
    });
    expect(records.map((r) => r.key?.toString()).sort()).toEqual([...produced].sort());
  });
});
