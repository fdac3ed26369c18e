/**
 * A soak of the v2 consumer API from any replica, with churn: three gateways (the bundle as it ships) behind the
 * tests' non-sticky round-robin balancer, one group of several HTTP clients on a topic of six partitions, records
 * produced through the balancer all along, and for the whole run:
 *   - clients that delete their instance and make a new one, or walk away from it (it expires);
 *   - a replica stopped and started again every few seconds, alternately SIGTERM (graceful) and SIGKILL.
 * Each client follows docs/consuming-over-http.md: after a call cut without an answer it goes back to the committed
 * offsets; on 40403 it makes a new instance.
 *
 * What it checks, and prints (exit code 1 on any violation):
 *   - every acknowledged produce is in Kafka, at the partition and offset the answer named;
 *   - every record in Kafka was read by some client (at least once);
 *   - no record is read again after a commit of its partition past it was answered 200 before the read was asked;
 *   - no answer other than those the docs name (200/204, 40403 for a lost instance, 409 40903 for a commit the
 *     group no longer holds, 503 from a replica shutting down) reaches a client.
 * Duplicates (read, not committed, then read again by the partition's next owner) are counted, not failed.
 *
 *   npx tsx load/soak-consumers.ts [--minutes 5] [--clients 4] [--partitions 6] [--restart-every-s 20] [--seed 1]
 *   (wrap in `flock /tmp/kgw-bench.lock` on a shared machine)
 */
import { parseArgs } from './lib/args.js';
import { BUILD_DIR, buildGateway, createTopics, gatewayEntry, startBroker } from './lib/env.js';
import { type Answer, request } from '../test/helpers/consumers.js';
import { portsToListenOnLater } from '../test/helpers/ports.js';
import { type Replica, roundRobinProxy, spawnReplica } from '../test/helpers/replicas.js';
import { readAll as readTopic } from '../test/helpers/kafka.js';

const args = parseArgs(process.argv.slice(2));
const MINUTES = args.num('minutes', 5);
const CLIENTS = args.num('clients', 4);
const PARTITIONS = args.num('partitions', 6);
const RESTART_EVERY_S = args.num('restart-every-s', 20);
let seed = args.num('seed', 1);
/** A small seeded PRNG, so a failing run can be told apart from the next (timings still differ). */
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const TOPIC = 'soak-consumers';
const GROUP = `soak-${Date.now()}`;
const BINARY = 'application/vnd.kafka.binary.v2+json';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';
const SECRET = 'soak-test-secret-of-at-least-32-bytes-long';
const log = (m: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 23)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Read {
  value: string;
  partition: number;
  offset: number;
  instance: string;
}

