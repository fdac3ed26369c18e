/**
 * W4 (docs/performance.md): a socket that never reads among 1,000 healthy broadcast sockets. Three measured windows in
 * one round, on the same open healthy sockets and the same topic rate:
 *   A  no stalled socket (the reference p99);
 *   B  plus one socket that stops reading right after subscribing in **assign** mode from the earliest offset of a
 *      prefilled backlog: the gateway fills its send buffer to the high water and then pauses that subscription's
 *      Kafka reads; the socket stays open, so memory must stay bounded for as long as it lives;
 *   C  plus one socket with 15 **broadcast** subscriptions to the same topic (and an assign subscription replaying the
 *      backlog, so the loopback buffers fill in seconds rather than minutes) that stops reading: broadcast never waits
 *      for one socket, so the gateway queues (bounded) and closes it with 4408 (time to close reported).
 * Healthy p99 in B and C vs A, and the gateway's RSS from start to end of each window (flat = bounded).
 *
 *   npm run bench -- --scenarios W4 [--w4-sockets 1000 --w4-rate 10 --w4-value-bytes 1000 --w4-backlog 30000]
 */
import WebSocket from 'ws';
import { scrapeSum } from '../lib/env.js';
import { ensureOpenFiles, WsClients } from '../lib/ws-clients.js';
import { median } from '../lib/stats.js';
import type { BenchContext, RoundResult, Row, Scenario } from './types.js';
import {
  epochNow,
  measureWindow,
  PacedProducer,
  prefill,
  useAppendTime,
  windowMeasured,
  wsBase,
  type BroadcastWindow,
} from './ws-common.js';

const TOPIC = 'bench-w4';
const PARTITIONS = 3;
/** How long phase C waits (from the stalled socket's start) for the gateway to close it. */
const CLOSE_WAIT_MS = 60_000;

interface Stalled {
  ws: WebSocket;
  openedAt: number;
  closed: Promise<{ code: number; afterS: number }>;
  isOpen(): boolean;
}

/** openStalledOnce, retried a few times (a refused subscribe on a busy machine, e.g. KAFKA_UNAVAILABLE for a moment). */
async function openStalled(url: string, frames: object[], log: (m: string) => void): Promise<Stalled> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStalledOnce(url, frames);
    } catch (e) {
      if (attempt >= 5) throw e;
      log(`  W4: stalled socket attempt ${attempt} failed (${e instanceof Error ? e.message : String(e)}); retrying`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Opens a socket, sends `frames`, waits for every `subscribed`, then stops reading from the TCP socket for good. */
function openStalledOnce(url: string, frames: object[]): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'kgw.v1', { perMessageDeflate: false });
    const openedAt = epochNow();
    let subscribed = 0;
    let open = true;
    const closed = new Promise<{ code: number; afterS: number }>((res) =>
      ws.on('close', (code) => {
        open = false;
        res({ code, afterS: (epochNow() - openedAt) / 1000 });
      }),
    );
    ws.on('open', () => {
      for (const f of frames) ws.send(JSON.stringify(f));
    });
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const s = data.toString('utf8');
      if (s.includes('"type":"error"')) {
        ws.terminate();
        reject(new Error(`stalled socket refused: ${s.slice(0, 200)}`));
      }
      if (s.includes('"type":"subscribed"') && ++subscribed === frames.length) {
        // Never read again: the kernel buffers fill, then the gateway's send buffer.
        ws.pause();
        resolve({ ws, openedAt, closed, isOpen: () => open });
      }
    });
  });
}

/** Broadcast subscriptions the gateway holds now (its /metrics gauge). */
async function broadcastSubscriptions(url: string): Promise<number> {
  return scrapeSum(url, 'kafka_gateway_ws_subscriptions', 'mode="broadcast"');
}

/**
 * Seconds from `openedAt` until the gateway ended the stalled socket's broadcast subscriptions (its gauge is back
 * to `before`), polled from /metrics; undefined when that did not happen within CLOSE_WAIT_MS. The stalled client
 * cannot tell by itself: the close frame waits behind everything it does not read.
 */
async function gatewayEnded(url: string, before: number, openedAt: number): Promise<number | undefined> {
  while (epochNow() - openedAt < CLOSE_WAIT_MS) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await broadcastSubscriptions(url).catch(() => Number.NaN);
    if (now <= before) return (epochNow() - openedAt) / 1000;
  }
  return undefined;
}

