/**
 * Where a C1 loop's time goes (docs/performance.md, "HTTP consumers"): one broker, a prefilled 3-partition topic, two
 * gateway replicas (PEER_URLS at each other), three instances in one group created directly on known replicas, then
 * the C1 loop (`GET records` 1 MiB, `POST offsets` per batch) run over the same records three ways:
 *   idle      — no loop: 100 commits one after the other on one instance, straight to its replica and through
 *               the other one, nothing else running (what a commit costs without load),
 *   reseek    — after a loop: each instance goes back to the beginning, and its first `GET records` is timed,
 *   direct    — each call straight to the replica that holds its instance (no balancer, no forwarding),
 *   forwarded — each call to the other replica (always forwarded to the holder),
 *   balancer  — through a round-robin balancer as C1 does (half forwarded),
 * each with the client in this process. Per call it records time to the answer's head, to its last byte, JSON.parse,
 * and the commit; per mode the records/s and the CPU seconds of each process.
 *
 *   npx tsx load/probe-c1.ts [records=200000] [modes=idle,direct,forwarded,balancer]
 *   PROBE_CPU_PROF=/tmp/c1-prof npx tsx load/probe-c1.ts ...   # a V8 CPU profile of each replica (load/profile-summary.ts)
 *   PROBE_GATEWAY_ENV=KAFKA_CONSUMER_MAX_WAIT_MS=50 npx tsx load/probe-c1.ts ...   # settings for both replicas
 *   PROBE_NO_BUILD=1 npx tsx load/probe-c1.ts ...   # run load/.build as it is (e.g. another commit's build)
 *   PROBE_BROKER_PROPS=group.coordinator.append.linger.ms=0 npx tsx load/probe-c1.ts ...   # broker settings
 */
import { onePartitionEach } from '../test/helpers/consumers.js';
import { roundRobinProxy } from '../test/helpers/replicas.js';
import { keyValues } from './lib/args.js';
import { portsToListenOnLater } from '../test/helpers/ports.js';
import { createTopics, startBroker, startGatewayProcess } from './lib/env.js';
import { cpuSeconds } from './lib/proc.js';
import { prefill } from './scenarios/ws-common.js';

const TOPIC = 'probe-c1';
const V2 = 'application/vnd.kafka.v2+json';
const BINARY = 'application/vnd.kafka.binary.v2+json';
const RECORDS = Number(process.argv[2] ?? 200_000);
const MODES = (process.argv[3] ?? 'idle,direct,forwarded,balancer').split(',');
const log = (m: string) => process.stderr.write(`[probe] ${m}\n`);

async function api(base: string, method: string, p: string, body?: unknown, accept = V2) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { accept, ...(body === undefined ? {} : { 'content-type': V2 }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

const q = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * f))] ?? 0;
};
const fmt = (xs: number[]) =>
  `mean ${(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1)} p50 ${q(xs, 0.5).toFixed(0)} p90 ${q(xs, 0.9).toFixed(0)} max ${q(xs, 1).toFixed(0)}`;

