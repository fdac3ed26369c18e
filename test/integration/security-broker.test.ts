// Gateway → brokers security against REAL secured listeners of one broker of this file's own: SSL (mTLS, certs
// generated at start), SASL_PLAINTEXT with PLAIN and SCRAM-SHA-256/512, SASL_SSL, and OAUTHBEARER validating tokens
// against a JWKS and a client-credentials endpoint served by this test.
// Good settings: the gateway produces, and kafkajs reads the records back directly over the same listener.
// Bad settings (wrong password, wrong CA, missing client certificate, bad OAuth secret, ...): /readyz fails, one clear
// log line says why, requests get 503, nothing crashes or hangs, no secret reaches the log.
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KafkaConfig } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { JSON_V2, call, createTopicReady, post, type ProduceReply, testKafkaClientEnv } from '../helpers/gateway.js';
import { clientConfigFor, readAll, startKafka, uniqueTopic, type LocalKafka } from '../helpers/kafka.js';
import { captureLog, type CapturedLog, type LogLine } from '../helpers/log-capture.js';
import { startOAuthServer, type OAuthServer } from '../helpers/oauth-server.js';
import { eventually, quietPeriod } from '../helpers/wait.js';

const OAUTH_CLIENT = 'gateway';
const OAUTH_SECRET = 'gateway-oauth-secret-4d1f';
const WRONG = 'wrong-password-7c2e';

let kafka: LocalKafka;
let oauth: OAuthServer;
let dir: string;
let otherCa: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-sec-'));
  otherCa = join(dir, 'other-ca.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'other-ca.key'),
      '-out',
      otherCa,
      '-days',
      '2',
      '-subj',
      '/CN=some other CA',
    ],
    { stdio: 'ignore' },
  );
  oauth = await startOAuthServer({ clients: { [OAUTH_CLIENT]: OAUTH_SECRET, reader: 'reader-secret' } });
  kafka = await startKafka({
    listeners: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL', 'OAUTHBEARER'],
    oauth: { jwksUrl: oauth.jwksUrl, issuer: oauth.issuer, audience: oauth.audience },
    // OAUTHBEARER sessions end at the token's exp: clients must re-authenticate with a fresh token (KIP-368).
    brokerProps: { 'listener.name.oauthbearer.oauthbearer.connections.max.reauth.ms': 60_000 },
    log: () => {},
  });
}, 180_000);

afterAll(async () => {
  await kafka?.stop();
  await oauth?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  gw: Gateway;
  log: CapturedLog;
}

async function gateway(env: Record<string, string>): Promise<Started> {
  const log = captureLog('debug');
  const config = loadConfig(
    { PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'none', ...testKafkaClientEnv(), ...env },
    'prod',
  );
  const gw = await startGateway(config, { logger: log.logger });
  return { gw, log };
}

async function waitReady(gw: Gateway, ms = 30_000): Promise<void> {
  if (gw.kafka.ready()) return;
  await once(gw.kafka.availability, 'up', { signal: AbortSignal.timeout(ms) });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function closeQuickly(gw: Gateway, ms = 5_000): Promise<number> {
  const t0 = Date.now();
  await Promise.race([
    gw.close(),
    new Promise((_r, reject) => setTimeout(() => reject(new Error(`close() took over ${ms} ms`)), ms)),
  ]);
  return Date.now() - t0;
}

const ssl = () => kafka.ssl!;
function secretFile(name: string, value: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}
const listener = (name: 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL' | 'OAUTHBEARER') => kafka.bootstrap[name]!;

/** kafkajs straight to the OAUTHBEARER listener, with its own client-credentials token. */
function oauthClient(): Partial<KafkaConfig> {
  return {
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => {
        const res = await fetch(oauth.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: 'reader',
            client_secret: 'reader-secret',
          }),
        });
        return { value: ((await res.json()) as { access_token: string }).access_token };
      },
    },
  };
}

