// Java's java.net.http.HttpClient offers `Upgrade: h2c` on every plain-http request by default. Node routes any request
// with an Upgrade header to the WebSocket upgrade handler; it must serve non-WebSocket upgrades as ordinary HTTP
// (RFC 9110 §7.8 lets a server ignore Upgrade) instead of answering 404.
import net from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTopicReady } from '../helpers/gateway.js';
import { readAll, uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;
const topic = uniqueTopic('h2c');

beforeAll(async () => {
  await createTopicReady(brokers, topic, 1);
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** Sends one raw HTTP/1.1 request and reads until the server closes the connection. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(gw.port, '127.0.0.1', () => s.write(request));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => reject(new Error(`no answer; got: ${out.slice(0, 200)}`)));
  });
}

const h2c = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';

it('a GET offering an h2c upgrade is served as plain HTTP/1.1', async () => {
  const res = await raw(`GET /topics HTTP/1.1\r\nHost: 127.0.0.1\r\n${h2c}\r\n`);
  expect(res.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  expect(res).toContain(topic);
});

it('a produce POST offering an h2c upgrade writes its record and answers with offsets', async () => {
  const body = JSON.stringify({ records: [{ key: 'h2c', value: { via: 'java' } }] });
  const res = await raw(
    `POST /topics/${topic} HTTP/1.1\r\nHost: 127.0.0.1\r\n${h2c}Content-Type: application/vnd.kafka.json.v2+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  expect(res.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toMatchObject({
    offsets: [{ partition: 0, offset: 0, error_code: null }],
  });
  const records = await readAll(brokers, topic, 1, 15_000);
  expect(records.map((r) => r.value?.toString())).toEqual(['{"via":"java"}']);
});

it('a WebSocket upgrade to another path is still refused with 404', async () => {
  const res = await raw(
    'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  expect(res.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 404/);
});