async function main() {
  const kafka = await startBroker(keyValues(process.env.PROBE_BROKER_PROPS ?? '', 'PROBE_BROKER_PROPS'));
  const brokers = kafka.bootstrap.PLAINTEXT!;
  const stops: (() => Promise<void>)[] = [() => kafka.stop()];
  try {
    await createTopics(brokers, { [TOPIC]: 3 });
    const expect = await prefill(brokers, TOPIC, RECORDS, 100, log);
    const total = Object.values(expect).reduce((a, [lo, hi]) => a + hi - lo, 0);
    const ports = await portsToListenOnLater(2); // distinct, named in each other's PEER_URLS
    const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
    const replicas = await Promise.all(
      ports.map((port) =>
        startGatewayProcess({
          brokers,
          port,
          // Both replicas share one build (buildGateway runs once per process), or run load/.build as it is.
          noBuild: process.env.PROBE_NO_BUILD === '1',
          ...(process.env.PROBE_CPU_PROF ? { cpuProfDir: process.env.PROBE_CPU_PROF } : {}),
          env: {
            PEER_URLS: peers,
            PEER_SECRET: 'probe-c1-peer-secret-of-at-least-32-bytes',
            LOG_LEVEL: 'warn',
            ...keyValues(process.env.PROBE_GATEWAY_ENV ?? '', 'PROBE_GATEWAY_ENV'),
          },
        }),
      ),
    );
    for (const r of replicas) stops.push(() => r.stop());
    const proxy = await roundRobinProxy(replicas.map((r) => r.url));
    stops.push(() => proxy.close());
    const group = `probe-c1-${Date.now()}`;
    // Instance i lives on replica holder[i]: two on the first, one on the second (as C1's balancer spreads them).
    const holder = [0, 1, 0];
    const names = ['c0', 'c1', 'c2'];
    for (const [i, n] of names.entries())
      await api(replicas[holder[i]!]!.url, 'POST', `/consumers/${group}`, {
        name: n,
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'auto.commit.enable': 'false',
      });
    const base = (n: string) => `/consumers/${group}/instances/${n}`;
    for (const [i, n] of names.entries())
      await api(replicas[holder[i]!]!.url, 'POST', `${base(n)}/subscription`, { topics: [TOPIC] });
    let owned: { topic: string; partition: number }[][] = [];
    for (const deadline = Date.now() + 60_000; ; ) {
      owned = await Promise.all(
        names.map(
          async (n, i) =>
            ((await api(replicas[holder[i]!]!.url, 'GET', `${base(n)}/assignments`)) as { partitions: [] }).partitions,
        ),
      );
      if (onePartitionEach(owned)) break;
      if (Date.now() > deadline) throw new Error(`the group did not settle: ${JSON.stringify(owned)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    for (const mode of MODES) {
      if (mode === 'idle') {
        const tp = owned[0]![0]!;
        for (const [how, url] of [
          ['to the holder', replicas[holder[0]!]!.url],
          ['forwarded', replicas[1 - holder[0]!]!.url],
        ] as const) {
          const took: number[] = [];
          for (let i = 0; i < 100; i++) {
            const a = performance.now();
            await api(url, 'POST', `${base(names[0]!)}/offsets`, { offsets: [{ ...tp, offset: i }] });
            took.push(performance.now() - a);
          }
          log(`idle: 100 commits one after the other, ${how}: ${fmt(took)} ms (p10 ${q(took, 0.1).toFixed(1)})`);
        }
        continue;
      }
      if (mode === 'reseek') {
        // After a pass the readers wait at the log's end (a fetch held up to KAFKA_CONSUMER_MAX_WAIT_MS): how long
        // does the first `GET records` after going back to the beginning take?
        for (const [i, n] of names.entries()) {
          const url = replicas[holder[i]!]!.url;
          await api(url, 'POST', `${base(n)}/positions/beginning`, { partitions: owned[i] });
          const a = performance.now();
          const recs = (await api(
            url,
            'GET',
            `${base(n)}/records?timeout=2000&max_bytes=1048576`,
            undefined,
            BINARY,
          )) as [];
          log(
            `reseek: ${n}: the first GET after positions/beginning took ${(performance.now() - a).toFixed(0)} ms (${recs.length} records)`,
          );
        }
        continue;
      }
      const target = (i: number) =>
        mode === 'direct'
          ? replicas[holder[i]!]!.url
          : mode === 'forwarded'
            ? replicas[1 - holder[i]!]!.url
            : proxy.url;
      await Promise.all(
        names.map((n, i) =>
          api(replicas[holder[i]!]!.url, 'POST', `${base(n)}/positions/beginning`, { partitions: owned[i] }),
        ),
      );
      const head: number[] = [];
      const body: number[] = [];
      const parse: number[] = [];
      const commit: number[] = [];
      const sizes: number[] = [];
      const seen = new Set<string>();
      let lastAt = 0;
      const cpu0 = { probe: process.cpuUsage(), r0: cpuSeconds(replicas[0]!.pid), r1: cpuSeconds(replicas[1]!.pid) };
      const broker0 = kafka.nodes[0]?.pid ? cpuSeconds(kafka.nodes[0].pid) : Number.NaN;
      const t0 = performance.now();
      await Promise.all(
        names.map(async (n, i) => {
          while (seen.size < total && performance.now() - t0 < 120_000) {
            const a = performance.now();
            const res = await fetch(`${target(i)}${base(n)}/records?timeout=1000&max_bytes=1048576`, {
              headers: { accept: BINARY },
            });
            const b = performance.now();
            const text = await res.text();
            const c = performance.now();
            const recs = JSON.parse(text) as { partition: number; offset: number }[];
            const d = performance.now();
            if (res.status !== 200) throw new Error(`records: ${res.status} ${text.slice(0, 200)}`);
            if (recs.length === 0) {
              continue;
            }
            head.push(b - a);
            body.push(c - b);
            parse.push(d - c);
            sizes.push(recs.length);
            for (const r of recs) {
              const k = `${r.partition}:${r.offset}`;
              if (!seen.has(k)) {
                seen.add(k);
                lastAt = performance.now();
              }
            }
            const e = performance.now();
            await api(target(i), 'POST', `${base(n)}/offsets`);
            commit.push(performance.now() - e);
          }
        }),
      );
      const s = (lastAt - t0) / 1000;
      const pc = process.cpuUsage(cpu0.probe);
      log(
        `${mode}: ${seen.size} records in ${s.toFixed(2)} s = ${(seen.size / s).toFixed(0)} rec/s; ${head.length} calls of ${fmt(sizes)} records`,
      );
      log(`  head ${fmt(head)} ms | body ${fmt(body)} ms | parse ${fmt(parse)} ms | commit ${fmt(commit)} ms`);
      log(
        `  CPU s: probe ${((pc.user + pc.system) / 1e6).toFixed(2)}, replica0 ${(cpuSeconds(replicas[0]!.pid) - cpu0.r0).toFixed(2)}, replica1 ${(cpuSeconds(replicas[1]!.pid) - cpu0.r1).toFixed(2)}, broker ${(kafka.nodes[0]?.pid ? cpuSeconds(kafka.nodes[0].pid) - broker0 : Number.NaN).toFixed(2)}`,
      );
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

await main();
