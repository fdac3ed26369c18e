/**
 * What the HTTP consumer instances (src/consumers/) need from Kafka besides group sessions: a group's committed
 * offsets, commits for assign-mode instances (no group membership: written like an admin tool does), reading chosen
 * partitions from chosen offsets, and partition bounds for `positions/beginning|end`.
 */
import type { ConsumerContext } from './consumer-common.js';
import { watermarks } from './consumer-common.js';
import type { AssignSession, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { toGatewayError } from './errors.js';
import { startPrivateConsumer } from './private-consumer.js';
import type { PlatformaticConsumerContext } from './platformatic-reader.js';
import { startPlatformaticReader } from './platformatic-private-reader.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '../errors.js';

/** Reading committed offsets is tried this often on retriable errors. */
const COMMITTED_ATTEMPTS = 4;

export interface InstanceOffsets {
  /** The group's committed offset per partition (the next offset to read), or -1 where it never committed. */
  committed(group: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /**
   * Commit for a group this process is not a member of (assign mode: Kafka takes commits from outside members
   * while the group has no active members, as the Java client's `assign()` + `commitSync()` does).
   */
  commitOutside(group: string, positions: TopicPartitionOffset[]): Promise<void>;
  /** Read exactly these partitions, each from its offset (clamped to what the partition holds). */
  read(positions: TopicPartitionOffset[], sink: RecordSink): Promise<AssignSession>;
  /** First and next offset of each partition; 404 40402 for a partition that does not exist. */
  bounds(partitions: TopicPartition[]): Promise<{ tp: TopicPartition; low: number; high: number }[]>;
}

/** `platformatic`: assign-mode reads on @platformatic/kafka (KAFKA_CLIENT=platformatic); `ctx.admin` is its admin then. */
export function createInstanceOffsets(
  ctx: ConsumerContext,
  platformatic?: PlatformaticConsumerContext,
): InstanceOffsets {
  async function bounds(partitions: TopicPartition[]) {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const marks = new Map(await Promise.all(topics.map(async (t) => [t, await watermarks(ctx.admin, t)] as const)));
    return partitions.map((tp) => {
      const m = marks.get(tp.topic)?.get(tp.partition);
      if (!m) throw errors.partitionNotFound(tp.topic, tp.partition);
      return { tp, ...m };
    });
  }

  return {
    async committed(group, partitions) {
      // No topics would ask Kafka for every topic the group ever committed: nothing asked, nothing to say.
      if (partitions.length === 0) return [];
      const topics = [...new Set(partitions.map((p) => p.topic))];
      let res: Awaited<ReturnType<typeof ctx.admin.fetchOffsets>> | undefined;
      for (let attempt = 1; !res; attempt++) {
        try {
          res = await ctx.admin.fetchOffsets({ groupId: group, topics });
        } catch (e) {
          // A group nobody used yet may answer NOT_COORDINATOR while its coordinator loads: ask again, briefly.
          const err = toGatewayError(e);
          if (!err.retriable || attempt >= COMMITTED_ATTEMPTS) throw err;
          await sleep(200 * attempt);
        }
      }
      return partitions.map(({ topic, partition }) => {
        const o = res.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset;
        return { topic, partition, offset: o === undefined ? -1 : Number(o) };
      });
    },

    async commitOutside(group, positions) {
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const p of positions) {
        let l = byTopic.get(p.topic);
        if (!l) byTopic.set(p.topic, (l = []));
        l.push({ partition: p.partition, offset: String(p.offset) });
      }
      try {
        for (const [topic, partitions] of byTopic) await ctx.admin.setOffsets({ groupId: group, topic, partitions });
      } catch (e) {
        throw toGatewayError(e);
      }
    },

    async read(positions, sink) {
      const b = await bounds(positions);
      const clamped = positions.map((p, i) => ({ ...p, offset: Math.min(Math.max(p.offset, b[i]!.low), b[i]!.high) }));
      return platformatic
        ? startPlatformaticReader(platformatic, { kind: 'assign', positions: clamped }, sink)
        : startPrivateConsumer(ctx, { kind: 'assign', positions: clamped }, sink);
    },

    bounds,
  };
}
