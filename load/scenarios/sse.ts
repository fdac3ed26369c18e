/**
 * C2 (docs/performance.md): N Server-Sent Event streams on one topic (`GET /sse?topic=`, every
 * partition, from latest), opened from this process over plain node:http; a kafkajs producer writes R records/s
 * stamped with their send time; every stream measures produce → event. Reports events/s, p50/p99, events lost,
 * streams dropped, and CPU and RSS of the gateway and the broker.
 *
 *   npm run load -- C2 [--c2-streams 1000 --c2-rate 10]
 * (streams from latest share the topic's one reader in the gateway; SSE_MAX_STREAMS, default 2000, bounds them.)
 */
import http from 'node:http';
import { Histogram } from '../lib/histogram.js';
import { watchProcesses } from '../lib/proc.js';
import { med } from './common.js';
import type { BenchContext, RoundResult, Row, Scenario } from './types.js';
import { epochNow, PacedProducer } from './ws-common.js';

const TOPIC = 'bench-c2';
/** Streams opened at once (each joins a private Kafka group before its first byte). */
const CONNECT_CONCURRENCY = 20;

interface Stream {
  events: number;
  subscribed: boolean;
  dropped: boolean;
  req: http.ClientRequest;
}

/** Records stamped inside [from, until) are the window's; each must reach every stream. */
interface Window {
  from: number;
  until: number;
}

function openStream(url: string, latency: Histogram, window: Window): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const s = { events: 0, subscribed: false, dropped: false } as Stream;
    s.req = http.get(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`stream refused: ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const now = epochNow();
        buf += chunk;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.includes('event: subscribed')) {
            s.subscribed = true;
            resolve(s);
          } else if (block.includes('event: record')) {
            // The record's value is the producer's stamp: {"t":<epoch ms>,...}, as a JSON value inside `data`.
            const m = /"value":\{"t":([\d.]+)/.exec(block);
            const t = m ? Number(m[1]) : Number.NaN;
            if (t >= window.from && t < window.until) {
              s.events++;
              latency.record(now - t);
            }
          }
          i = buf.indexOf('\n\n');
        }
      });
      res.on('close', () => {
        s.dropped = true;
      });
    });
    s.req.on('error', (e) => {
      s.dropped = true;
      reject(e);
    });
  });
}

function c2(streams: number, rate: number): Scenario {
  return {
    id: 'C2',
    title: `SSE: ${streams.toLocaleString('en')} streams, topic at ${rate} records/s`,
    topics: { [TOPIC]: 3 },
    async round(ctx: BenchContext): Promise<RoundResult> {
      const n = ctx.param('c2-streams', streams);
      const r = ctx.param('c2-rate', rate);
      const latency = new Histogram();
      const window: Window = { from: Number.POSITIVE_INFINITY, until: Number.POSITIVE_INFINITY };
      const url = `${ctx.gatewayUrl}/sse?topic=${TOPIC}&format=json`;
      const open: Stream[] = [];
      const t0 = performance.now();
      try {
        for (let i = 0; i < n; i += CONNECT_CONCURRENCY)
          open.push(
            ...(await Promise.all(
              Array.from({ length: Math.min(CONNECT_CONCURRENCY, n - i) }, () => openStream(url, latency, window)),
            )),
          );
        const connectS = (performance.now() - t0) / 1000;
        ctx.log(`  C2: ${n} streams open in ${connectS.toFixed(1)} s`);
        const producer = new PacedProducer(ctx.brokers, TOPIC, r, 100);
        await producer.start();
        try {
          await new Promise((res) => setTimeout(res, ctx.warmupS * 1000));
          const usage = watchProcesses({ gateway: ctx.pids.gateway, broker: ctx.pids.broker });
          const from = epochNow();
          window.from = from;
          await new Promise((res) => setTimeout(res, ctx.durationS * 1000));
          const until = epochNow();
          window.until = until;
          // Records of the window still in flight at its end have 5 s more to arrive, or they count as lost.
          await new Promise((res) => setTimeout(res, 5000));
          const u = usage.stop();
          const expected = producer.countBetween(from, until) * n;
          const events = open.reduce((a, s) => a + s.events, 0);
          const dropped = open.filter((s) => s.dropped).length;
          const lat = latency.summary();
          ctx.log(
            `  C2: ${events}/${expected} events, p50 ${latency.percentile(50).toFixed(1)} ms, p99 ${latency.percentile(99).toFixed(1)} ms, ` +
              `dropped ${dropped}, CPU gateway ${u.cpuPct.gateway?.toFixed(0)}% broker ${u.cpuPct.broker?.toFixed(0)}%, RSS gateway ${u.rssMaxMb.gateway?.toFixed(0)} MiB`,
          );
          return {
            gateway: {
              durationS: ctx.durationS,
              records: events,
              recordsPerS: events / ctx.durationS,
              latencyMs: lat,
              errors: Math.max(0, expected - events),
              cpuPct: u.cpuPct,
              rssMaxMb: u.rssMaxMb,
              extra: { streams: n, ratePerS: r, connectS, streamsDropped: dropped, eventsExpected: expected },
            },
          };
        } finally {
          await producer.stop().catch(() => {});
        }
      } finally {
        for (const s of open) s.req.destroy();
      }
    },
    summarize(rounds): Row[] {
      const g = (pick: Parameters<typeof med>[2]) => med(rounds, 'gateway', pick);
      const eps = g((m) => m.recordsPerS);
      const p50 = g((m) => m.latencyMs?.p50);
      const p99 = g((m) => m.latencyMs?.p99);
      const lost = g((m) => m.errors);
      const n = g((m) => m.extra?.streams) ?? streams;
      const r = g((m) => m.extra?.ratePerS) ?? rate;
      const cpu = g((m) => m.cpuPct?.gateway);
      const rss = g((m) => m.rssMaxMb?.gateway);
      const v = <T extends number | undefined>(x: T) => (x === undefined ? {} : { gateway: x });
      return [
        {
          id: 'C2',
          metric: `events/s delivered (${n.toLocaleString('en')} streams × ${r} rec/s)`,
          unit: 'events/s',
          ...v(eps),
          target: `${(n * r).toLocaleString('en')}/s`,
        },
        { id: 'C2', metric: 'produce → event p50', unit: 'ms', ...v(p50), target: 'report' },
        {
          id: 'C2',
          metric: 'produce → event p99',
          unit: 'ms',
          ...v(p99),
          target: '≤ 100 ms',
          ...(p99 !== undefined ? { ok: p99 <= 100 } : {}),
        },
        {
          id: 'C2',
          metric: 'events lost or later than 5 s',
          unit: 'events',
          ...v(lost),
          target: '0',
          ...(lost !== undefined ? { ok: lost === 0 } : {}),
        },
        { id: 'C2', metric: 'CPU: gateway process', unit: '% of a core', ...v(cpu), target: 'report' },
        { id: 'C2', metric: 'gateway RSS peak', unit: 'MiB', ...v(rss), target: 'report' },
      ];
    },
  };
}

export const C2 = c2(1000, 10);
