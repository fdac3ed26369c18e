/**
 * Start positions → concrete offsets, read from the cluster once, before a reader starts: so "latest" means
 * "after this moment" (not "wherever the first fetch lands") and a reader can report where it starts.
 */
import type { Admin } from 'kafkajs';
import { errors } from '../errors.js';
import type { StartPosition, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { watermarks } from './consumer-common.js';
import { toGatewayError } from './errors.js';

export async function resolveStart(
  admin: Admin,
  partitions: TopicPartition[],
  from: StartPosition,
  /** Exact start offsets for some partitions, instead of `from` (still clamped below). */
  exact: readonly TopicPartitionOffset[] = [],
): Promise<TopicPartitionOffset[]> {
  const exactOf = new Map(exact.map((p) => [`${p.partition}:${p.topic}`, p.offset]));
  const topics = [...new Set(partitions.map((p) => p.topic))];
  const marks = new Map(await Promise.all(topics.map(async (t) => [t, await watermarks(admin, t)] as const)));
  const byTime = new Map<string, Map<number, number>>();
  if (typeof from === 'object' && 'timestamp' in from) {
    for (const t of topics) {
      try {
        // kafkajs answers the high watermark for partitions with no record at or after the time.
        const res = await admin.fetchTopicOffsetsByTimestamp(t, from.timestamp);
        byTime.set(t, new Map(res.map((p) => [p.partition, Number(p.offset)])));
      } catch (e) {
        throw toGatewayError(e);
      }
    }
  }
  return partitions.map(({ topic, partition }) => {
    const m = marks.get(topic)?.get(partition);
    if (!m) throw errors.partitionNotFound(topic, partition);
    let offset: number;
    const given = exactOf.get(`${partition}:${topic}`);
    if (given !== undefined) offset = given;
    else if (from === 'earliest') offset = m.low;
    else if (from === 'latest') offset = m.high;
    else if ('offset' in from) offset = from.offset;
    else offset = byTime.get(topic)?.get(partition) ?? m.high;
    // Clamp like auto.offset.reset would: before the log start → its start; past the end → wait for new records.
    return { topic, partition, offset: Math.min(Math.max(offset, m.low), m.high) };
  });
}
