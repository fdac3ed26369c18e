/**
 * Two fixes for kafkajs 2.2.4 (in maintenance mode, so not fixed upstream).
 *
 * 1. O(n) record grouping, applied before kafkajs loads.
 *
 * kafkajs groups every send's messages by partition with `[...current, message]` per message: O(n²) in the records
 * per partition (tulios/kafkajs PR #1576, open). The gateway's batching hands it hundreds to thousands of records per
 * partition: 1,000 records to one partition cost ~3 ms of event-loop time per send, 10,000 ~190 ms (warm, on the
 * benchmark machine; ours: ~0.1 ms for both). The replacement below returns the same object (partition → messages
 * in their original order) in O(n).
 *
 * It works by seeding Node's CommonJS cache with our module under kafkajs's own file name, so kafkajs's
 * `require('./groupMessagesPerPartition')` gets it. Import this module before anything imports kafkajs at run time;
 * `kafkajsPatched` says whether it was in time (false when kafkajs was already loaded, e.g. by a test helper:
 * everything still works, with kafkajs's own slower grouping).
 */
import { createRequire, Module } from 'node:module';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** kafkajs's groupMessagesPerPartition, linear. */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);

function install(): boolean {
  let file: string;
  try {
    file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
  } catch {
    return false; // another kafkajs layout: leave it alone
  }
  if (require.cache[file]) return require.cache[file]!.exports === groupMessagesPerPartition;
  const sendMessages = require.resolve('kafkajs/src/producer/sendMessages');
  if (require.cache[sendMessages]) return false; // kafkajs already holds its own copy
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = groupMessagesPerPartition;
  require.cache[file] = m;
  return true;
}

export const kafkajsPatched: boolean = install();

/**
 * 2. A paused consumer wakes up on resume.
 *
 * When every partition a kafkajs consumer reads from a broker is paused, its fetch loop sleeps `maxWaitTime`
 * (KAFKA_CONSUMER_MAX_WAIT_MS, 500 ms) before it looks again (`consumerGroup.js`: `if (!requests.length) await
 * sleep(this.maxWaitTime)`), so a `resume` waits up to that long. WebSocket subscriptions pause whenever a socket's
 * window of unacknowledged records or its send buffer is full and resume as soon as the client catches up: with
 * the sleep, a group socket read at most one window per 500 ms per partition. Here the same wait ends early when
 * `resume` is called on that consumer. It works on ConsumerGroup's prototype, so it applies whenever this module
 * loads. The bookkeeping kafkajs does before its sleep (metadata refresh, stale-assignment check, pending seeks,
 * its error recovery) is kept.
 */
interface ConsumerGroupLike {
  maxWaitTime: number;
  cluster: { refreshMetadataIfNecessary(): Promise<void> };
  subscriptionState: { assigned(): TopicPartitions[] };
  filterPartitionsByNode(nodeId: number, tps: TopicPartitions[]): TopicPartitions[];
  getActiveTopicPartitions(): Record<string, Set<number>>;
  checkForStaleAssignment(): void;
  seekOffsets(tps: TopicPartitions[]): Promise<void>;
  recoverFromFetch(e: unknown): Promise<void>;
  fetch(nodeId: number): Promise<unknown[]>;
  resume(tps: unknown): unknown;
}
interface TopicPartitions {
  topic: string;
  partitions: number[];
}

const wakers = new WeakMap<object, Set<() => void>>();

/** Sleeps `ms`, or less if `resume` is called on `group` meanwhile. */
function sleepUntilResumed(group: object, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let set = wakers.get(group);
    if (!set) wakers.set(group, (set = new Set()));
    const wake = () => {
      clearTimeout(timer);
      set.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    set.add(wake);
  });
}

/** Whether `group` has nothing to fetch from broker `nodeId` because all it reads there is paused. */
export function nothingActive(
  group: Pick<ConsumerGroupLike, 'subscriptionState' | 'filterPartitionsByNode' | 'getActiveTopicPartitions'>,
  nodeId: number,
): boolean {
  const active = group.getActiveTopicPartitions();
  return group
    .filterPartitionsByNode(nodeId, group.subscriptionState.assigned())
    .every(({ topic, partitions }) => partitions.every((p) => !active[topic]?.has(p)));
}

function installWakeOnResume(): boolean {
  let proto: ConsumerGroupLike;
  try {
    proto = (require('kafkajs/src/consumer/consumerGroup') as { prototype: ConsumerGroupLike }).prototype;
  } catch {
    return false; // another kafkajs layout: leave it alone
  }
  const needed = [
    'fetch',
    'resume',
    'filterPartitionsByNode',
    'getActiveTopicPartitions',
    'checkForStaleAssignment',
    'seekOffsets',
    'recoverFromFetch',
  ] as const;
  if (needed.some((m) => typeof proto[m] !== 'function')) return false;
  if ((proto.fetch as { wakesOnResume?: boolean }).wakesOnResume) return true;
  const fetch = proto.fetch;
  const resume = proto.resume;
  const patchedFetch = async function (this: ConsumerGroupLike, nodeId: number): Promise<unknown[]> {
    let idle: boolean;
    try {
      idle = nothingActive(this, nodeId);
    } catch {
      idle = false;
    }
    if (!idle) return fetch.call(this, nodeId);
    try {
      await this.cluster.refreshMetadataIfNecessary();
      this.checkForStaleAssignment();
      await this.seekOffsets(this.filterPartitionsByNode(nodeId, this.subscriptionState.assigned()));
    } catch (e) {
      await this.recoverFromFetch(e);
      return [];
    }
    await sleepUntilResumed(this, this.maxWaitTime);
    return [];
  };
  proto.fetch = Object.assign(patchedFetch, { wakesOnResume: true });
  proto.resume = function (this: ConsumerGroupLike, tps: unknown) {
    const out = resume.call(this, tps);
    for (const wake of [...(wakers.get(this) ?? [])]) wake();
    return out;
  };
  return true;
}

export const kafkajsWakesOnResume: boolean = installWakeOnResume();
