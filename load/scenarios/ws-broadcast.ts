/**
 * W1/W2 (BENCHMARKS.md "WebSocket delivery", broadcast). Not in the default bench list until the WebSocket side
 * lands; run them with `npm run load -- W2` or `npm run bench -- --scenarios W1,W2`. Flags: --sockets, --rate.
 */
import { wsBroadcast } from '../lib/ws-load.js';
import { watchProcesses } from '../lib/proc.js';
import type { BenchContext, Row, Scenario } from './types.js';
import { med } from './common.js';

function broadcast(id: string, sockets: number, rate: number): Scenario {
  const topic = `bench-${id.toLowerCase()}`;
  return {
    id,
    title: `broadcast: ${sockets.toLocaleString('en')} sockets, topic at ${rate.toLocaleString('en')} records/s`,
    topics: { [topic]: 3 },
    async round(ctx: BenchContext) {
      const watch = watchProcesses({ gateway: ctx.pids.gateway, broker: ctx.pids.broker, loadgen: process.pid });
      const r = await wsBroadcast({
        gatewayUrl: ctx.gatewayUrl,
        brokers: ctx.brokers,
        topic,
        sockets: ctx.param('sockets', sockets),
        ratePerS: ctx.param('rate', rate),
        durationS: ctx.durationS,
        log: ctx.log,
      });
      const usage = watch.stop();
      return {
        gateway: {
          durationS: ctx.durationS,
          records: r.framesReceived,
          recordsPerS: r.framesPerS,
          latencyMs: r.latencyMs,
          errors: r.socketsDropped + (r.framesExpected - r.framesReceived),
          cpuPct: usage.cpuPct,
          rssMaxMb: usage.rssMaxMb,
          extra: { socketsOpen: r.socketsOpen, socketsDropped: r.socketsDropped, framesExpected: r.framesExpected, connectS: r.connectS },
        },
      };
    },
    summarize(rounds): Row[] {
      const p99 = med(rounds, 'gateway', (m) => m.latencyMs?.p99);
      const fps = med(rounds, 'gateway', (m) => m.recordsPerS);
      const dropped = med(rounds, 'gateway', (m) => m.extra?.socketsDropped);
      const rss = med(rounds, 'gateway', (m) => m.rssMaxMb?.gateway);
      return [
        { id, metric: 'frames/s delivered', unit: 'frames/s', ...(fps !== undefined ? { gateway: fps } : {}), target: `${(sockets * rate).toLocaleString('en')}/s` },
        { id, metric: 'produce → socket p99', unit: 'ms', ...(p99 !== undefined ? { gateway: p99, ok: p99 <= 100 } : {}), target: '≤ 100 ms' },
        { id, metric: 'sockets dropped', unit: 'sockets', ...(dropped !== undefined ? { gateway: dropped, ok: dropped === 0 } : {}), target: '0' },
        { id, metric: 'gateway peak RSS', unit: 'MiB', ...(rss !== undefined ? { gateway: rss } : {}), target: 'report' },
      ];
    },
  };
}

export const W1 = broadcast('W1', 10_000, 10);
export const W2 = broadcast('W2', 100, 1000);