export const W4: Scenario = {
  id: 'W4',
  title: 'one never-reading socket among 1,000 healthy broadcast sockets (assign stall, then broadcast stall)',
  topics: { [TOPIC]: PARTITIONS },
  async round(ctx: BenchContext): Promise<RoundResult> {
    const n = ctx.param('w4-sockets', 1000);
    const rate = ctx.param('w4-rate', 10);
    await prefill(ctx.brokers, TOPIC, ctx.param('w4-backlog', 30_000), 1000, ctx.log);
    await useAppendTime(ctx.brokers, TOPIC);
    if (ctx.pids.gateway !== undefined) ensureOpenFiles(ctx.pids.gateway, n + 2048, ctx.log);
    const base = wsBase(ctx);
    const clients = await WsClients.start(
      { url: `${base}/ws?topic=${TOPIC}&format=string`, mode: 'latency', connectConcurrency: 200 },
      n,
      1,
      ctx.log,
    );
    const producer = new PacedProducer(ctx.brokers, TOPIC, rate, ctx.param('w4-value-bytes', 1000));
    const stalled: Stalled[] = [];
    const say = (phase: string, w: BroadcastWindow) =>
      ctx.log(
        `  W4 ${phase}: healthy p50 ${w.report.latency.percentile(50).toFixed(1)} ms, p99 ${w.report.latency.percentile(99).toFixed(1)} ms, ` +
          `${w.report.frames}/${w.expected} frames, gateway RSS ${w.rss.startMb.toFixed(0)} → ${w.rss.endMb.toFixed(0)} MiB (peak ${w.rss.maxMb.toFixed(0)}), ` +
          `CPU gateway ${w.usage.cpuPct.gateway?.toFixed(0)}% machine ${w.usage.cpuPct.machine?.toFixed(0)}%`,
      );
    try {
      await producer.start();
      await new Promise((r) => setTimeout(r, ctx.warmupS * 1000));
      const a = await measureWindow(ctx, clients, producer, ctx.durationS, n);
      say('A (no stalled socket)', a);

      const assign = await openStalled(
        `${base}/ws`,
        [
          {
            type: 'subscribe',
            id: 'stall',
            mode: 'assign',
            partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })),
            from: 'earliest',
            format: 'base64',
          },
        ],
        ctx.log,
      );
      stalled.push(assign);
      const b = await measureWindow(ctx, clients, producer, ctx.durationS, n);
      const assignOpen = assign.isOpen();
      say(`B (assign socket not reading, ${assignOpen ? 'still open' : 'closed'})`, b);
      assign.ws.terminate();

      const before = await broadcastSubscriptions(ctx.gatewayUrl);
      // The assign subscription replays the backlog as fast as the gateway sends it, so the loopback buffers (tens of
      // MB with Linux's receive-buffer autotuning) are full within seconds; then the broadcast frames back up.
      const bc = await openStalled(
        `${base}/ws`,
        [
          {
            type: 'subscribe',
            id: 'fill',
            mode: 'assign',
            partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })),
            from: 'earliest',
          },
          ...Array.from({ length: 15 }, (_, i) => ({
            type: 'subscribe',
            id: `b${i}`,
            mode: 'broadcast',
            topics: [TOPIC],
            format: 'string',
          })),
        ],
        ctx.log,
      );
      stalled.push(bc);
      // The client reads again as soon as the gateway ended it: the gateway drops a socket closed as too slow
      // TOO_SLOW_CLOSE_MS after its close frame, and a client that reads only later finds no close frame (1006).
      const ended = gatewayEnded(ctx.gatewayUrl, before, bc.openedAt).then((s) => {
        if (s !== undefined) bc.ws.resume();
        return s;
      });
      const c = await measureWindow(ctx, clients, producer, ctx.durationS, n);
      const endedAfterS = await ended;
      // The client never read, so it learns of the close only by reading what was buffered before the close frame.
      bc.ws.resume();
      const close = await Promise.race([
        bc.closed,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
      ]);
      say(
        `C (broadcast socket not reading: ${endedAfterS !== undefined ? `the gateway ended it after ${endedAfterS.toFixed(1)} s` : 'not ended'}; ` +
          `the client, reading again, saw close ${close ? close.code : 'nothing'})`,
        c,
      );
      const stall = (w: BroadcastWindow) => ({
        healthyP99Ms: w.report.latency.percentile(99),
        rssStartMb: w.rss.startMb,
        rssEndMb: w.rss.endMb,
        rssMaxMb: w.rss.maxMb,
      });
      return {
        gateway: windowMeasured(a, { phase: 0 }),
        values: {
          p99A: a.report.latency.percentile(99),
          p50A: a.report.latency.percentile(50),
          p99B: b.report.latency.percentile(99),
          p50B: b.report.latency.percentile(50),
          p99C: c.report.latency.percentile(99),
          p50C: c.report.latency.percentile(50),
          lostA: Math.max(0, a.expected - a.report.frames),
          lostB: Math.max(0, b.expected - b.report.frames),
          lostC: Math.max(0, c.expected - c.report.frames),
          droppedHealthy: c.report.dropped,
          assignStalledOpen: assignOpen ? 1 : 0,
          broadcastStalledCloseCode: close?.code ?? 0,
          broadcastStalledCloseAfterS: endedAfterS ?? Number.NaN,
          ...Object.fromEntries(Object.entries(stall(a)).map(([k, v]) => [`A_${k}`, v])),
          ...Object.fromEntries(Object.entries(stall(b)).map(([k, v]) => [`B_${k}`, v])),
          ...Object.fromEntries(Object.entries(stall(c)).map(([k, v]) => [`C_${k}`, v])),
          cpuGatewayA: a.usage.cpuPct.gateway ?? Number.NaN,
          cpuGatewayB: b.usage.cpuPct.gateway ?? Number.NaN,
          cpuGatewayC: c.usage.cpuPct.gateway ?? Number.NaN,
          cpuClients: a.usage.cpuPct.clients ?? Number.NaN,
          cpuMachineA: a.usage.cpuPct.machine ?? Number.NaN,
          cpuMachineB: b.usage.cpuPct.machine ?? Number.NaN,
          cpuMachineC: c.usage.cpuPct.machine ?? Number.NaN,
        },
      };
    } finally {
      for (const s of stalled) s.ws.terminate();
      await producer.stop().catch(() => {});
      await clients.stop().catch(() => clients.kill());
    }
  },
  summarize(rounds): Row[] {
    const v = (k: string) => {
      const xs = rounds
        .map((r) => r.values?.[k])
        .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      return xs.length ? median(xs) : undefined;
    };
    const p99A = v('p99A');
    const rows: Row[] = [];
    const unchanged = (p99: number) => p99 <= Math.max(1.5 * p99A!, p99A! + 10);
    rows.push({
      id: 'W4',
      metric: 'healthy p99, no stalled socket (A)',
      unit: 'ms',
      ...(p99A !== undefined ? { gateway: p99A } : {}),
      target: 'reference',
      note: `p50 ${v('p50A')?.toFixed(1) ?? '—'} ms; whole machine ${v('cpuMachineA')?.toFixed(0) ?? '—'}% of 200%`,
    });
    for (const [phase, label] of [
      ['B', 'healthy p99 with an assign socket that never reads (B)'],
      ['C', 'healthy p99 with a broadcast socket that never reads (C)'],
    ] as const) {
      const p99 = v(`p99${phase}`);
      rows.push({
        id: 'W4',
        metric: label,
        unit: 'ms',
        ...(p99 !== undefined ? { gateway: p99 } : {}),
        ...(p99 !== undefined && p99A ? { ratio: p99 / p99A } : {}),
        target: 'unchanged (≤ 1.5× A or A + 10 ms)',
        ...(p99 !== undefined && p99A !== undefined ? { ok: unchanged(p99) } : {}),
        note: `p50 ${v(`p50${phase}`)?.toFixed(1) ?? '—'} ms; healthy frames lost ${v(`lost${phase}`) ?? '—'}`,
      });
    }
    for (const phase of ['A', 'B', 'C'] as const) {
      const start = v(`${phase}_rssStartMb`);
      const end = v(`${phase}_rssEndMb`);
      const max = v(`${phase}_rssMaxMb`);
      if (start === undefined || end === undefined) continue;
      const growth = end - start;
      rows.push({
        id: 'W4',
        metric: `gateway RSS growth over window ${phase} (end − start)`,
        unit: 'MiB',
        gateway: growth,
        target: phase === 'A' ? 'report' : 'flat (≤ 16 MiB: buffers are bounded)',
        ...(phase === 'A' ? {} : { ok: growth <= 16 }),
        note: `${start.toFixed(0)} → ${end.toFixed(0)} MiB, peak ${max?.toFixed(0) ?? '—'}`,
      });
    }
    const code = v('broadcastStalledCloseCode');
    const after = v('broadcastStalledCloseAfterS');
    rows.push({
      id: 'W4',
      metric: 'stalled broadcast socket: ended by the gateway after (close code the client then read)',
      unit: 's',
      ...(after !== undefined ? { gateway: after } : {}),
      target: '4408',
      ...(code !== undefined
        ? {
            ok: code === 4408,
            note: `close code ${code === 0 ? 'none' : code}; the assign socket stayed open: ${v('assignStalledOpen') === 1 ? 'yes' : 'no'}`,
          }
        : {}),
    });
    return rows;
  },
};
