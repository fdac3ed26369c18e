// The tests' round-robin balancer (test/helpers/replicas.ts) with upgraded connections whose client never ends
// its side: a replica that closes a tunnel, or refuses an upgrade, must not leave the client's side half-open, and
// close() must not wait for it (a soak's clean-up once hung there for good after a replica's graceful shutdown).
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { roundRobinProxy } from '../helpers/replicas.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A target that answers every upgrade with `answer`, then ends its side of the connection. */
async function target(answer: string): Promise<string> {
  const server = http.createServer((_req, res) => res.end());
  server.on('upgrade', (_req, socket) => {
    socket.on('error', () => {});
    socket.end(answer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A client that sends an upgrade request and never ends its side. Its own close can only come from the proxy:
 * a write after the proxy let go of the connection is answered with a reset.
 */
async function halfOpenClient(url: string) {
  const u = new URL(url);
  const socket = net.connect({ host: u.hostname, port: Number(u.port), allowHalfOpen: true });
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  let read = '';
  socket.on('data', (d: Buffer) => {
    read += d.toString('latin1');
  });
  const firstData = once(socket, 'data');
  const ended = once(socket, 'end');
  // Not events.once: that rejects on the EPIPE the closing write gets.
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  // A write after the proxy let go of the connection is answered with a reset, and the write after that fails,
  // which closes this socket (its reading stopped at the end the proxy sent): write until it does.
  const poke = () => {
    const timer = setInterval(() => socket.write('x'), 20);
    socket.on('close', () => clearInterval(timer));
    cleanups.push(() => clearInterval(timer));
  };
  return { read: () => read, firstData, ended, closed, poke };
}

async function withinMs<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('roundRobinProxy with upgraded connections', { timeout: 30_000 }, () => {
  it('closes the client side of a tunnel its target closed, and close() resolves', async () => {
    const up = await target('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye');
    const proxy = await roundRobinProxy([up]);
    const client = await halfOpenClient(proxy.url);
    await withinMs(5000, "the tunnel's end reaching the client", client.ended);
    expect(client.read()).toMatch(/^HTTP\/1\.1 101 [\s\S]*\r\n\r\nbye$/);
    // The client never ends its side: the proxy must close the connection itself.
    client.poke();
    await withinMs(5000, 'the proxy closing the half-open tunnel', client.closed);
    await withinMs(5000, 'proxy.close()', proxy.close());
  });

  it('closes the client side of an upgrade its target refused, and close() resolves', async () => {
    const up = await target('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    const proxy = await roundRobinProxy([up]);
    const client = await halfOpenClient(proxy.url);
    await withinMs(5000, 'the refusal reaching the client', client.ended);
    expect(client.read()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\nconnection: close\r\n\r\n$/);
    client.poke();
    await withinMs(5000, 'the proxy closing the refused connection', client.closed);
    await withinMs(5000, 'proxy.close()', proxy.close());
  });

  it('ends a tunnel still open when it closes', async () => {
    // A target that upgrades and keeps the connection open.
    const server = http.createServer();
    const held: net.Socket[] = [];
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.on('error', () => {});
      held.push(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      for (const s of held) s.destroy();
      server.close();
    });
    const proxy = await roundRobinProxy([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
    const client = await halfOpenClient(proxy.url);
    await withinMs(5000, 'the upgrade answer', client.firstData);
    expect(client.read()).toMatch(/^HTTP\/1\.1 101 /);
    await withinMs(5000, 'proxy.close() with a tunnel open', proxy.close());
    await withinMs(5000, 'the end of the tunnel reaching the client', client.ended);
    client.poke();
    await withinMs(5000, "the client's connection closing", client.closed);
  });
});
