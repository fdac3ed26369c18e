/**
 * `npm run load -- <scenario>` — one scenario, one round, printed. The same scenario modules as `npm run bench`
 * (autocannon for HTTP, a small `ws` client for WebSocket), for a quick look or against a gateway you run.
 *
 *   npm run load -- P1                              start a broker + gateway here, run P1 and its baseline
 *   npm run load -- P3 --duration 20 --no-baseline
 *   npm run load -- P1 --url http://127.0.0.1:8080 --brokers 127.0.0.1:9092
 *                                                   an existing gateway (AUTH_MODE=none); --brokers creates the
 *                                                   bench-* topics and enables the baseline / WS producer
 *   npm run load -- W2 [--sockets 100 --rate 1000]  WebSocket broadcast (needs the WebSocket side)
 */
import { runOnSupportedNode } from '../scripts/node-runtime.mjs';
import { parseArgs } from './lib/args.js';
import { createTopics, startBroker, startGatewayProcess } from './lib/env.js';
import { markdownTable } from './lib/report.js';
import { scenarios } from './scenarios/index.js';
import type { BenchContext } from './scenarios/types.js';

// On an end-of-life `node` (20 here) this re-runs itself on Node 24 from npm: the gateway it measures then runs
// on a supported runtime too (it is started with this process's Node). docs/runtime.md.
await runOnSupportedNode(import.meta.url, 'load', ['--import', 'tsx']);

const args = parseArgs(process.argv.slice(2));
const id = (args.positional[0] ?? '').toUpperCase();
const registry = scenarios({ p5Records: args.num('p5-records', 1_000_000) });
const log = (msg: string): void => void process.stderr.write(`[load] ${msg}\n`);

async function main(): Promise<void> {
  const scenario = registry.get(id);
  if (!scenario) {
    process.stderr.write(
      `usage: npm run load -- <${[...registry.keys()].join('|')}> [--duration s] [--url u --brokers b] [--no-baseline]\n`,
    );
    process.exit(2);
  }
  const external = args.str('url', '');
  const cleanup: (() => Promise<void>)[] = [];
  process.once('SIGINT', () => void Promise.all(cleanup.map((f) => f())).then(() => process.exit(130)));
  try {
    let brokers = args.str('brokers', '');
    let gatewayUrl = external;
    const pids: BenchContext['pids'] = {};
    if (!external) {
      const kafka = await startBroker();
      cleanup.push(() => kafka.stop());
      brokers = kafka.bootstrap.PLAINTEXT;
      if (kafka.nodes[0]?.pid) pids.broker = kafka.nodes[0].pid;
    }
    if (brokers && scenario.topics) await createTopics(brokers, scenario.topics);
    if (!external) {
      const gw = await startGatewayProcess({ brokers, tsx: args.bool('tsx') });
      cleanup.unshift(() => gw.stop());
      gatewayUrl = gw.url;
      pids.gateway = gw.pid;
    }
    const ctx: BenchContext = {
      brokers,
      gatewayUrl,
      pids,
      durationS: args.num('duration', 20),
      warmupS: args.num('warmup', 2),
      gatewayFirst: true,
      baseline: Boolean(brokers) && !args.bool('no-baseline'),
      round: 1,
      param: (name, def) => args.num(name, def),
      option: (name, def) => args.str(name, def),
      log,
    };
    log(
      `${scenario.id}: ${scenario.title}; ${ctx.durationS} s against ${gatewayUrl}${ctx.baseline ? ', with baseline' : ''}`,
    );
    const result = await scenario.round(ctx);
    process.stdout.write(
      `${markdownTable(scenario.summarize([result], new Map([[scenario.id, [result]]])))}\n\n${JSON.stringify(result, null, 2)}\n`,
    );
  } finally {
    for (const f of cleanup) await f().catch(() => {});
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`load failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
