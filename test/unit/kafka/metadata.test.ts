// AdminMetadata's cache against a fake kafkajs admin: cached lookups, the refresh before "unknown", and no stale
// cache after a delete while Kafka still lists the topic.
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AdminMetadata } from '../../../src/kafka/metadata.js';

function fakeAdmin() {
  const topics = new Map<string, number>(); // name → partitions
  const calls = { fetchTopicMetadata: 0 };
  /** Metadata lookups that still miss a just-created topic (a broker whose metadata lags). */
  let lagging = 0;
  const unknown = () =>
    Object.assign(new Error('This server does not host this topic-partition'), {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
      retriable: true,
    });
  const admin = {
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => {
      calls.fetchTopicMetadata++;
      const name = names[0]!;
      if (lagging > 0) {
        lagging--;
        throw unknown();
      }
      if (!topics.has(name)) throw unknown();
      return {
        topics: [
          {
            name,
            partitions: Array.from({ length: topics.get(name)! }, (_, i) => ({
              partitionId: i,
              leader: 1,
              replicas: [1],
              isr: [1],
              partitionErrorCode: 0,
            })),
          },
        ],
      };
    },
    describeConfigs: async () => ({
      resources: [{ configEntries: [{ configName: 'max.message.bytes', configValue: '2048', isSensitive: false }] }],
    }),
    createTopics: async ({
      topics: specs,
      waitForLeaders,
    }: {
      topics: { topic: string; numPartitions: number }[];
      waitForLeaders?: boolean;
    }) => {
      const s = specs[0]!;
      if (topics.has(s.topic)) return false;
      topics.set(s.topic, s.numPartitions);
      // kafkajs's wait retries only LEADER_NOT_AVAILABLE: a lagging broker's UNKNOWN_TOPIC_OR_PARTITION escapes.
      if (waitForLeaders && lagging > 0) throw unknown();
      return true;
    },
    deleteTopics: async () => {
      // Kafka answers before its metadata drops the topic: leave it listed (the test removes it later).
    },
  } as unknown as Admin;
  return {
    admin,
    topics,
    calls,
    lag: (n: number) => {
      lagging = n;
    },
  };
}

describe('AdminMetadata', () => {
  it('caches a topic for METADATA_CACHE_MS, then looks again', async () => {
    let now = 1000;
    const { admin, topics, calls } = fakeAdmin();
    topics.set('t', 3);
    const md = new AdminMetadata(admin, 5000, () => now);
    expect(await md.topic('t')).toEqual({ partitions: 3, maxMessageBytes: 2048 });
    expect(md.maxMessageBytes('t')).toBe(2048);
    topics.set('t', 6);
    expect((await md.topic('t'))?.partitions).toBe(3);
    expect(calls.fetchTopicMetadata).toBe(1);
    now += 5001;
    expect((await md.topic('t'))?.partitions).toBe(6);
  });

  it('a broker that does not answer a refresh: the last known entry answers after a short wait, not a hang', async () => {
    let now = 1000;
    const { admin, topics } = fakeAdmin();
    topics.set('t', 3);
    const md = new AdminMetadata(admin, 5000, () => now, [1, 1], 50);
    expect((await md.topic('t'))?.partitions).toBe(3);
    now += 5001;
    let answer!: () => void;
    const hanging = admin.fetchTopicMetadata;
    admin.fetchTopicMetadata = ((args: Parameters<Admin['fetchTopicMetadata']>[0]) =>
      new Promise((resolve) => (answer = () => resolve(hanging(args))))) as Admin['fetchTopicMetadata'];
    const started = performance.now();
    expect((await md.topic('t'))?.partitions).toBe(3);
    expect(performance.now() - started).toBeLessThan(1000);
    topics.set('t', 6);
    answer();
    await new Promise((r) => setTimeout(r, 0));
    admin.fetchTopicMetadata = hanging;
    expect((await md.topic('t'))?.partitions).toBe(6);
  });

  it('answers unknown for a missing or illegal topic without caching the miss', async () => {
    const { admin, topics } = fakeAdmin();
    const md = new AdminMetadata(admin, 5000);
    expect(await md.topic('late')).toBeUndefined();
    expect(await md.topic('bad name!')).toBeUndefined();
    topics.set('late', 1);
    expect((await md.topic('late'))?.partitions).toBe(1);
  });

  it('looks twice more before it reports a topic missing (a broker that has not heard of a new topic yet)', async () => {
    const { admin, topics, calls, lag } = fakeAdmin();
    topics.set('fresh', 2);
    const md = new AdminMetadata(admin, 5000, Date.now, [1, 1]);
    lag(2);
    expect((await md.topic('fresh'))?.partitions).toBe(2);
    expect(calls.fetchTopicMetadata).toBe(3);
    // Three "unknown" answers in a row: missing (and the miss is not cached).
    topics.set('other', 1);
    lag(3);
    expect(await md.topic('other')).toBeUndefined();
    expect(calls.fetchTopicMetadata).toBe(6);
    expect((await md.topic('other'))?.partitions).toBe(1);
  });

  it('shares one lookup between concurrent callers', async () => {
    const { admin, topics, calls } = fakeAdmin();
    topics.set('t', 2);
    const md = new AdminMetadata(admin, 5000);
    await Promise.all([md.topic('t'), md.topic('t'), md.topicInfo('t')]);
    expect(calls.fetchTopicMetadata).toBe(1);
  });

  it('does not cache a deleted topic that Kafka still lists, so it is reported missing once Kafka drops it', async () => {
    const now = 1000;
    const { admin, topics } = fakeAdmin();
    topics.set('t', 1);
    const md = new AdminMetadata(admin, 5000, () => now);
    expect(await md.topic('t')).toBeDefined();
    await md.deleteTopic('t');
    expect(await md.topic('t')).toBeDefined(); // Kafka still lists it
    topics.delete('t'); // ...and now it does not: no cached entry may hide that
    expect(await md.topic('t')).toBeUndefined();
  });

  it('caches a topic again once it is re-created', async () => {
    const { admin, topics, calls } = fakeAdmin();
    topics.set('t', 1);
    const md = new AdminMetadata(admin, 5000);
    await md.deleteTopic('t');
    topics.delete('t');
    await md.createTopic({ name: 't', partitions: 2 });
    await md.topic('t');
    const before = calls.fetchTopicMetadata;
    expect((await md.topic('t'))?.partitions).toBe(2);
    expect(calls.fetchTopicMetadata).toBe(before);
  });

  it('reports an existing topic as 400 40002, validate-only included', async () => {
    const { admin, topics } = fakeAdmin();
    topics.set('t', 1);
    const md = new AdminMetadata(admin, 5000);
    for (const validateOnly of [false, true])
      await expect(md.createTopic({ name: 't', validateOnly })).rejects.toMatchObject({
        status: 400,
        errorCode: 40002,
      });
  });

  it('reports a topic as created even while the broker still answers UNKNOWN_TOPIC_OR_PARTITION for it', async () => {
    const { admin, lag } = fakeAdmin();
    const md = new AdminMetadata(admin, 5000);
    lag(3);
    await expect(md.createTopic({ name: 'fresh', partitions: 2 })).resolves.toBeUndefined();
    expect((await md.topic('fresh'))?.partitions).toBe(2);
  });
});

