/**
 * Partition choice as Kafka's Java client makes it, so every language agrees on where a key goes.
 * murmur2 is Kafka's `Utils.murmur2` (seed 0x9747b28c), over the key bytes.
 *
 * Why ours and not kafkajs's `Partitioners.JavaCompatiblePartitioner`: the produce route picks the partition
 * before the record reaches src/kafka/, and this core must not load kafkajs (vectors: test/unit/core/partitioner.test.ts).
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive(murmur2(key)) % numPartitions`. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}

/**
 * Keyless records: all of one request go to one partition, successive requests move on (round-robin per
 * topic), so requests spread over partitions while each request's records stay together in one batch.
 */
export class KeylessSpreader {
  private readonly next = new Map<string, number>();
  private readonly maxTopics: number;

  constructor(maxTopics = 10_000) {
    this.maxTopics = maxTopics;
  }

  pick(topic: string, numPartitions: number): number {
    let n = this.next.get(topic);
    if (n === undefined) {
      if (this.next.size >= this.maxTopics) this.next.clear();
      n = Math.floor(Math.random() * numPartitions);
    }
    this.next.set(topic, (n + 1) % 0x7fffffff);
    return n % numPartitions;
  }
}
