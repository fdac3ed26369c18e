// The launcher's 3-node KRaft cluster: replication factor 3, min.insync.replicas 2, fast fencing — a leader killed
// with SIGKILL is replaced, writes with acks=all continue, and the node rejoins after a restart.
// ~25 s on 2 cores. KAFKA_CLUSTER_TESTS=0 skips it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTopic,
  kafkaClient,
  produce,
  readAll,
  startKafka,
  uniqueTopic,
  type LocalKafka,
} from '../helpers/kafka.js';
import { clusterLock } from '../helpers/produce-history.js';
import { eventually } from '../helpers/wait.js';

const SLOW = { timeout: 120_000 };

async function partitionState(brokers: string, topic: string) {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const p = md.topics[0]?.partitions.find((x) => x.partitionId === 0);
    if (!p) throw new Error(`no partition 0 for ${topic}`);
    return { leader: p.leader, replicas: [...p.replicas].sort(), isr: [...p.isr].sort() };
  } finally {
    await admin.disconnect();
  }
}

/** Polls `fn` (its errors count as "not yet", as a cluster in transition answers them) until `ok` holds. */
async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  let lastErr: unknown;
  const attempt = async (): Promise<{ v?: T }> => {
    try {
      return { v: await fn() };
    } catch (err) {
      lastErr = err;
      return {};
    }
  };
  const last = await eventually(attempt, (r) => 'v' in r && ok(r.v as T), { timeoutMs, intervalMs: 250 });
  if ('v' in last && ok(last.v as T)) return last.v as T;
  throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(last.v)} ${lastErr ? String(lastErr) : ''}`);
}

describe.skipIf(process.env.KAFKA_CLUSTER_TESTS === '0')('3-node cluster', () => {
  let kafka: LocalKafka;
  let release: (() => void) | undefined;
  const topic = uniqueTopic('cluster');

  // One extra cluster at a time on 2 cores (shared with failover/broker-restart tests).
  beforeAll(async () => {
    release = await clusterLock();
    kafka = await startKafka({ nodes: 3, log: () => {} });
  }, 420_000);

  afterAll(async () => {
    await kafka?.stop();
    release?.();
  }, 60_000);

  it('registers three brokers and replicates new topics three ways', SLOW, async () => {
    const admin = kafkaClient(kafka.bootstrap.PLAINTEXT).admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    } finally {
      await admin.disconnect();
    }
    await createTopic(kafka.bootstrap.PLAINTEXT, topic, 1);
    const state = await waitFor(
      'ISR of 3',
      () => partitionState(kafka.bootstrap.PLAINTEXT, topic),
      (s) => s.isr.length === 3,
    );
    expect(state.replicas).toEqual([1, 2, 3]);
    await produce(kafka.bootstrap.PLAINTEXT, topic, [{ key: 'before', value: '1' }]);
  });

  it('survives SIGKILL of the partition leader and takes the node back', SLOW, async () => {
    const leader = await kafka.leaderOf(topic, 0);
    expect([1, 2, 3]).toContain(leader);
    await kafka.killNode(leader, 'SIGKILL');
    expect(kafka.nodes.find((n) => n.id === leader)?.running).toBe(false);

    // Fenced after broker.session.timeout.ms (3 s): a new leader from the remaining ISR.
    const moved = await waitFor(
      'a new leader',
      () => partitionState(kafka.bootstrap.PLAINTEXT, topic),
      (s) => s.leader !== leader && s.leader !== -1,
    );
    expect(moved.isr).not.toContain(leader);
    await produce(kafka.bootstrap.PLAINTEXT, topic, [{ key: 'during', value: '2' }], {
      retry: { retries: 15, initialRetryTime: 200, maxRetryTime: 2000 },
    });

    await kafka.startNode(leader);
    await waitFor(
      'ISR back to 3',
      () => partitionState(kafka.bootstrap.PLAINTEXT, topic),
      (s) => s.isr.length === 3,
    );
    const records = await readAll(kafka.bootstrap.PLAINTEXT, topic, 2, 30_000, { settleMs: 300 });
    expect(records.map((r) => r.key?.toString())).toEqual(['before', 'during']);
  });
});