async function main() {
  if (!(await buildGateway())) throw new Error('build failed');
  const entry = gatewayEntry(BUILD_DIR);
  const kafka = await startBroker();
  const brokers = kafka.bootstrap.PLAINTEXT!;
  await createTopics(brokers, { [TOPIC]: PARTITIONS });
  const ports = await portsToListenOnLater(3);
  const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
  const env = (port: number) => ({
    KAFKA_BROKERS: brokers,
    AUTH_MODE: 'none',
    PORT: String(port),
    PEER_URLS: peers,
    PEER_SECRET: SECRET,
    KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: '300',
    KAFKA_CONSUMER_MAX_WAIT_MS: '100',
    CONSUMER_INSTANCE_TIMEOUT_MS: '4000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // Kept in memory (spawnReplica), printed for a partition left unread: assignment changes are logged at debug.
    LOG_LEVEL: 'debug',
  });
  const replicas: (Replica | undefined)[] = await Promise.all(ports.map((p) => spawnReplica(env(p), 60_000, entry)));
  /** Every replica process of the run, with its port's index (for the logs of one that was restarted). */
  const everyReplica = replicas.map((r, i) => ({ index: i, replica: r! }));
  const proxy = await roundRobinProxy(
    ports.map((p) => `http://127.0.0.1:${p}`),
    { retryAfterReset: false },
  );
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    request(proxy.url, method, path, body, headers);

  const acked = new Map<string, { partition: number; offset: number }>();
  const refusedProduce: string[] = [];
  const reads: Read[] = [];
  const committedUpTo = new Map<number, number>();
  /** Per partition, the commits answered 200 with the time of the answer. */
  const commitLog = new Map<number, { at: number; upTo: number }[]>();
  const violations: string[] = [];
  /** Where each violation sits in its partition's trace. */
  const violationAt: { partition: number; index: number }[] = [];
  const unexpected: string[] = [];
  const counts = { cut: 0, lost: 0, refusedCommit: 0, deleted: 0, abandoned: 0, restarts: 0, unavailable: 0 };
  let stop = false;
  let producing = true;
  /** Per partition, what happened to it (for a violation's printout): time, instance, event. */
  const trace = new Map<number, string[]>();
  const t00 = Date.now();
  const traced = (partition: number, what: string) => {
    const l = trace.get(partition) ?? [];
    l.push(`${((Date.now() - t00) / 1000).toFixed(3)} ${what}`);
    trace.set(partition, l);
  };

  const committedAt = (partition: number, t: number) =>
    Math.max(0, ...(commitLog.get(partition) ?? []).filter((c) => c.at <= t).map((c) => c.upTo));
  const note = (what: string, a: Answer) => {
    if (a.status === 503) counts.unavailable++;
    else unexpected.push(`${what}: ${a.status} ${a.text.slice(0, 200)}`);
  };

  async function producer() {
    let n = 0;
    while (producing) {
      const values = Array.from({ length: 5 }, () => `v${n++}`);
      const body = { records: values.map((value, i) => ({ key: `k${n + i}`, value })) };
      try {
        const a = await api('POST', `/topics/${TOPIC}`, body, { 'content-type': JSON_V2 });
        if (a.status === 200) {
          (a.body.offsets as { partition: number; offset: number; error_code?: number }[]).forEach((o, i) => {
            if (o.error_code == null) acked.set(`"${values[i]}"`, { partition: o.partition, offset: o.offset });
            else refusedProduce.push(`"${values[i]}"`);
          });
        } else if (a.status >= 500) for (const v of values) refusedProduce.push(`"${v}"`);
        else note('produce', a);
      } catch {
        // cut: unknown fate, not counted either way
      }
      await sleep(20);
    }
  }

  let generation = 0;
  async function newInstance(): Promise<string | undefined> {
    const name = `c${generation++}`;
    try {
      const c = await api('POST', `/consumers/${GROUP}`, {
        name,
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'auto.commit.enable': 'false',
      });
      if (c.status !== 200) {
        note('create', c);
        return undefined;
      }
      const s = await api('POST', `/consumers/${GROUP}/instances/${name}/subscription`, { topics: [TOPIC] });
      if (s.status !== 204) {
        if (s.status !== 404) note('subscribe', s);
        return undefined;
      }
      return name;
    } catch {
      return undefined;
    }
  }

  async function rewind(name: string) {
    counts.cut++;
    try {
      const a = await api('GET', `/consumers/${GROUP}/instances/${name}/assignments`);
      if (a.status !== 200) return;
      const offsets = (a.body.partitions as { partition: number }[]).map(({ partition }) => ({
        topic: TOPIC,
        partition,
        offset: committedUpTo.get(partition) ?? 0,
      }));
      for (const o of offsets) traced(o.partition, `${name} rewinds to ${o.offset}`);
      if (offsets.length > 0) {
        const p = await api('POST', `/consumers/${GROUP}/instances/${name}/positions`, { offsets });
        for (const o of offsets) traced(o.partition, `${name} rewound to ${o.offset}: ${p.status}`);
      }
    } catch {
      // the next call finds out
    }
  }

  /** Each client's instance now (for the printout of a partition left unread). */
  const current: (string | undefined)[] = [];
  async function client(slot: number) {
    let name: string | undefined;
    while (!stop) {
      current[slot] = name;
      if (!name) {
        name = await newInstance();
        if (!name) await sleep(100);
        continue;
      }
      // Churn, while records still come: leave properly, or walk away (the instance expires).
      if (producing && random() < 0.01) {
        counts.deleted++;
        await api('DELETE', `/consumers/${GROUP}/instances/${name}`).catch(() => undefined);
        name = undefined;
        continue;
      }
      if (producing && random() < 0.003) {
        counts.abandoned++;
        name = undefined;
        continue;
      }
      const asked = Date.now();
      let r: Answer;
      try {
        r = await api('GET', `/consumers/${GROUP}/instances/${name}/records?timeout=300&max_bytes=8192`, undefined, {
          accept: BINARY,
        });
      } catch {
        await rewind(name);
        continue;
      }
      if (r.status === 404 && r.body?.error_code === 40403) {
        counts.lost++;
        name = undefined;
        continue;
      }
      if (r.status !== 200) {
        note(`GET records (slot ${slot})`, r);
        await sleep(50);
        continue;
      }
      const batch = (r.body as { value: string; partition: number; offset: number }[]).map((x) => ({
        value: Buffer.from(x.value, 'base64').toString(),
        partition: x.partition,
        offset: x.offset,
        instance: name!,
      }));
      const ranges = new Map<number, [number, number]>();
      for (const x of batch) {
        const r = ranges.get(x.partition);
        ranges.set(x.partition, r ? [Math.min(r[0], x.offset), Math.max(r[1], x.offset)] : [x.offset, x.offset]);
      }
      for (const [p, [lo, hi]] of ranges)
        traced(p, `${name} GET (asked at ${((asked - t00) / 1000).toFixed(3)}) read ${lo}..${hi}`);
      for (const x of batch) {
        const c = committedAt(x.partition, asked);
        if (x.offset < c) {
          violationAt.push({ partition: x.partition, index: trace.get(x.partition)?.length ?? 0 });
          violations.push(`${x.value} p${x.partition}@${x.offset} read by ${name} after a commit up to ${c}`);
        }
        reads.push(x);
      }
      if (batch.length === 0) continue;
      const last = new Map<number, number>();
      for (const x of batch) last.set(x.partition, Math.max(last.get(x.partition) ?? -1, x.offset));
      const offsets = [...last].map(([partition, offset]) => ({ topic: TOPIC, partition, offset }));
      let c: Answer;
      try {
        c = await api('POST', `/consumers/${GROUP}/instances/${name}/offsets`, { offsets });
      } catch {
        await rewind(name);
        continue;
      }
      const at = Date.now();
      for (const o of offsets)
        traced(o.partition, `${name} commit ${o.offset + 1}: ${c.status} ${c.body?.error_code ?? ''}`);
      if (c.status === 200)
        for (const o of offsets) {
          committedUpTo.set(o.partition, Math.max(committedUpTo.get(o.partition) ?? 0, o.offset + 1));
          const l = commitLog.get(o.partition) ?? [];
          l.push({ at, upTo: o.offset + 1 });
          commitLog.set(o.partition, l);
        }
      else if (c.status === 404 && c.body?.error_code === 40403) {
        counts.lost++;
        name = undefined;
      } else if (c.status === 409 && c.body?.error_code === 40903) counts.refusedCommit++;
      else note('commit', c);
    }
  }

  async function chaos(until: number) {
    let i = 0;
    while (Date.now() < until) {
      await sleep(RESTART_EVERY_S * 1000 * (0.5 + random()));
      if (Date.now() >= until) break;
      const k = Math.floor(random() * replicas.length);
      const r = replicas[k]!;
      const kill = i++ % 2 === 1;
      log(`${kill ? 'SIGKILL' : 'SIGTERM'} replica ${k}`);
      await (kill ? r.kill() : r.stop());
      replicas[k] = undefined;
      await sleep(1000 + random() * 3000);
      replicas[k] = await spawnReplica(env(ports[k]!), 60_000, entry);
      everyReplica.push({ index: k, replica: replicas[k]! });
      counts.restarts++;
      log(`replica ${k} back`);
    }
  }

  const t0 = Date.now();
  const clients = Array.from({ length: CLIENTS }, (_, s) =>
    client(s).catch((e: unknown) => unexpected.push(`client ${s} threw: ${(e as Error).stack}`)),
  );
  const produced = producer();
  const progress = setInterval(
    () =>
      log(
        `${Math.round((Date.now() - t0) / 1000)} s: acked ${acked.size}, reads ${reads.length}, ` +
          `${JSON.stringify(counts)}, violations ${violations.length}, unexpected ${unexpected.length}`,
      ),
    15_000,
  );
  try {
    await chaos(t0 + MINUTES * 60_000);
    producing = false;
    await produced;
    log('producing stopped; draining');
    // Drain: every record in Kafka read by someone.
    const inKafka = await readTopic(brokers, TOPIC, acked.size, 60_000, { settleMs: 3000 });
    const wanted = new Set(inKafka.map((r) => r.value!.toString()));
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      const seen = new Set(reads.map((r) => r.value));
      if ([...wanted].every((v) => seen.has(v))) break;
      await sleep(500);
    }
    // A partition left unread: who holds what now, the partition's last events, and what the replicas logged.
    const seenNow = new Set(reads.map((r) => r.value));
    const stuck = [...new Set(inKafka.filter((r) => !seenNow.has(r.value!.toString())).map((r) => r.partition))];
    const diagnosis: Record<string, unknown> = {};
    if (stuck.length > 0) {
      diagnosis.holders = await Promise.all(
        current.map(async (n) =>
          n
            ? `${n}: ${(await api('GET', `/consumers/${GROUP}/instances/${n}/assignments`).catch(() => undefined))?.text}`
            : '(none)',
        ),
      );
      diagnosis.lastEvents = Object.fromEntries(stuck.map((p) => [p, (trace.get(p) ?? []).slice(-25)]));
      diagnosis.replicaLogs = everyReplica.flatMap(({ index, replica }) =>
        replica.logs
          .filter(
            (l) =>
              (l.level as number) >= 40 ||
              (l.msg === 'assignment changed' && JSON.stringify(l).includes(`"${TOPIC}/${stuck[0]}"`)),
          )
          .slice(-30)
          .map((l) => `replica ${index} (pid ${replica.child.pid}): ${JSON.stringify(l).slice(0, 400)}`),
      );
    }
    stop = true;
    await Promise.allSettled(clients);
    const byValue = new Map(inKafka.map((r) => [r.value!.toString(), r]));
    const lostAcks = [...acked].filter(([v, at]) => {
      const r = byValue.get(v);
      return !r || r.partition !== at.partition || Number(r.offset) !== at.offset;
    });
    const refusedButWritten = refusedProduce.filter((v) => byValue.has(v));
    const seen = new Set(reads.map((r) => r.value));
    const unread = inKafka.filter((r) => !seen.has(r.value!.toString())).map((r) => `p${r.partition}@${r.offset}`);
    const duplicates = reads.length - seen.size;
    console.log(
      JSON.stringify(
        {
          minutes: MINUTES,
          clients: CLIENTS,
          partitions: PARTITIONS,
          acked: acked.size,
          inKafka: inKafka.length,
          reads: reads.length,
          duplicates,
          ...counts,
          lostAcks: lostAcks.slice(0, 20),
          refusedButWritten: refusedButWritten.slice(0, 20),
          unread: unread.slice(0, 50),
          unreadCount: unread.length,
          violations: violations.slice(0, 50),
          traces: violationAt.slice(0, 3).map(({ partition, index }) => ({
            partition,
            around: (trace.get(partition) ?? []).slice(Math.max(0, index - 40), index + 10),
          })),
          violationCount: violations.length,
          unexpected: unexpected.slice(0, 30),
          ...diagnosis,
        },
        null,
        2,
      ),
    );
    const failed =
      lostAcks.length + refusedButWritten.length + unread.length + violations.length + unexpected.length > 0;
    process.exitCode = failed ? 1 : 0;
  } finally {
    clearInterval(progress);
    stop = true;
    producing = false;
    await proxy.close();
    await Promise.allSettled(replicas.map((r) => r?.stop()));
    await kafka.stop();
  }
}

await main();