/** Produces 3 records through the gateway and reads them back with kafkajs over `read` (the same kind of listener). */
async function roundTrip(
  env: Record<string, string>,
  readBrokers: string,
  readClient: Partial<KafkaConfig>,
): Promise<Started> {
  const topic = uniqueTopic('sec');
  await createTopicReady(kafka.bootstrap.PLAINTEXT, topic, 1);
  const s = await gateway(env);
  try {
    await waitReady(s.gw);
    expect((await call(s.gw, '/readyz')).status).toBe(200);
    const values = ['one', 'two', 'three'].map((v) => `${v}-${topic}`);
    const res = await post<ProduceReply>(s.gw, `/topics/${topic}`, JSON_V2, {
      records: values.map((value, i) => ({ key: `k${i}`, value })),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.offsets.map((o) => o.error_code)).toEqual([null, null, null]);
    const read = await readAll(readBrokers, topic, 3, 30_000, { client: readClient });
    expect(read.map((r) => JSON.parse(r.value!.toString()))).toEqual(values);
    expect(read.map((r) => JSON.parse(r.key!.toString()))).toEqual(['k0', 'k1', 'k2']);
    // No security complaint on the way (a transient network hiccup on a loaded machine is not what this checks).
    expect(
      s.log
        .warnings()
        .filter((l) => typeof l.kind === 'string' && l.kind !== 'network' && l.kind !== 'closed' && l.kind !== 'other'),
    ).toEqual([]);
    return s;
  } finally {
    await closeQuickly(s.gw);
  }
}

describe('good settings: produce through the gateway, read back with kafkajs over the same listener', () => {
  it('SSL with mTLS (CA + client certificate and key)', async () => {
    await roundTrip(
      {
        KAFKA_BROKERS: listener('SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SSL_CERT_FILE: ssl().certFile,
        KAFKA_SSL_KEY_FILE: ssl().keyFile,
      },
      listener('SSL'),
      clientConfigFor(kafka, 'SSL'),
    );
  });

  it('SSL with mTLS and an encrypted client key (KAFKA_SSL_KEY_PASSWORD)', async () => {
    await roundTrip(
      {
        KAFKA_BROKERS: listener('SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SSL_CERT_FILE: ssl().certFile,
        KAFKA_SSL_KEY_FILE: ssl().encryptedKeyFile,
        KAFKA_SSL_KEY_PASSWORD: ssl().keyPassword,
      },
      listener('SSL'),
      clientConfigFor(kafka, 'SSL'),
    );
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`SASL_PLAINTEXT with ${mechanism.toUpperCase()}`, async () => {
      const user = mechanism === 'plain' ? kafka.users.plain : kafka.users.scram;
      await roundTrip(
        {
          KAFKA_BROKERS: listener('SASL_PLAINTEXT'),
          KAFKA_SASL_MECHANISM: mechanism,
          KAFKA_SASL_USERNAME: user.username,
          KAFKA_SASL_PASSWORD: user.password,
        },
        listener('SASL_PLAINTEXT'),
        clientConfigFor(kafka, 'SASL_PLAINTEXT', { mechanism }),
      );
    });
  }

  it('SASL_SSL with SCRAM-SHA-512 (TLS verified against the CA)', async () => {
    const user = kafka.users.scram;
    await roundTrip(
      {
        KAFKA_BROKERS: listener('SASL_SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: user.username,
        // The _FILE variant of a secret (Kubernetes secrets).
        KAFKA_SASL_PASSWORD_FILE: secretFile('scram-password', user.password),
      },
      listener('SASL_SSL'),
      clientConfigFor(kafka, 'SASL_SSL', { mechanism: 'scram-sha-512' }),
    );
  });

  it('SASL_SSL with PLAIN', async () => {
    const user = kafka.users.plain;
    await roundTrip(
      {
        KAFKA_BROKERS: listener('SASL_SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: user.username,
        KAFKA_SASL_PASSWORD: user.password,
      },
      listener('SASL_SSL'),
      clientConfigFor(kafka, 'SASL_SSL', { mechanism: 'plain' }),
    );
  });

  it('OAUTHBEARER: a token from the client-credentials endpoint, refreshed before it expires', async () => {
    const issuedBefore = oauth.issued.filter((t) => t.clientId === OAUTH_CLIENT).length;
    // The broker ends each session at the token's exp: the gateway's connections must keep re-authenticating with
    // fresh tokens. 16 s is about the shortest lifetime kafkajs's re-authentication copes with (src/kafka/oauth.ts).
    oauth.setTokenTtl(16);
    const topic = uniqueTopic('sec-oauth');
    await createTopicReady(kafka.bootstrap.PLAINTEXT, topic, 1);
    const s = await gateway({
      KAFKA_BROKERS: listener('OAUTHBEARER'),
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_OAUTH_TOKEN_URL: oauth.tokenUrl,
      KAFKA_OAUTH_CLIENT_ID: OAUTH_CLIENT,
      KAFKA_OAUTH_CLIENT_SECRET: OAUTH_SECRET,
      KAFKA_OAUTH_SCOPE: 'kafka',
    });
    try {
      await waitReady(s.gw);
      // ~14 s of produce calls: a fresh token about every 6 s.
      const sent: string[] = [];
      for (let i = 0; i < 14; i++) {
        const value = `oauth-${i}`;
        const res = await post<ProduceReply>(s.gw, `/topics/${topic}`, JSON_V2, { records: [{ value }] });
        expect(res.status, res.text).toBe(200);
        expect(res.body.offsets[0]!.error_code).toBeNull();
        sent.push(value);
        await new Promise((r) => setTimeout(r, 1000)); // pace: a produce a second while tokens expire and renew
      }
      expect((await call(s.gw, '/readyz')).status).toBe(200);
      const tokens = oauth.issued.filter((t) => t.clientId === OAUTH_CLIENT).slice(issuedBefore);
      expect(tokens.length).toBeGreaterThanOrEqual(3);
      expect(tokens.every((t) => t.scope === 'kafka')).toBe(true);
      // Each new token was fetched while the previous one was still valid (refresh before expiry, not after a failure).
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]!.at).toBeLessThan(tokens[i - 1]!.exp * 1000);
      const read = await readAll(listener('OAUTHBEARER'), topic, sent.length, 30_000, { client: oauthClient() });
      expect(read.map((r) => JSON.parse(r.value!.toString()))).toEqual(sent);
      expect(s.log.text()).not.toContain(OAUTH_SECRET);
    } finally {
      oauth.setTokenTtl(300);
      await closeQuickly(s.gw);
    }
  });

  it('verification can only be turned off explicitly: KAFKA_SSL_REJECT_UNAUTHORIZED=false accepts an untrusted broker', async () => {
    await roundTrip(
      {
        KAFKA_BROKERS: listener('SSL'),
        KAFKA_SSL_CA_FILE: otherCa,
        KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
        KAFKA_SSL_CERT_FILE: ssl().certFile,
        KAFKA_SSL_KEY_FILE: ssl().keyFile,
      },
      listener('SSL'),
      clientConfigFor(kafka, 'SSL'),
    );
  });
});

/**
 * Starts a gateway with bad settings and checks: /readyz 503 naming the cause, exactly one warning line about Kafka
 * (after several probe rounds), produce and metadata 503 50302, a quick close, and no secret in any log line.
 */
async function refused(env: Record<string, string>, reason: RegExp, secrets: string[] = []): Promise<void> {
  const s = await gateway(env);
  try {
    const r = await eventually(
      () => call(s.gw, '/readyz'),
      (res) => res.status === 200 || (res.status === 503 && !/not connected yet/.test(res.body.message ?? '')),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(r.status, `no reason after 20 s: ${r.text}`).toBe(503);
    expect(r.body.message).not.toMatch(/not connected yet/);
    const body: { error_code?: number; message?: string } = r.body;
    expect(body.error_code).toBe(50302);
    expect(body.message).toMatch(/^Kafka not reachable: /);
    expect(body.message).toMatch(reason);
    // A few more probe rounds (one a second): the reason is not repeated, nor flapping.
    await quietPeriod(2_500, 'the same reason over several probe rounds, and no second warning line');
    expect((await call(s.gw, '/readyz')).body.message).toBe(body.message);

    const topic = uniqueTopic('never');
    const produce = await post(s.gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 1 }] });
    expect(produce.status).toBe(503);
    expect(produce.body.error_code).toBe(50302);
    expect(produce.headers.get('retry-after')).toBeTruthy();
    const list = await call(s.gw, '/topics');
    expect(list.status).toBe(503);

    // Per-request lines (access log, the error handler's 'request failed') are about requests, not about why.
    const kafkaWarnings: LogLine[] = s.log
      .warnings()
      .filter((l) => l.component !== 'http' && l.msg !== 'request failed' && !/AUTH_MODE=none/.test(l.msg));
    expect(
      kafkaWarnings.length,
      `exactly one warning says why, got:\n${kafkaWarnings.map((l) => `${l.component}: ${l.msg}`).join('\n')}`,
    ).toBe(1);
    expect(kafkaWarnings[0]!.msg).toMatch(/^Kafka unreachable: /);
    expect(kafkaWarnings[0]!.reason).toBe(body.message!.replace(/^Kafka not reachable: /, ''));
    expect(kafkaWarnings[0]!.msg).toMatch(reason);
    for (const secret of secrets) expect(s.log.text()).not.toContain(secret);
  } finally {
    expect(await closeQuickly(s.gw)).toBeLessThan(5_000);
  }
}

describe.concurrent('bad settings: /readyz fails, one clear log line says why, requests get 503, nothing hangs', () => {
  it('SASL PLAIN with a wrong password', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('SASL_PLAINTEXT'),
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: WRONG,
      },
      /SASL authentication failed \(PLAIN\).*KAFKA_SASL_PASSWORD/,
      [WRONG],
    );
  });

  it('SCRAM-SHA-256 with a wrong password', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('SASL_PLAINTEXT'),
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: WRONG,
      },
      /SASL authentication failed \(SCRAM-SHA-256\)/,
      [WRONG],
    );
  });

  it('SCRAM-SHA-512 over SASL_SSL with a wrong password', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('SASL_SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: WRONG,
      },
      /SASL authentication failed \(SCRAM-SHA-512\)/,
      [WRONG],
    );
  });

  it('SSL with the wrong CA', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('SSL'),
        KAFKA_SSL_CA_FILE: otherCa,
        KAFKA_SSL_CERT_FILE: ssl().certFile,
        KAFKA_SSL_KEY_FILE: ssl().keyFile,
      },
      /TLS: .*certificate.*not trusted.*KAFKA_SSL_CA_FILE/,
    );
  });

  it('SASL_SSL with the system CAs only (KAFKA_SSL=true, no CA file)', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('SASL_SSL'),
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: 'alice-secret',
      },
      /TLS: .*not trusted/,
      ['alice-secret'],
    );
  });

  it('SSL without a client certificate (the listener requires mTLS)', async () => {
    await refused(
      { KAFKA_BROKERS: listener('SSL'), KAFKA_SSL_CA_FILE: ssl().caFile },
      /TLS: the broker refused our client certificate.*KAFKA_SSL_CERT_FILE/,
    );
  });

  it('OAUTHBEARER with a bad client secret', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('OAUTHBEARER'),
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_OAUTH_TOKEN_URL: oauth.tokenUrl,
        KAFKA_OAUTH_CLIENT_ID: OAUTH_CLIENT,
        KAFKA_OAUTH_CLIENT_SECRET: WRONG,
      },
      /OAuth token request failed: .*HTTP 401 \(invalid_client\).*KAFKA_OAUTH_CLIENT_SECRET/,
      [WRONG],
    );
  });

  it('OAUTHBEARER with the token endpoint down', async () => {
    await refused(
      {
        KAFKA_BROKERS: listener('OAUTHBEARER'),
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_OAUTH_TOKEN_URL: `http://127.0.0.1:${await closedPort()}/token`,
        KAFKA_OAUTH_CLIENT_ID: OAUTH_CLIENT,
        KAFKA_OAUTH_CLIENT_SECRET: OAUTH_SECRET,
      },
      /OAuth token request failed: .*unreachable \(ECONNREFUSED\).*KAFKA_OAUTH_TOKEN_URL/,
      [OAUTH_SECRET],
    );
  });

  it('plaintext to a TLS listener', async () => {
    await refused({ KAFKA_BROKERS: listener('SSL') }, /closed the connection during the handshake.*TLS or SASL/);
  });
});

describe('settings that cannot work stop the start-up with a clear message', () => {
  it('an unreadable CA file', async () => {
    await expect(
      gateway({ KAFKA_BROKERS: listener('SSL'), KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') }),
    ).rejects.toThrow(/KAFKA_SSL_CA_FILE: cannot read .*ENOENT/);
  });

  it('an encrypted client key with a wrong password', async () => {
    await expect(
      gateway({
        KAFKA_BROKERS: listener('SSL'),
        KAFKA_SSL_CA_FILE: ssl().caFile,
        KAFKA_SSL_CERT_FILE: ssl().certFile,
        KAFKA_SSL_KEY_FILE: ssl().encryptedKeyFile,
        KAFKA_SSL_KEY_PASSWORD: WRONG,
      }),
    ).rejects.toThrow(/KAFKA_SSL_KEY_FILE: cannot use the client key/);
  });
});
