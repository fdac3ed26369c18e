// /healthz (the process is up) and /readyz (Kafka reachable, producer connected), with and without a broker.
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { call, startTestGateway } from '../helpers/gateway.js';

let up: Gateway;
let down: Gateway;

beforeAll(async () => {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const closedPort = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  [up, down] = await Promise.all([
    startTestGateway(),
    startTestGateway({ KAFKA_BROKERS: `127.0.0.1:${closedPort}` }, { waitReady: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([up?.close(), down?.close()]);
});

describe('with a reachable broker', () => {
  it('/healthz answers 200 {"status":"ok"}', async () => {
    const res = await call(up, '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('/readyz answers 200 {"status":"ready"}', async () => {
    const res = await call(up, '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
  });
});

describe('without a reachable broker', () => {
  it('/healthz still answers 200: the process is up', async () => {
    const res = await call(down, '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/readyz answers 503 50302 at once, saying why', async () => {
    const start = performance.now();
    const res = await call(down, '/readyz');
    expect(performance.now() - start).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe(50302);
    expect(res.body.message).toMatch(/^Kafka not reachable/);
  });
});

describe('shutdown', () => {
  it('stops answering after close(), and close() is idempotent', async () => {
    const gw = await startTestGateway();
    expect((await call(gw, '/readyz')).status).toBe(200);
    await Promise.all([gw.close(), gw.close()]);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });
});
