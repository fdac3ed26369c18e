/**
 * W1/W2 (docs/performance.md, WebSocket delivery, broadcast): N sockets subscribe to one topic through the URL shortcut,
 * spread over client processes; a kafkajs producer writes R records/s stamped with their send time; every socket
 * measures produce → receipt. Reports frames/s, p50/p99, lost frames, dropped sockets, and CPU and RSS per process.
 *
 *   npm run bench -- --scenarios W1,W2 [--w1-sockets 10000 --w1-rate 10 --w2-sockets 100 --w2-rate 1000 --ws-clients 2]
 */
import { ensureOpenFiles, WsClients } from '../lib/ws-clients.js';
import { processTree } from '../lib/proc.js';
import { med } from './common.js';
import type { BenchContext, RoundResult, Row, Scenario } from './types.js';
import { measureWindow, PacedProducer, useAppendTime, windowMeasured, wsBase } from './ws-common.js';

/** One client process per this many sockets (one Node process keeps up with a few thousand busy sockets). */
const SOCKETS_PER_CLIENT = 5000;

function broadcast(id: 'W1' | 'W2', sockets: number, rate: number): Scenario {
  const topic = `bench-${id.toLowerCase()}`;
  const key = id.toLowerCase();
  return {
    id,
    title: `broadcast: ${sockets.toLocaleString('en')} sockets, topic at ${rate.toLocaleString('en')} records/s`,
    topics: { [topic]: 3 },
    async round(ctx: BenchContext): Promise<RoundResult> {
      const n = ctx.param(`${key}-sockets`, sockets);
      const r = ctx.param(`${key}-rate`, rate);
      const processes = ctx.param('ws-clients', Math.ceil(n / SOCKETS_PER_CLIENT));
      // Every gateway process (WORKERS > 1: the workers hold the sockets; the cluster spreads them evenly).
      if (ctx.pids.gateway !== undefined)
        for (const pid of processTree(ctx.pids.gateway)) ensureOpenFiles(pid, n + 2048, ctx.log);
      await useAppendTime(ctx.brokers, topic);
      const url = `${wsBase(ctx)}/ws?topic=${encodeURIComponent(topic)}&format=string`;
      const clients = await WsClients.start({ url, mode: 'latency', connectConcurrency: 200 }, n, processes, ctx.log);
      const producer = new PacedProducer(ctx.brokers, topic, r, 100);
      try {
        await producer.start();
        await new Promise((res) => setTimeout(res, ctx.warmupS * 1000));
        const w = await measureWindow(ctx, clients, producer, ctx.durationS, n);
        ctx.log(
          `  ${id}: ${w.report.frames.toLocaleString('en')}/${w.expected.toLocaleString('en')} frames, p50 ${w.report.latency.percentile(50).toFixed(1)} ms, ` +
            `p99 ${w.report.latency.percentile(99).toFixed(1)} ms (from broker append: p99 ${w.report.appendLatency.percentile(99).toFixed(1)} ms), dropped ${w.report.dropped}, ` +
            `CPU gateway ${w.usage.cpuPct.gateway?.toFixed(0)}% clients ${w.usage.cpuPct.clients?.toFixed(0)}% broker ${w.usage.cpuPct.broker?.toFixed(0)}% producer ${w.usage.cpuPct.producer?.toFixed(0)}% machine ${w.usage.cpuPct.machine?.toFixed(0)}%, ` +
            `RSS ${w.rss.startMb.toFixed(0)}→${w.rss.endMb.toFixed(0)} MiB, ${w.produced} records in ${w.sends} sends`,
        );
        return {
          gateway: windowMeasured(w, {
            sockets: n,
            ratePerS: r,
            clientProcesses: processes,
            connectS: clients.connectS,
          }),
        };
      } finally {
        await producer.stop().catch(() => {});
        await clients.stop().catch(() => clients.kill());
      }
    },
    summarize(rounds): Row[] {
      const g = (pick: Parameters<typeof med>[2]) => med(rounds, 'gateway', pick);
      const fps = g((m) => m.recordsPerS);
      const p50 = g((m) => m.latencyMs?.p50);
      const p99 = g((m) => m.latencyMs?.p99);
      const lost = g((m) => m.extra?.framesLost);
      const appendP50 = g((m) => m.extra?.appendP50Ms);
      const appendP99 = g((m) => m.extra?.appendP99Ms);
      const dropped = g((m) => m.extra?.socketsDropped);
      const rss = g((m) => m.rssMaxMb?.gateway);
      const rssStart = g((m) => m.extra?.rssStartMb);
      const rssEnd = g((m) => m.extra?.rssEndMb);
      const cpu = g((m) => m.cpuPct?.gateway);
      const cpuClients = g((m) => m.cpuPct?.clients);
      const cpuBroker = g((m) => m.cpuPct?.broker);
      const cpuMachine = g((m) => m.cpuPct?.machine);
      const n = g((m) => m.extra?.sockets) ?? sockets;
      const r = g((m) => m.extra?.ratePerS) ?? rate;
      const v = <T extends number | undefined>(x: T) => (x === undefined ? {} : { gateway: x });
      return [
        {
          id,
          metric: `frames/s delivered (${n.toLocaleString('en')} sockets × ${r.toLocaleString('en')} rec/s)`,
          unit: 'frames/s',
          ...v(fps),
          target: `${(n * r).toLocaleString('en')}/s`,
        },
        { id, metric: 'produce → socket p50', unit: 'ms', ...v(p50), target: 'report' },
        {
          id,
          metric: 'produce → socket p99',
          unit: 'ms',
          ...v(p99),
          target: '≤ 100 ms',
          ...(p99 !== undefined ? { ok: p99 <= 100 } : {}),
        },
        {
          id,
          metric: 'broker append → socket p50 / p99 (LogAppendTime, whole ms)',
          unit: 'ms',
          ...v(appendP99),
          target: 'context',
          ...(appendP50 !== undefined ? { note: `p50 ${appendP50.toFixed(1)} ms` } : {}),
        },
        {
          id,
          metric: 'frames lost or later than 10 s',
          unit: 'frames',
          ...v(lost),
          target: '0',
          ...(lost !== undefined ? { ok: lost === 0 } : {}),
        },
        {
          id,
          metric: 'sockets dropped',
          unit: 'sockets',
          ...v(dropped),
          target: '0',
          ...(dropped !== undefined ? { ok: dropped === 0 } : {}),
        },
        {
          id,
          metric: 'gateway RSS: peak (start → end of the window)',
          unit: 'MiB',
          ...v(rss),
          target: 'report',
          ...(rssStart !== undefined && rssEnd !== undefined
            ? { note: `${rssStart.toFixed(0)} → ${rssEnd.toFixed(0)} MiB` }
            : {}),
        },
        {
          id,
          metric: 'CPU: gateway (all its processes)',
          unit: '% of a core',
          ...v(cpu),
          target: 'report',
          note: [
            cpuClients !== undefined ? `clients ${cpuClients.toFixed(0)}%` : '',
            cpuBroker !== undefined ? `broker ${cpuBroker.toFixed(0)}%` : '',
            cpuMachine !== undefined ? `whole machine ${cpuMachine.toFixed(0)}% of 200%` : '',
          ]
            .filter(Boolean)
            .join(', '),
        },
      ];
    },
  };
}

export const W1 = broadcast('W1', 10_000, 10);
export const W2 = broadcast('W2', 100, 1000);
