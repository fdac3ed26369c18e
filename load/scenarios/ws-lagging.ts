/**
 * W4b (docs/performance.md): a crowd of lagging sockets next to healthy ones, against the process-wide send budget
 * (WS_SEND_BUDGET_BYTES). Healthy broadcast sockets (URL shortcut) read a topic of `--w4-rate` records/s of 1 KB;
 *   A  healthy sockets only (reference p99 and RSS);
 *   B  plus `--w4b-lagging` sockets (their own client process) that subscribe and then never read: a share
 *      (`--w4b-assign-share`) in **assign** mode from the earliest offset of the prefilled backlog (each could hold
 *      its whole high water at once), the rest **broadcast** on the same topic. Over the budget the gateway holds
 *      the sockets that add bytes and, after WS_SLOW_CLIENT_MS, closes the largest with 4408 until it fits.
 * Reported: the gateway's RSS sampled through B against the budget the run set (`--gateway-env
 * WS_SEND_BUDGET_BYTES=…`; 256 MiB when unset), the healthy sockets' p99 in B vs A, and how many lagging sockets the
 * gateway still held at the end of B vs closed (4408 as the lagging clients read once they read again).
 *
 *   npm run bench -- --scenarios W4B --rounds 1 --gateway-env WS_SEND_BUDGET_BYTES=67108864
 *                    [--w4b-lagging 1000 --w4b-healthy 200 --w4b-assign-share 0.5 --w4b-seconds 30]
 */
import { scrapeSum } from '../lib/env.js';
import { median } from '../lib/stats.js';
import { ensureOpenFiles, rssSeries, WsClients } from '../lib/ws-clients.js';
import type { BenchContext, RoundResult, Row, Scenario } from './types.js';
import { measureWindow, PacedProducer, prefill, useAppendTime, wsBase, type BroadcastWindow } from './ws-common.js';

const TOPIC = 'bench-w4';
const PARTITIONS = 3;
const MiB = 1024 * 1024;
/** docs/configuration.md: WS_SEND_BUDGET_BYTES when the run does not set it. */
const DEFAULT_BUDGET_BYTES = 256 * MiB;
/** How long the lagging clients read after `resume`, to find the close frames behind what they had not read. */
const READ_CLOSES_MS = 5_000;

/** Subscriptions the gateway holds now, all modes (its /metrics gauge). */
function subscriptions(url: string): Promise<number> {
  return scrapeSum(url, 'kafka_gateway_ws_subscriptions');
}

