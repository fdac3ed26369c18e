// The Python security suite (test/python/test_security.py, requests + websocket-client + kafka-python from the
// repo's .venv): a service with a token produces and subscribes; without one it gets 401. This file starts the
// gateway (AUTH_MODE=jwt, one RSA public key) and mints the tokens the Python side uses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import { runPytest } from '../helpers/pytest.js';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { createTopicReady, ready, testKafkaClientEnv } from '../helpers/gateway.js';
import { uniqueTopic } from '../helpers/kafka.js';
import { captureLog } from '../helpers/log-capture.js';

const brokers = inject('kafkaBrokers');
let python: string;
let gw: Gateway;
let dir: string;
let key: CryptoKey;
let otherKey: CryptoKey;
let topic: string;
let other: string;

const sign = (k: CryptoKey, claims: Record<string, unknown>, exp: number | string) =>
  new SignJWT({ kafka: { produce: [topic], consume: [topic] }, ...claims })
    .setProtectedHeader({ alg: 'RS256' })
    .setSubject('python-svc')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(k);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-py-sec-'));
  const [pair, stranger] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('RS256'),
  ]);
  key = pair.privateKey;
  otherKey = stranger.privateKey;
  writeFileSync(join(dir, 'public.pem'), await exportSPKI(pair.publicKey));
  topic = uniqueTopic('py-sec');
  other = uniqueTopic('py-sec-other');
  await Promise.all([createTopicReady(brokers, topic, 1), createTopicReady(brokers, other, 1)]);
  const config = loadConfig(
    {
      KAFKA_BROKERS: brokers,
      PORT: '0',
      HOST: '127.0.0.1',
      ...testKafkaClientEnv(),
      AUTH_MODE: 'jwt',
      AUTH_PUBLIC_KEY_FILE: join(dir, 'public.pem'),
      KAFKA_CONSUMER_MAX_WAIT_MS: '100',
    },
    'prod',
  );
  [python, gw] = await Promise.all([
    ensurePythonEnv({ quiet: true }),
    startGateway(config, { logger: captureLog('silent').logger }),
  ]);
  await ready(gw);
}, 600_000);

afterAll(async () => {
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function join(...parts: string[]): string {
  return path.join(...parts);
}

it('passes the Python security suite: with a token it produces and subscribes, without one it gets 401', async () => {
  const now = Math.floor(Date.now() / 1000);
  const { code, output } = await runPytest(python, ['test_security.py'], {
    KGW_SECURITY: '1',
    GATEWAY_URL: gw.url,
    KAFKA_BROKERS: brokers,
    KGW_TOPIC: topic,
    KGW_OTHER_TOPIC: other,
    KGW_TOKEN: await sign(key, {}, '10m'),
    KGW_TOKEN_EXPIRED: await sign(key, { iat: now - 7200 }, now - 3600),
    KGW_TOKEN_OTHER_KEY: await sign(otherKey, {}, '10m'),
  });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  expect(output).toMatch(/\b6 passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 300_000);
