// Credentials revoked while the gateway runs, against real SASL listeners. SCRAM-SHA-256: the gateway's
// user is deleted with Kafka's own tool (ConfigCommand), and the broker ends authenticated sessions after
// connections.max.reauth.ms, so the revocation reaches connections already open. Then every produce request gets a
// clear answer naming authentication to Kafka (503 50302, not a hang, not a bare "unreachable"), /readyz says why in
// one line, and once the user is back the gateway recovers by itself (no restart). No secret reaches the log.
// OAUTHBEARER: the token endpoint starts refusing the gateway's client (its secret revoked) while tokens live 16 s:
// once the last token expires the same happens, and it recovers when the endpoint accepts the client again.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { ready, testKafkaClientEnv } from '../helpers/gateway.js';
import { classpath, createTopic, startKafka, uniqueTopic, type LocalKafka } from '../helpers/kafka.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { startOAuthServer, type OAuthServer } from '../helpers/oauth-server.js';
import { clusterLock, until } from '../helpers/produce-history.js';

const run = promisify(execFile);
const PRODUCE_TIMEOUT_MS = 3000;
/**
 * The broker ends an authenticated session after this long unless the client re-authenticates (kafkajs does so
 * 10 s before the end: a shorter session makes it re-authenticate before every request).
 */
const REAUTH_MS = 15_000;

const OAUTH_CLIENT = 'gateway';
const OAUTH_SECRET = 'gateway-oauth-secret-9b3a';
const oauthClients: Record<string, string> = { [OAUTH_CLIENT]: OAUTH_SECRET };

let kafka: LocalKafka | undefined;
let oauth: OAuthServer | undefined;
let gw: Gateway | undefined;
let logs: CapturedLog;
let release: (() => void) | undefined;
const topic = uniqueTopic('creds');

/** Kafka's kafka-configs tool against the PLAINTEXT listener: alter the SCRAM-SHA-256 credential of a user. */
async function scram(action: 'delete' | 'add', user: { username: string; password: string }): Promise<void> {
  const change =
    action === 'delete'
      ? ['--delete-config', 'SCRAM-SHA-256']
      : ['--add-config', `SCRAM-SHA-256=[iterations=4096,password=${user.password}]`];
  await run(
    'java',
    [
      '-cp',
      classpath(),
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      kafka!.bootstrap.PLAINTEXT,
      '--alter',
      '--entity-type',
      'users',
      '--entity-name',
      user.username,
      ...change,
    ],
    { timeout: 60_000 },
  );
}

interface Answer {
  status: number;
  ms: number;
  body: { error_code?: number; message?: string; offsets?: Array<{ error_code: number | null; error?: string }> };
}