describe('AdminMetadata.offsets', () => {
  const offsetsAdmin = (failures: number) => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        calls++;
        // What kafkajs 2.2.4 throws when a concurrent metadata refresh dropped the topic mid-call.
        if (calls <= failures)
          throw new TypeError("Cannot destructure property 'partitions' of 'low.pop(...)' as it is undefined.");
        return [{ partition: 0, offset: '7', high: '7', low: '2' }];
      },
    } as unknown as Admin;
    return { admin, calls: () => calls };
  };

  it('retries the kafkajs TypeError race and answers the offsets', async () => {
    const f = offsetsAdmin(2);
    await expect(new AdminMetadata(f.admin, 5000).offsets('t')).resolves.toEqual([{ partition: 0, low: 2, high: 7 }]);
    expect(f.calls()).toBe(3);
  });

  it('tries a transient Kafka answer again (a leader being elected right after the topic was created)', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        if (++calls === 1)
          throw Object.assign(
            new Error('There is no leader for this topic-partition as we are in the middle of a leadership election'),
            {
              name: 'KafkaJSProtocolError',
              type: 'LEADER_NOT_AVAILABLE',
              retriable: true,
            },
          );
        return [{ partition: 0, offset: '0', high: '0', low: '0' }];
      },
    } as unknown as Admin;
    await expect(new AdminMetadata(admin, 5000).offsets('t')).resolves.toEqual([{ partition: 0, low: 0, high: 0 }]);
    expect(calls).toBe(2);
  });

  it('reports a persisting client failure as retriable 50003, never a bare 50002', async () => {
    const f = offsetsAdmin(99);
    await expect(new AdminMetadata(f.admin, 5000).offsets('t')).rejects.toMatchObject({
      status: 500,
      errorCode: 50003,
      retriable: true,
    });
    expect(f.calls()).toBe(6);
  });
});

describe('AdminMetadata.topicInfo during a deletion', () => {
  // What kafkajs 2.2.4's fetchTopicMetadata throws when a concurrent refresh cleared its metadata (a topic being
  // deleted while it is looked up); the retry gets Kafka's real answer.
  const raceAdmin = (failures: number, then: 'unknown' | 'found') => {
    let calls = 0;
    const admin = {
      fetchTopicMetadata: async () => {
        calls++;
        if (calls <= failures) throw new TypeError("Cannot read properties of null (reading 'topicMetadata')");
        if (then === 'unknown')
          throw Object.assign(new Error('This server does not host this topic-partition'), {
            name: 'KafkaJSProtocolError',
            type: 'UNKNOWN_TOPIC_OR_PARTITION',
            retriable: true,
          });
        return { topics: [{ name: 't', partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1] }] }] };
      },
      describeConfigs: async () => ({ resources: [{ configEntries: [] }] }),
    } as unknown as Admin;
    return { admin, calls: () => calls };
  };

  it('answers "unknown topic" (404 upstream), not a 500 with kafkajs words, once the race passes', async () => {
    const f = raceAdmin(1, 'unknown');
    await expect(new AdminMetadata(f.admin, 5000, Date.now, []).topicInfo('t')).resolves.toBeUndefined();
    expect(f.calls()).toBe(2);
  });

  it('answers the topic when it still exists', async () => {
    const f = raceAdmin(2, 'found');
    await expect(new AdminMetadata(f.admin, 5000, Date.now, []).topicInfo('t')).resolves.toMatchObject({
      name: 't',
    });
  });

  it('reports a race that persists as retriable 50003', async () => {
    const f = raceAdmin(99, 'found');
    await expect(new AdminMetadata(f.admin, 5000, Date.now, []).topicInfo('t')).rejects.toMatchObject({
      status: 500,
      errorCode: 50003,
      retriable: true,
      message: "Could not read the topic's metadata; retry.",
    });
  });
});