export const W4B: Scenario = {
  id: 'W4B',
  title: 'a crowd of never-reading sockets (assign from a backlog and broadcast) next to healthy broadcast sockets',
  topics: { [TOPIC]: PARTITIONS },
  async round(ctx: BenchContext): Promise<RoundResult> {
    const healthyN = ctx.param('w4b-healthy', 200);
    const laggingN = ctx.param('w4b-lagging', 1000);
    const assignN = Math.round(laggingN * ctx.param('w4b-assign-share', 0.5));
    const broadcastN = laggingN - assignN;
    const seconds = ctx.param('w4b-seconds', 30);
    const budgetBytes = Number(ctx.gatewayEnv?.WS_SEND_BUDGET_BYTES ?? DEFAULT_BUDGET_BYTES);
    await prefill(ctx.brokers, TOPIC, ctx.param('w4-backlog', 30_000), 1000, ctx.log);
    await useAppendTime(ctx.brokers, TOPIC);
    if (ctx.pids.gateway !== undefined) ensureOpenFiles(ctx.pids.gateway, healthyN + laggingN + 4096, ctx.log);
    const base = wsBase(ctx);
    const healthy = await WsClients.start(
      { url: `${base}/ws?topic=${TOPIC}&format=string`, mode: 'latency', connectConcurrency: 200 },
      healthyN,
      1,
      ctx.log,
    );
    const producer = new PacedProducer(ctx.brokers, TOPIC, ctx.param('w4-rate', 10), ctx.param('w4-value-bytes', 1000));
    const lagging: WsClients[] = [];
    const say = (phase: string, w: BroadcastWindow) =>
      ctx.log(
        `  W4B ${phase}: healthy p50 ${w.report.latency.percentile(50).toFixed(1)} ms, p99 ${w.report.latency.percentile(99).toFixed(1)} ms, ` +
          `${w.report.frames}/${w.expected} frames, gateway RSS ${w.rss.startMb.toFixed(0)} → ${w.rss.endMb.toFixed(0)} MiB (peak ${w.rss.maxMb.toFixed(0)}), ` +
          `CPU gateway ${w.usage.cpuPct.gateway?.toFixed(0)}% machine ${w.usage.cpuPct.machine?.toFixed(0)}%`,
      );
    try {
      await producer.start();
      await new Promise((r) => setTimeout(r, ctx.warmupS * 1000));
      const a = await measureWindow(ctx, healthy, producer, ctx.durationS, healthyN);
      say('A (healthy only)', a);

      // RSS from before the lagging sockets open to the end of B, sampled every 500 ms.
      const rss = rssSeries(ctx.pids.gateway);
      const t0 = performance.now();
      const start = (n: number, frame: Record<string, unknown>) =>
        n > 0
          ? WsClients.start(
              { url: `${base}/ws`, mode: 'stall', connectConcurrency: 100, subscribe: [frame] },
              n,
              1,
              ctx.log,
            ).then((c) => void lagging.push(c))
          : Promise.resolve();
      await Promise.all([
        start(assignN, {
          type: 'subscribe',
          id: 'lag',
          mode: 'assign',
          partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })),
          from: 'earliest',
          format: 'base64',
        }),
        start(broadcastN, { type: 'subscribe', id: 'lag', mode: 'broadcast', topics: [TOPIC], format: 'string' }),
      ]);
      const openS = (performance.now() - t0) / 1000;
      ctx.log(
        `  W4B: ${laggingN} lagging sockets (${assignN} assign, ${broadcastN} broadcast) subscribed in ${openS.toFixed(1)} s`,
      );
      const b = await measureWindow(ctx, healthy, producer, seconds, healthyN);
      const series = rss.stop();
      const held = Math.max(0, (await subscriptions(ctx.gatewayUrl)) - healthyN);
      // Live memory at the end of B (RSS keeps pages the heap and malloc no longer use).
      const heapMb = (await scrapeSum(ctx.gatewayUrl, 'nodejs_heap_size_used_bytes').catch(() => Number.NaN)) / MiB;
      const externalMb =
        (await scrapeSum(ctx.gatewayUrl, 'nodejs_external_memory_bytes').catch(() => Number.NaN)) / MiB;
      ctx.log(
        `  W4B: at the end of B the gateway's heap holds ${heapMb.toFixed(0)} MiB, external memory ${externalMb.toFixed(0)} MiB`,
      );
      say(`B (+${laggingN} lagging, ${held} still held by the gateway at its end)`, b);
      // Every 5 s, for the log: does RSS level off?
      const every = series.samples.filter((_, i) => i % 10 === 0).map((x) => x.toFixed(0));
      ctx.log(
        `  W4B: gateway RSS every 5 s through B (MiB): ${every.join(', ')}; budget ${(budgetBytes / MiB).toFixed(0)} MiB`,
      );

      for (const c of lagging) c.resume();
      await new Promise((r) => setTimeout(r, READ_CLOSES_MS));
      const closes = (await Promise.all(lagging.map((c) => c.report()))).reduce<Record<string, number>>((acc, r) => {
        for (const [code, n] of Object.entries(r.closeCodes)) acc[code] = (acc[code] ?? 0) + n;
        return acc;
      }, {});
      ctx.log(`  W4B: close codes the lagging clients read once reading again: ${JSON.stringify(closes)}`);
      // RSS right before B, after the lagging sockets opened (their readers, sockets and subscriptions: no queued
      // bytes yet), the peak, and the end, against the budget.
      const before = series.samples[0] ?? Number.NaN;
      const tail = series.samples.slice(Math.floor(series.samples.length / 2));
      return {
        gateway: {
          durationS: b.durationS,
          records: b.report.frames,
          recordsPerS: b.report.frames / b.durationS,
          errors: 0,
        },
        values: {
          budgetMb: budgetBytes / MiB,
          laggingSockets: laggingN,
          assignLagging: assignN,
          broadcastLagging: broadcastN,
          openS,
          heldAtEnd: held,
          closedByGateway: laggingN - held,
          closed4408: closes['4408'] ?? 0,
          closedOther: Object.entries(closes).reduce((acc, [code, n]) => acc + (code === '4408' ? 0 : n), 0),
          p50A: a.report.latency.percentile(50),
          p99A: a.report.latency.percentile(99),
          p50B: b.report.latency.percentile(50),
          p99B: b.report.latency.percentile(99),
          lostA: Math.max(0, a.expected - a.report.frames),
          lostB: Math.max(0, b.expected - b.report.frames),
          droppedHealthy: b.report.dropped,
          rssEndAMb: a.rss.endMb,
          rssBeforeLaggingMb: before,
          rssPeakBMb: series.maxMb,
          rssEndBMb: series.endMb,
          /** Spread of the second half of B: flat means it stopped growing. */
          rssSecondHalfMinMb: Math.min(...tail),
          rssSecondHalfMaxMb: Math.max(...tail),
          heapEndBMb: heapMb,
          externalEndBMb: externalMb,
          cpuGatewayA: a.usage.cpuPct.gateway ?? Number.NaN,
          cpuGatewayB: b.usage.cpuPct.gateway ?? Number.NaN,
          cpuMachineB: b.usage.cpuPct.machine ?? Number.NaN,
        },
      };
    } finally {
      await producer.stop().catch(() => {});
      await Promise.all(lagging.map((c) => c.stop().catch(() => c.kill())));
      await healthy.stop().catch(() => healthy.kill());
    }
  },
  summarize(rounds): Row[] {
    const v = (k: string) => {
      const xs = rounds
        .map((r) => r.values?.[k])
        .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      return xs.length ? median(xs) : undefined;
    };
    const f = (x: number | undefined, d = 0) => (x === undefined ? '—' : x.toFixed(d));
    const budget = v('budgetMb');
    const before = v('rssBeforeLaggingMb');
    const peak = v('rssPeakBMb');
    const p99A = v('p99A');
    const p99B = v('p99B');
    const growth = peak !== undefined && before !== undefined ? peak - before : undefined;
    return [
      {
        id: 'W4B',
        metric: `gateway RSS peak − before, ${f(v('laggingSockets'))} lagging sockets (${f(v('assignLagging'))} assign, ${f(v('broadcastLagging'))} broadcast)`,
        unit: 'MiB',
        ...(growth !== undefined ? { gateway: growth } : {}),
        target: `≤ budget (${f(budget)} MiB) + a constant`,
        note: `before ${f(before)}, peak ${f(peak)}, end ${f(v('rssEndBMb'))} MiB; second half of B ${f(v('rssSecondHalfMinMb'))}–${f(v('rssSecondHalfMaxMb'))} MiB; at the end heap ${f(v('heapEndBMb'))}, external ${f(v('externalEndBMb'))} MiB`,
      },
      {
        id: 'W4B',
        metric: 'healthy p99 with the lagging crowd (B) vs without (A)',
        unit: 'ms',
        ...(p99B !== undefined ? { gateway: p99B } : {}),
        ...(p99A !== undefined ? { baseline: p99A } : {}),
        ...(p99A && p99B !== undefined ? { ratio: p99B / p99A } : {}),
        target: 'report',
        note: `p50 ${f(v('p50B'), 1)} vs ${f(v('p50A'), 1)} ms; healthy frames lost ${f(v('lostB'))}, healthy sockets dropped ${f(v('droppedHealthy'))}`,
      },
      {
        id: 'W4B',
        metric: 'lagging sockets held open vs closed by the gateway at the end of B',
        unit: 'sockets',
        ...(v('heldAtEnd') !== undefined ? { gateway: v('heldAtEnd') } : {}),
        target: 'report',
        note: `closed ${f(v('closedByGateway'))}; close codes read after B: 4408 × ${f(v('closed4408'))}, other × ${f(v('closedOther'))} (1006: dropped TOO_SLOW_CLOSE_MS after a 4408 its client never read)`,
      },
    ];
  },
};