async function produceOnce(g: Gateway = gw!): Promise<Answer> {
  const t = performance.now();
  const res = await fetch(`${g.url}/topics/${topic}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.kafka.json.v2+json' },
    body: JSON.stringify({ records: [{ value: 'x' }] }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, ms: performance.now() - t, body: (await res.json()) as Answer['body'] };
}

const ok = (a: Answer) => a.status === 200 && a.body.offsets?.[0]?.error_code === null;

/**
 * Produces once after another until the gateway refuses for authentication (503 50302, naming it), from the moment
 * a credential was revoked. Until then every request was answered within its deadline (no hang) and never with a
 * lie: acknowledged, or a 503 / 50003.
 */
async function produceUntilRefusedForAuthentication(
  g: Gateway,
): Promise<{ answers: Answer[]; refusedAfterMs: number }> {
  const revokedAt = performance.now();
  const answers: Answer[] = [];
  await until(
    'a produce refused for authentication',
    async () => {
      const a = await produceOnce(g);
      answers.push(a);
      return a.status === 503;
    },
    90_000,
    () => JSON.stringify(answers.slice(-3)),
  );
  const refusedAfterMs = Math.round(performance.now() - revokedAt);
  const refused = answers[answers.length - 1]!;
  expect(refused.body.error_code).toBe(50302);
  expect(refused.body.message).toMatch(/authenticate to Kafka/);
  for (const a of answers.slice(0, -1)) {
    expect(a.ms).toBeLessThan(PRODUCE_TIMEOUT_MS + 3000);
    if (!ok(a)) expect(a.status === 503 || a.body.offsets?.[0]?.error_code === 50003).toBe(true);
  }
  return { answers, refusedAfterMs };
}

describe.skipIf(process.env.KAFKA_CLUSTER_TESTS === '0')('Kafka credentials revoked while running', () => {
  beforeAll(async () => {
    release = await clusterLock();
    // The endpoint checks the client against this object on every request: deleting the entry revokes it.
    oauth = await startOAuthServer({ clients: oauthClients, tokenTtlS: 16 });
    kafka = await startKafka({
      listeners: ['PLAINTEXT', 'SASL_PLAINTEXT', 'OAUTHBEARER'],
      oauth: { jwksUrl: oauth.jwksUrl, issuer: oauth.issuer, audience: oauth.audience },
      brokerProps: {
        'listener.name.sasl_plaintext.scram-sha-256.connections.max.reauth.ms': REAUTH_MS,
        'listener.name.oauthbearer.oauthbearer.connections.max.reauth.ms': 60_000,
      },
      log: () => {},
    });
    await createTopic(kafka.bootstrap.PLAINTEXT, topic, 1);
    logs = captureLog('info');
    const user = kafka.users.scram;
    gw = await startGateway(
      loadConfig(
        {
          KAFKA_BROKERS: kafka.bootstrap.SASL_PLAINTEXT!,
          KAFKA_SASL_MECHANISM: 'scram-sha-256',
          KAFKA_SASL_USERNAME: user.username,
          KAFKA_SASL_PASSWORD: user.password,
          PORT: '0',
          HOST: '127.0.0.1',
          ...testKafkaClientEnv(),
          AUTH_MODE: 'none',
          PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS),
        },
        'prod',
      ),
      { logger: logs.logger },
    );
    await ready(gw, 60_000);
  }, 420_000);

  afterAll(async () => {
    await gw?.close().catch(() => {});
    await kafka?.stop().catch(() => {});
    await oauth?.close().catch(() => {});
    release?.();
  }, 60_000);

  it('names authentication to Kafka on every request and in /readyz, then recovers when the user is back', {
    timeout: 240_000,
  }, async () => {
    const user = kafka!.users.scram;
    expect(ok(await produceOnce())).toBe(true);

    await scram('delete', user);
    // Once the broker ends the session, the gateway cannot authenticate again.
    const { answers, refusedAfterMs } = await produceUntilRefusedForAuthentication(gw!);
    // Every request now: at once, the same clear answer.
    for (let i = 0; i < 5; i++) {
      const a = await produceOnce();
      expect([a.status, a.body.error_code]).toEqual([503, 50302]);
      expect(a.body.message).toMatch(/authenticate to Kafka/);
      expect(a.ms).toBeLessThan(1000);
    }
    const readyz = await fetch(`${gw!.url}/readyz`);
    const readyText = await readyz.text();
    expect(readyz.status).toBe(503);
    expect(readyText).toMatch(/SASL authentication failed \(SCRAM-SHA-256\)/);
    expect(readyText.split('\n').filter((l) => l.trim()).length).toBe(1);

    await scram('add', user);
    const restoredAt = performance.now();
    await until('produce acknowledged again (no gateway restart)', async () => ok(await produceOnce()), 90_000);
    const recoveredAfterMs = Math.round(performance.now() - restoredAt);
    console.log(
      `[kafka-credentials] ${JSON.stringify({ refusedAfterMs, recoveredAfterMs, requestsBeforeRefusal: answers.length - 1 })}`,
    );

    const text = logs.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(text).not.toContain(user.password);
    expect(text).toMatch(/Kafka unreachable: SASL authentication failed/);
  });
  it('an OAuth token endpoint that refuses the gateway: authentication named, recovery when it accepts again', {
    timeout: 240_000,
  }, async () => {
    const logs2 = captureLog('info');
    const g = await startGateway(
      loadConfig(
        {
          KAFKA_BROKERS: kafka!.bootstrap.OAUTHBEARER!,
          KAFKA_SASL_MECHANISM: 'oauthbearer',
          KAFKA_OAUTH_TOKEN_URL: oauth!.tokenUrl,
          KAFKA_OAUTH_CLIENT_ID: OAUTH_CLIENT,
          KAFKA_OAUTH_CLIENT_SECRET: OAUTH_SECRET,
          PORT: '0',
          HOST: '127.0.0.1',
          ...testKafkaClientEnv(),
          AUTH_MODE: 'none',
          PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS),
        },
        'prod',
      ),
      { logger: logs2.logger },
    );
    try {
      await ready(g, 60_000);
      expect(ok(await produceOnce(g))).toBe(true);
      delete oauthClients[OAUTH_CLIENT];
      const { refusedAfterMs } = await produceUntilRefusedForAuthentication(g);
      const readyText = await (await fetch(`${g.url}/readyz`)).text();
      expect(readyText).toMatch(/OAuth token request failed/);

      oauthClients[OAUTH_CLIENT] = OAUTH_SECRET;
      const restoredAt = performance.now();
      await until('produce acknowledged again (no gateway restart)', async () => ok(await produceOnce(g)), 90_000);
      console.log(
        `[kafka-credentials] oauth ${JSON.stringify({ refusedAfterMs, recoveredAfterMs: Math.round(performance.now() - restoredAt) })}`,
      );
      expect(logs2.lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain(OAUTH_SECRET);
    } finally {
      oauthClients[OAUTH_CLIENT] = OAUTH_SECRET;
      await g.close().catch(() => {});
    }
  });
});
