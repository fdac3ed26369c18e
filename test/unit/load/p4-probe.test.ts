// load/probe-p4.ts: its preload sees a Kafka-like socket's writes and reads on the Node running the tests (Node puts a
// socket's own `write` back while it connects, so a wrapper set too early records nothing), and its arithmetic
// splits a request at the right round trip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gcs, roundTrips, split, type Ev, type Trace } from '../../../load/lib/p4-split.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const trace = (events: Ev[]): Trace => ({
  node: 'v0',
  sockets: [],
  loopDelayMs: { p50: 1, p99: 1, max: 1 },
  cpuUs: { user: 0, system: 0 },
  uptimeS: 1,
  events,
});

describe('the P4 probe', () => {
  it('its preload records each write to a client socket and each read from it, and the socket noDelay', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'p4-trace-')), 'trace.json');
    const script = `
      const net = require('node:net');
      const server = net.createServer((c) => c.on('data', (d) => c.write(d))).listen(0, '127.0.0.1', () => {
        const c = net.connect(server.address().port, '127.0.0.1', () => c.write('ping'));
        c.once('data', () => { c.write('second'); c.once('data', () => { c.destroy(); server.close(); }); });
      });`;
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'load/lib/p4-trace.mjs'), '-e', script], {
      env: { ...process.env, P4_TRACE_OUT: out },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8')) as Trace;
    const kafka = t.events.filter((e) => e[0] === 'kw' || e[0] === 'kr').map((e) => [e[0], e[3]]);
    expect(kafka).toEqual([
      ['kw', 4],
      ['kr', 4],
      ['kw', 6],
      ['kr', 6],
    ]);
    expect(t.sockets).toHaveLength(1);
    expect(t.sockets[0]!.noDelay).toBe(false);
    expect(roundTrips(t, 0, Number.POSITIVE_INFINITY)).toHaveLength(2);
  });

  it('splits a request at the first round trip written after it began and answered before it finished', () => {
    const t = trace([
      ['kw', 5, 0, 100], // before the request: not its round trip
      ['kr', 8, 0, 50],
      ['kw', 12, 1, 100], // another socket (metadata) answered after the request finished
      ['kw', 13, 0, 100],
      ['kr', 16, 0, 50],
      ['http', 10, 17],
      ['kr', 30, 1, 50],
    ]);
    const s = split(t, 0);
    expect(s.server).toEqual([7]);
    expect(s.inToKafka).toEqual([3]);
    expect(s.kafka).toEqual([3]);
    expect(s.kafkaToOut).toEqual([1]);
  });

  it('leaves out what began before the window, and counts collections per kind', () => {
    const t = trace([
      ['http', 1, 4],
      ['gc', 2, 9, 1],
      ['kw', 11, 0, 1],
      ['kr', 13, 0, 1],
      ['http', 10, 14],
      ['gc', 20, 3, 1],
      ['gc', 21, 30, 2],
    ]);
    expect(split(t, 10).server).toEqual([4]);
    expect(gcs(t, 10)).toBe('minor 1× 3 ms (max 3.0), major 1× 30 ms (max 30.0)');
  });
});
