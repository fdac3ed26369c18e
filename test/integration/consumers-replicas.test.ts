// The v2 consumer API from any replica: three gateway processes behind a non-sticky round-robin balancer, whole
// consumer lifecycles driven through it. Every record produced is read at least once; no record is read again after
// its commit was confirmed; with no replica dying, exactly once. Then a replica is SIGKILLed mid-run: its callers get
// 40403, create a new instance and go on from the committed offsets; a call cut on its way through the dying replica
// goes back to the committed offsets (the client's part: docs/consuming-over-http.md); the duplicates (records read
// but not committed when it died) are counted and printed.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onePartitionEach, request } from '../helpers/consumers.js';
import { createTopic, deleteTopics, produce, readAll as readTopic, uniqueTopic } from '../helpers/kafka.js';
import { portsToListenOnLater } from '../helpers/ports.js';
import { type Replica, type RoundRobinProxy, roundRobinProxy, spawnReplicas } from '../helpers/replicas.js';

const brokers = inject('kafkaBrokers');
const topic = uniqueTopic('cons-rr');
const group = `rr-${Date.now()}`;
const PARTITIONS = 3;
const PER_PHASE = 300;
const BINARY = 'application/vnd.kafka.binary.v2+json';
let replicas: Replica[] = [];
let proxy: RoundRobinProxy;

beforeAll(async () => {
  await createTopic(brokers, topic, PARTITIONS);
  const ports = await portsToListenOnLater(3);
  const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
  replicas = await spawnReplicas(
    ports.map((p) => ({
      KAFKA_BROKERS: brokers,
      AUTH_MODE: 'none',
      PORT: String(p),
      PEER_URLS: peers,
      PEER_SECRET: 'replica-test-secret-of-at-least-32-bytes',
      KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
      KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: '300',
      KAFKA_CONSUMER_MAX_WAIT_MS: '100',
      // Kept in memory, printed only when a record goes unread: assignments, retries, refusals.
      LOG_LEVEL: 'debug',
    })),
  );
  // A call cut by a dying replica reaches the client as a cut connection (the client then rewinds, below), not as
  // an answer from another replica to a `GET records` the dead one may already have passed on.
  proxy = await roundRobinProxy(
    replicas.map((r) => r.url),
    { retryAfterReset: false },
  );
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await Promise.allSettled(replicas.map((r) => r.stop()));
  await deleteTopics(brokers, [topic]);
});

interface Read {
  value: string;
  partition: number;
  offset: number;
}

