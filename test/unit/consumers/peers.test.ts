// Peers as the sibling workers of a pod see them (WORKERS > 1): the target list is read at every call (workers come
// and go with new ports), and every request says it comes from a sibling; with PEER_URLS it never does. Loopback
// servers stand in for the other processes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PEER_SIGNATURE_HEADER, PeerAuth } from '../../../src/consumers/peer-auth.js';
import { PEER_VIA_HEADER, Peers } from '../../../src/consumers/peers.js';
import { silentLogger } from '../../../src/observability/logger.js';

const auth = new PeerAuth('a-peer-secret-of-at-least-32-bytes!!');
const servers: http.Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** A process answering lookups with `presence`, remembering the via header of every request. */
async function peer(presence: string): Promise<{ url: string; via: (string | undefined)[] }> {
  const via: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    via.push(req.headers[PEER_VIA_HEADER] as string | undefined);
    req.resume();
    req.on('end', () => {
      const signature = auth.signAnswer(req.headers[PEER_SIGNATURE_HEADER] as string, presence);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ presence, signature }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, via };
}

describe('Peers', () => {
  it('reads a sibling list at every call and marks its requests as from a sibling', async () => {
    const a = await peer('none');
    const b = await peer('owned');
    let current = [a.url];
    const siblings = new Peers(() => current, auth, 2000, silentLogger);
    expect(await siblings.find('g', 'i', '')).toEqual({ presence: 'none' });
    current = [a.url, b.url];
    expect(await siblings.find('g', 'i', '')).toEqual({ presence: 'owned', url: b.url });
    expect([...a.via, ...b.via]).toEqual(['sibling', 'sibling', 'sibling']);
  });

  it('sends no via header to the replicas of PEER_URLS', async () => {
    const c = await peer('taken');
    const replicas = new Peers([c.url], auth, 2000, silentLogger);
    expect(await replicas.find('g', 'i', '')).toEqual({ presence: 'taken' });
    expect(c.via).toEqual([undefined]);
  });
});
