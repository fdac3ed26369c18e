// The O(n) replacement for kafkajs's groupMessagesPerPartition: kafkajs picks it up when src/kafka loads first,
// it returns exactly what kafkajs's own returns, and it stays linear where the original is quadratic.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  groupMessagesPerPartition,
  kafkajsPatched,
  kafkajsWakesOnResume,
  nothingActive,
} from '../../src/kafka/kafkajs-patches.js';
import '../../src/kafka/index.js';

const require = createRequire(import.meta.url);
const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');

/** kafkajs's original implementation, compiled from its file (the cache now holds ours). */
function original(): typeof groupMessagesPerPartition {
  const module = { exports: undefined as unknown };
  new Function('module', 'exports', 'require', readFileSync(file, 'utf8'))(module, module.exports, require);
  return module.exports as typeof groupMessagesPerPartition;
}

it('is what kafkajs uses once src/kafka is loaded first', () => {
  expect(kafkajsPatched).toBe(true);
  expect(require(file)).toBe(groupMessagesPerPartition);
  // kafkajs itself loads fine with it, and a producer can be created.
  const { Kafka } = require('kafkajs') as typeof import('kafkajs');
  expect(() => new Kafka({ brokers: ['127.0.0.1:1'] }).producer()).not.toThrow();
});

it('groups exactly as kafkajs does: partition → messages in their original order', () => {
  const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }];
  const messages = Array.from({ length: 200 }, (_, i) => ({ value: String(i), partition: (i * 7) % 3 }));
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;
  const args = { topic: 't', partitionMetadata, messages, partitioner };
  expect(groupMessagesPerPartition(args)).toEqual(original()(args));
  expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
});

it('stays linear: 4,000 records to one partition take a fraction of the original’s quadratic time', () => {
  const messages = Array.from({ length: 4_000 }, () => ({ partition: 0 }));
  const args = { topic: 't', partitionMetadata: [{}], messages, partitioner: () => 0 };
  const time = (f: typeof groupMessagesPerPartition) => {
    const t = performance.now();
    f(args);
    return performance.now() - t;
  };
  const ours = Math.min(time(groupMessagesPerPartition), time(groupMessagesPerPartition));
  const theirs = time(original());
  expect(ours * 10).toBeLessThan(theirs);
});

describe('wake on resume', () => {
  const proto = (require('kafkajs/src/consumer/consumerGroup') as { prototype: Record<string, unknown> }).prototype;

  /** A ConsumerGroup with kafkajs's own fetch/resume (patched) around stand-ins for its state. */
  function group(active: Record<string, Set<number>>) {
    const calls: string[] = [];
    const g = Object.create(proto) as Record<string, unknown> & {
      fetch(n: number): Promise<unknown[]>;
      resume(tps: unknown): void;
    };
    Object.assign(g, {
      maxWaitTime: 30_000,
      logger: { info: () => {} },
      cluster: { refreshMetadataIfNecessary: async () => void calls.push('metadata') },
      subscriptionState: {
        assigned: () => [{ topic: 't', partitions: [0, 1] }],
        resume: () => void calls.push('resume'),
      },
      filterPartitionsByNode: (_n: number, tps: unknown) => tps,
      getActiveTopicPartitions: () => active,
      checkForStaleAssignment: () => void calls.push('stale-check'),
      seekOffsets: async () => void calls.push('seeks'),
      recoverFromFetch: async () => {},
      // With these, kafkajs's own fetch finds nothing active and sleeps maxWaitTime (30 s).
      offsetManager: { committedOffsets: () => ({ t: { 0: '0', 1: '0' } }) },
    });
    return { g, calls };
  }

  it('is installed on kafkajs ConsumerGroup', () => {
    expect(kafkajsWakesOnResume).toBe(true);
  });

  it('a fetch with every partition paused waits until resume, not maxWaitTime, after kafkajs bookkeeping', async () => {
    const { g, calls } = group({ t: new Set() });
    const t0 = performance.now();
    let done = false;
    const fetched = g.fetch(1).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    expect(calls).toEqual(['metadata', 'stale-check', 'seeks']);
    g.resume([{ topic: 't', partitions: [0] }]);
    await expect(fetched).resolves.toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(calls).toContain('resume');
  });

  it('knows when a broker has something to fetch', () => {
    expect(nothingActive(group({ t: new Set([1]) }).g as never, 1)).toBe(false);
    expect(nothingActive(group({}).g as never, 1)).toBe(true);
  });
});
