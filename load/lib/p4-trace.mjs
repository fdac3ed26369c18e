/**
 * A preload for load/probe-p4.ts (`node --import ./load/lib/p4-trace.mjs …`): timestamps along a produce request's
 * path, written as one JSON file when the process exits (P4_TRACE_OUT). Plain JavaScript, so it loads on any Node
 * the probe compares, and it touches nothing the gateway does: it only listens.
 *
 *   http   — a request's start and its response's finish (node:diagnostics_channel, the server's own events);
 *   kafka  — every write to a Kafka connection and every chunk read from one (sockets kafkajs or another client
 *            opens with net.connect, seen through the `net.client.socket` channel), with the socket's noDelay;
 *   loop   — the event loop's delay (perf_hooks histogram), which is what a timer or a busy loop costs a request;
 *   gc     — every garbage collection (start, duration, kind);
 *   and, between two SIGUSR2, a V8 CPU profile of the main thread (P4_TRACE_OUT + '.cpuprofile').
 */
import dc from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';

const out = process.env.P4_TRACE_OUT;
const brokerPorts = new Set((process.env.P4_TRACE_BROKER_PORTS ?? '').split(',').filter(Boolean).map(Number));
const events = [];
const now = () => performance.timeOrigin + performance.now();
const sockets = [];

dc.subscribe('http.server.request.start', ({ request }) => {
  request.__p4 = now();
});
dc.subscribe('http.server.response.finish', ({ request }) => {
  if (request.__p4 !== undefined) events.push(['http', request.__p4, now()]);
});
dc.subscribe('net.client.socket', ({ socket }) => {
  const info = { id: sockets.length, port: undefined, noDelay: undefined };
  sockets.push(info);
  // (Node puts the prototype's write back while the socket connects: wrap it once connected.)
  socket.prependOnceListener('connect', () => {
    const write = socket.write;
    socket.write = function (...args) {
      if (brokerPorts.size === 0 || brokerPorts.has(socket.remotePort))
        events.push(['kw', now(), info.id, args[0]?.length ?? 0]);
      return write.apply(this, args);
    };
  });
  socket.on('data', (chunk) => {
    if (brokerPorts.size === 0 || brokerPorts.has(socket.remotePort)) events.push(['kr', now(), info.id, chunk.length]);
  });
  socket.once('connect', () => {
    info.port = socket.remotePort;
    // Node's own record of the option (set by setNoDelay or the noDelay option): Nagle is on unless true.
    const k = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
    info.noDelay = k ? socket[k] : undefined;
  });
});

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

// Garbage collections: when, how long, which kind (the pauses a request may wait through).
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    events.push(['gc', performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? e.kind]);
});
gc.observe({ entryTypes: ['gc'] });

let profiling;
process.on('SIGUSR2', () => {
  if (!out) return;
  if (!profiling) {
    profiling = new Session();
    profiling.connect();
    profiling.post('Profiler.enable', () => profiling.post('Profiler.start'));
    return;
  }
  const session = profiling;
  session.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(`${out}.cpuprofile`, JSON.stringify(r.profile));
    session.disconnect();
  });
});

process.on('exit', () => {
  if (!out) return;
  loop.disable();
  const ms = (ns) => ns / 1e6;
  writeFileSync(
    out,
    JSON.stringify({
      node: process.version,
      sockets,
      loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      cpuUs: process.cpuUsage(),
      uptimeS: process.uptime(),
      events,
    }),
  );
});
