// /healthz (the process is up) and /readyz (Kafka reachable, producer connected), with and without a broker; and
// the port opening only once the first probe of Kafka concluded.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { call, ready, startTestGateway } from '../helpers/gateway.js';
import { portsToListenOnLater } from '../helpers/ports.js';

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

describe('start-up', () => {
  /** Resolves when a TCP connection to the port is accepted; rejects with its error (ECONNREFUSED) otherwise. */
  const connectOnce = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });

  it('opens its port only once its first probe of Kafka has an answer', async () => {
    // A relay to the broker that holds every connection, unread, until released: the gateway's first probe of
    // Kafka waits on it.
    const [host, brokerPort] = inject('kafkaBrokers').split(',')[0]!.split(':');
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const sockets: Socket[] = [];
    const relay = createServer((client) => {
      client.pause();
      sockets.push(client);
      void released.then(() => {
        const broker = connect(Number(brokerPort), host);
        sockets.push(broker);
        broker.on('error', () => client.destroy());
        client.on('error', () => broker.destroy());
        client.pipe(broker).pipe(client);
        client.resume();
      });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const [port] = await portsToListenOnLater(1);
    const starting = startTestGateway(
      { KAFKA_BROKERS: `127.0.0.1:${(relay.address() as AddressInfo).port}`, PORT: String(port) },
      { waitReady: false },
    );
    let gw: Gateway | undefined;
    try {
      await once(relay, 'connection'); // the first probe is under way, and cannot conclude while held
      await expect(connectOnce(port!)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      release();
      gw = await starting;
      await connectOnce(port!);
      await ready(gw);
      expect((await call(gw, '/readyz')).status).toBe(200);
    } finally {
      release();
      await (gw ?? (await starting)).close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });
});
