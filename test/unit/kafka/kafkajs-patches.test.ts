// The kafkajs patches: the O(n) replacement for kafkajs's groupMessagesPerPartition is what kafkajs's producer
// requires, returns exactly what kafkajs's own returns and stays linear where the original is quadratic; a paused
// consumer wakes on resume; and a patch that cannot apply stops the process instead of going unnoticed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import {
  groupMessagesPerPartition,
  KAFKAJS_PATCHES,
  nothingActive,
  PATCHED_KAFKAJS_VERSION,
} from '../../../src/kafka/kafkajs-patches.js';

const require = createRequire(import.meta.url);
const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');

/** kafkajs's original implementation, compiled from its file (the cache now holds ours). */
function original(): typeof groupMessagesPerPartition {
  const module = { exports: undefined as unknown };
  new Function('module', 'exports', 'require', readFileSync(file, 'utf8'))(module, module.exports, require);
  return module.exports as typeof groupMessagesPerPartition;
}

it('is the grouping kafkajs’s producer requires', () => {
  expect(KAFKAJS_PATCHES).toEqual(['O(n) record grouping', 'wake on resume', 'quiet request queue']);
  const ours = require(file) as ((args: never) => unknown) & Record<symbol, unknown>;
  expect(ours[Symbol.for('kafka-gateway.kafkajs-patches.grouping')]).toBe(true);
  // kafkajs's sendMessages (what every producer send runs) was loaded with ours as its child module.
  const { Kafka } = require('kafkajs') as typeof import('kafkajs');
  new Kafka({ brokers: ['127.0.0.1:1'] }).producer();
  const sendMessages = require.cache[require.resolve('kafkajs/src/producer/sendMessages')];
  expect(sendMessages?.children.find((m) => m.filename === file)?.exports).toBe(ours);
});

it('is written for the kafkajs version package.json pins, and that is the one installed', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  expect(pkg.dependencies.kafkajs).toBe(PATCHED_KAFKAJS_VERSION);
  expect((require('kafkajs/package.json') as { version: string }).version).toBe(PATCHED_KAFKAJS_VERSION);
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
    expect((proto.fetch as { wakesOnResume?: boolean }).wakesOnResume).toBe(true);
  });

  it('a fetch with every partition paused waits until resume, not maxWaitTime, after kafkajs bookkeeping', async () => {
    vi.useFakeTimers();
    try {
      const { g, calls } = group({ t: new Set() });
      let done = false;
      const fetched = g.fetch(1).finally(() => (done = true));
      await vi.advanceTimersByTimeAsync(29_000); // just short of maxWaitTime (30 s)
      expect(done).toBe(false);
      expect(calls).toEqual(['metadata', 'stale-check', 'seeks']);
      g.resume([{ topic: 't', partitions: [0] }]);
      await expect(fetched).resolves.toEqual([]);
      expect(calls).toContain('resume');
    } finally {
      vi.useRealTimers();
    }
  });

  it('without a resume the paused fetch still ends after maxWaitTime, as kafkajs’s own sleep does', async () => {
    vi.useFakeTimers();
    try {
      const { g } = group({ t: new Set() });
      let done = false;
      const fetched = g.fetch(1).finally(() => (done = true));
      await vi.advanceTimersByTimeAsync(29_999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await expect(fetched).resolves.toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('knows when a broker has something to fetch', () => {
    expect(nothingActive(group({ t: new Set([1]) }).g as never, 1)).toBe(false);
    expect(nothingActive(group({}).g as never, 1)).toBe(true);
  });
});

describe('a patch that cannot apply', () => {
  it('stops the process with a clear message when kafkajs was loaded first', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [`${root}node_modules/tsx/dist/cli.mjs`, `${root}test/unit/fixtures/kafkajs-before-patches.mts`],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('kafkajs patch "O(n) grouping" cannot apply: kafkajs was loaded before this module');
  }, 30_000);
});

describe('quiet request queue (no 1 ms timer loop on an idle connection)', () => {
  type Queue = {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    scheduleCheckPendingRequests(): void;
    destroy(): void;
  };
  const RequestQueue = require('kafkajs/src/network/requestQueue') as new (o: object) => Queue;
  const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
    createLogger(o: object): unknown;
    LEVELS: Record<string, number>;
  };
  const queue = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 1000,
      enforceRequestTimeout: true,
      clientId: 'test',
      broker: '127.0.0.1:1',
      logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
    });

  it('arms no timer when nothing is pending and the broker is not throttling (kafkajs armed one every 1 ms)', () => {
    const q = queue();
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('still schedules a check for pending requests, and for the end of a throttle', () => {
    const pending = queue();
    pending.pending.push({});
    pending.scheduleCheckPendingRequests();
    expect(pending.throttleCheckTimeoutId).not.toBeNull();
    pending.destroy();

    const throttled = queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
    throttled.destroy();
  });
});