describe('v2 consumers behind a round-robin balancer', () => {
  it('serves every instance from any replica; a killed replica costs only uncommitted records', async () => {
    const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      request(proxy.url, method, path, body, headers);
    let generation = 0;
    async function newInstance(): Promise<string> {
      const name = `c${generation++}`;
      const c = await api('POST', `/consumers/${group}`, {
        name,
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'auto.commit.enable': 'false',
      });
      expect(c.status, c.text).toBe(200);
      expect(c.body.base_uri).toBe(`${proxy.url}/consumers/${group}/instances/${name}`);
      const s = await api('POST', `/consumers/${group}/instances/${name}/subscription`, { topics: [topic] });
      expect(s.status, s.text).toBe(204);
      return name;
    }

    // Three instances, created through the balancer: one on each replica (requests go round).
    const names = [await newInstance(), await newInstance(), await newInstance()];
    // Wait until the group settled: each instance holds one partition.
    const settleUntil = Date.now() + 60_000;
    for (;;) {
      const parts = await Promise.all(
        names.map(
          async (n) => (await api('GET', `/consumers/${group}/instances/${n}/assignments`)).body?.partitions ?? [],
        ),
      );
      if (onePartitionEach(parts)) break;
      expect(Date.now() < settleUntil, JSON.stringify(parts)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
    }

    const reads: Read[] = [];
    const committedUpTo = new Map<number, number>();
    const violations: string[] = [];
    const recoveries: string[] = [];
    /** A loop that threw (an unexpected answer) stops reading: said first, as the cause of what follows. */
    const loopErrors: string[] = [];
    let stop = false;
    let cut = 0;

    /**
     * A call whose connection was cut (a replica died on its way) may have reached the instance, and a `GET records`
     * there has handed out its batch: as docs/consuming-over-http.md tells clients, go back to the committed offsets
     * of the instance's partitions and read on from there.
     */
    async function rewind(name: string): Promise<void> {
      cut++;
      const a = await api('GET', `/consumers/${group}/instances/${name}/assignments`);
      if (a.status !== 200) return; // 40403: the next call makes a new instance
      const offsets = (a.body.partitions as { partition: number }[]).map(({ partition }) => ({
        topic,
        partition,
        offset: committedUpTo.get(partition) ?? 0,
      }));
      if (offsets.length > 0) await api('POST', `/consumers/${group}/instances/${name}/positions`, { offsets });
    }

    async function loop(slot: number): Promise<void> {
      let name = names[slot]!;
      /** A call's answer, or undefined when its connection was cut (the instance is rewound then). */
      const answer = async (...args: Parameters<typeof api>) => {
        try {
          return await api(...args);
        } catch {
          await rewind(name).catch(() => {}); // a commit's fate is unknown too: read again from the last one known
          return undefined;
        }
      };
      /** A new instance; the old name stays when the call was cut on its way (the next call finds 40403 again). */
      const renew = async () => {
        name =
          (await newInstance().catch((e: NodeJS.ErrnoException) => {
            if (!e.code) throw e; // not a cut connection: an answer that failed the test's expectations
            return undefined;
          })) ?? name;
      };
      while (!stop) {
        const seen = new Map(committedUpTo);
        const r = await answer(
          'GET',
          `/consumers/${group}/instances/${name}/records?timeout=500&max_bytes=65536`,
          undefined,
          { accept: BINARY },
        );
        if (!r) continue;
        if (r.status === 404 && r.body?.error_code === 40403) {
          recoveries.push(name);
          await renew();
          continue;
        }
        expect(r.status, r.text).toBe(200);
        const batch = (r.body as { value: string; partition: number; offset: number }[]).map((x) => ({
          value: Buffer.from(x.value, 'base64').toString(),
          partition: x.partition,
          offset: x.offset,
        }));
        for (const x of batch) {
          if (x.offset < (seen.get(x.partition) ?? 0))
            violations.push(
              `${x.value} (p${x.partition}@${x.offset}) read after commit up to ${seen.get(x.partition)}`,
            );
          reads.push(x);
        }
        if (batch.length === 0) continue;
        const last = new Map<number, number>();
        for (const x of batch) last.set(x.partition, Math.max(last.get(x.partition) ?? -1, x.offset));
        const offsets = [...last].map(([partition, offset]) => ({ topic, partition, offset }));
        const c = await answer('POST', `/consumers/${group}/instances/${name}/offsets`, { offsets });
        if (!c) continue;
        if (c.status === 200)
          for (const o of offsets)
            committedUpTo.set(o.partition, Math.max(committedUpTo.get(o.partition) ?? 0, o.offset + 1));
        else if (c.status === 404) {
          recoveries.push(name);
          await renew();
        }
      }
    }

    const values = (phase: number) => Array.from({ length: PER_PHASE }, (_, i) => `p${phase}-${i}`);
    const readAll = async (want: string[], deadlineMs: number) => {
      const until = Date.now() + deadlineMs;
      const wanted = new Set(want);
      while (Date.now() < until) {
        const got = new Set(reads.map((r) => r.value).filter((v) => wanted.has(v)));
        if (got.size === wanted.size) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const loops = [0, 1, 2].map((s) =>
      loop(s).catch((e: unknown) => {
        loopErrors.push(`loop ${s}: ${(e as Error).message}`);
      }),
    );
    try {
      // Phase 1: no replica dies → every record exactly once.
      await produce(
        brokers,
        topic,
        values(1).map((value, i) => ({ key: `k${i}`, value })),
      );
      await readAll(values(1), 60_000);
      const phase1 = reads.filter((r) => r.value.startsWith('p1-'));
      expect(new Set(phase1.map((r) => r.value)).size).toBe(PER_PHASE);
      expect(phase1.length, 'phase 1 duplicates').toBe(PER_PHASE);
      // Every replica took calls (so most calls were for instances held elsewhere).
      expect([...proxy.counts.values()].filter((n) => n > 0)).toHaveLength(3);

      // Phase 2: a replica is killed while records flow.
      const p2 = values(2);
      const producing = (async () => {
        for (let i = 0; i < p2.length; i += 30)
          await produce(
            brokers,
            topic,
            p2.slice(i, i + 30).map((value, j) => ({ key: `k${i + j}`, value })),
          );
      })();
      const killAt = Date.now() + 30_000;
      while (reads.filter((r) => r.value.startsWith('p2-')).length < PER_PHASE / 3 && Date.now() < killAt)
        await new Promise((r) => setTimeout(r, 20));
      await replicas[0]!.kill();
      await producing;
      await readAll(p2, 90_000);
    } finally {
      stop = true;
      await Promise.allSettled(loops);
    }
    const phase2 = reads.filter((r) => r.value.startsWith('p2-'));
    const distinct = new Set(phase2.map((r) => r.value));
    const duplicates = phase2.length - distinct.size;
    console.log(
      `[consumers-replicas] phase 2: ${PER_PHASE} records, ${phase2.length} reads, ${duplicates} duplicates ` +
        `(read but not committed when replica 0 died, or moved by the rebalance); recovered instances: ${recoveries.join(', ') || 'none'}; ` +
        `calls cut, then rewound to the committed offsets: ${cut}`,
    );
    expect(loopErrors, 'every reader loop ran to the end').toEqual([]);
    if (distinct.size !== PER_PHASE) {
      // Which records were never read, where they are in Kafka, and what the replicas said: for the cause.
      const inKafka = await readTopic(brokers, topic, 2 * PER_PHASE);
      const missing = inKafka
        .filter((r) => r.value?.toString().startsWith('p2-') && !distinct.has(r.value.toString()))
        .map((r) => `p${r.partition}@${r.offset}`);
      const readUpTo = Array.from({ length: PARTITIONS }, (_, p) =>
        Math.max(-1, ...reads.filter((r) => r.partition === p).map((r) => r.offset)),
      );
      const said = replicas.map((r, i) =>
        r.logs
          // Everything but the access log, which is kept only for server errors and lost instances.
          .filter((l) => l.component !== 'http' || (l.status as number) >= 500 || (l.status as number) === 404)
          .slice(-40)
          .map(
            (l) =>
              `replica ${i}: ${l.msg} ${JSON.stringify({ ...l, level: undefined, time: undefined, msg: undefined, service: undefined })}`,
          ),
      );
      console.log(
        [
          `[consumers-replicas] never read: ${missing.join(' ')}`,
          `read up to, by partition: ${readUpTo.join(', ')}; committed up to: ${JSON.stringify([...committedUpTo])}`,
          ...said.flat(),
        ].join('\n'),
      );
    }
    expect(distinct.size, 'every record read at least once').toBe(PER_PHASE);
    expect(violations, 'records read again after their commit').toEqual([]);
    expect(recoveries.length, 'callers of the killed replica got 40403 and recovered').toBeGreaterThan(0);
  }, 300_000);
});
