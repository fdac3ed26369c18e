// HTTPS and WSS on one port (TLS_CERT_FILE / TLS_KEY_FILE) with certificates generated here by openssl, against the
// real broker. Key source: AUTH_HS256_SECRET (the third one; JWKS and PEM are covered by the other security files).
import { execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, createTopicReady, startTestGateway } from '../helpers/gateway.js';
import { readAll, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
const SECRET = 'tls-test-secret-0123456789abcdef-0123456789';

let dir: string;
let ca: string;
let gw: Gateway;
let topic: string;

/** A CA and a server certificate for 127.0.0.1 / localhost, EC P-256, valid 2 days. */
function generateCerts(into: string): void {
  const f = (n: string) => join(into, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=gateway test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  run(['req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(
    f('server.ext'),
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-set_serial',
    '0x1234',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    f('server.ext'),
    '-out',
    f('server.pem'),
  ]);
}

const token = (kafka: Record<string, unknown>) =>
  new SignJWT({ kafka })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tls-user')
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function https(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; trust?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, ...(init.trust === false ? {} : { ca }) },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-tls-'));
  generateCerts(dir);
  ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  topic = uniqueTopic('tls');
  await createTopicReady(brokers, topic, 1);
  gw = await startTestGateway({
    AUTH_MODE: 'jwt',
    AUTH_HS256_SECRET: SECRET,
    TLS_CERT_FILE: join(dir, 'server.pem'),
    TLS_KEY_FILE: join(dir, 'server.key'),
    KAFKA_CONSUMER_MAX_WAIT_MS: '100',
  });
}, 120_000);

afterAll(async () => {
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS and WSS on one port', () => {
  it('serves HTTPS: health, 401 without a token, produce with one (read back from Kafka)', async () => {
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await https(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toMatch(/max-age=/);
    expect((await https(`${gw.url}/topics`)).status).toBe(401);
    const t = await token({ produce: [topic], consume: [topic] });
    const res = await https(`${gw.url}/topics/${topic}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t}`, 'Content-Type': JSON_V2 },
      body: JSON.stringify({ records: [{ key: 'k', value: { over: 'https' } }] }),
    });
    expect(res.status, res.body).toBe(200);
    const recs = await readAll(brokers, topic, 1);
    expect(JSON.parse(recs[0]!.value!.toString())).toEqual({ over: 'https' });
  });

  it('serves WSS on the same port: a subscription receives a record produced over HTTPS', async () => {
    const t = await token({ produce: [topic], consume: [topic] });
    const ws = new WebSocket(`${gw.url.replace(/^https/, 'wss')}/ws?topic=${topic}`, ['kgw.v1', `bearer.${t}`], {
      ca,
      perMessageDeflate: false,
    });
    const frames: Array<Record<string, unknown>> = [];
    const got = (pred: (f: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such frame; got ${JSON.stringify(frames)}`)), 30_000);
        const check = () => {
          const f = frames.find(pred);
          if (f) {
            clearTimeout(timer);
            ws.off('message', check);
            resolve(f);
          }
        };
        ws.on('message', check);
        check();
      });
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('kgw.v1');
    await got((f) => f.type === 'subscribed');
    const res = await https(`${gw.url}/topics/${topic}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t}`, 'Content-Type': JSON_V2 },
      body: JSON.stringify({ records: [{ value: 'over-wss' }] }),
    });
    expect(res.status).toBe(200);
    expect(await got((f) => f.type === 'record')).toMatchObject({ topic, value: 'over-wss' });
    ws.close();
  });

  it('plain HTTP and ws:// to the TLS port get nothing useful; a client without the CA refuses the certificate', async () => {
    await expect(
      fetch(`${gw.url.replace(/^https/, 'http')}/healthz`, { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toThrow();
    const plain = new WebSocket(`${gw.url.replace(/^https/, 'ws')}/ws`, ['kgw.v1']);
    await expect(
      new Promise((resolve, reject) => {
        plain.once('open', resolve);
        plain.once('error', reject);
      }),
    ).rejects.toThrow();
    await expect(https(`${gw.url}/healthz`, { trust: false })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });
});
