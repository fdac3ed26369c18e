import { describe, expect, it } from 'vitest';
import { CommitFence, isStaleCommit, STALE_COMMIT, StaleCommitError } from '../../../src/kafka/commit-fence.js';
import type { LibraryApi } from '../../../src/kafka/platformatic-api-override.js';

const wire = (topic: string, partition: number, offset: number) => [
  {
    name: topic,
    partitions: [{ partitionIndex: partition, committedOffset: BigInt(offset), committedLeaderEpoch: -1 }],
  },
];

/** As a session makes the error of a stopped commit (the library's own error class in production). */
const staleError = (message: string) => Object.assign(new Error(message), { [STALE_COMMIT]: true });

/** A stand-in for the library's OffsetCommit API: records what went out. */
function fakeApi() {
  const sent: { generation: unknown; topics: unknown }[] = [];
  const api = ((_connection: unknown, ...args: unknown[]) => {
    sent.push({ generation: args[1], topics: args[4] });
    (args[5] as (e: Error | null) => void)(null);
  }) as LibraryApi;
  api.version = 8;
  return { api, sent };
}

/** Calls the (guarded) API as the library's consumer does: connection, group, generation, member, instance, topics. */
const commitOnWire = (api: LibraryApi, generation: number, topics: unknown) =>
  new Promise<Error | null>((resolve) => api({}, 'g', generation, 'm', null, topics, resolve));

describe('CommitFence', () => {
  it('lets a commit out in the generation it was asked in', async () => {
    const fence = new CommitFence();
    const { api, sent } = fakeApi();
    const guarded = fence.guard(api, staleError);
    expect(guarded.version).toBe(8);
    const error = await fence.around([{ topic: 't', partition: 1, offset: 42 }], 7, () =>
      commitOnWire(guarded, 7, wire('t', 1, 42)),
    );
    expect(error).toBeNull();
    expect(sent).toEqual([{ generation: 7, topics: wire('t', 1, 42) }]);
  });

  it('stops the same commit sent again in a later generation (the library rejoined and retried it)', async () => {
    const fence = new CommitFence();
    const { api, sent } = fakeApi();
    const guarded = fence.guard(api, staleError);
    const error = await fence.around([{ topic: 't', partition: 1, offset: 42 }], 7, () =>
      commitOnWire(guarded, 8, wire('t', 1, 42)),
    );
    expect(isStaleCommit(error)).toBe(true);
    expect(error?.message).toBe('offsets asked in generation 7 were not sent in generation 8');
    expect(sent).toEqual([]);
  });

  it('tells two commits apart by their offsets, whatever the order of their partitions', async () => {
    const fence = new CommitFence();
    const positions = [
      { topic: 't', partition: 2, offset: 5 },
      { topic: 't', partition: 0, offset: 9 },
    ];
    const topics = [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, committedOffset: 9n },
          { partitionIndex: 2, committedOffset: 5n },
        ],
      },
    ];
    await fence.around(positions, 3, async () => {
      await fence.around([{ topic: 't', partition: 0, offset: 10 }], 4, async () => {
        expect(fence.refuse(topics, 3)).toBeUndefined();
        expect(fence.refuse(topics, 4)).toBe('offsets asked in generation 3 were not sent in generation 4');
        expect(fence.refuse(wire('t', 0, 10), 4)).toBeUndefined();
        expect(fence.refuse(wire('t', 0, 10), 3)).toBe('offsets asked in generation 4 were not sent in generation 3');
      });
    });
  });

  it('forgets a commit once it ended (answered or failed), and lets through commits it never saw', async () => {
    const fence = new CommitFence();
    await expect(
      fence.around([{ topic: 't', partition: 0, offset: 1 }], 1, async () => {
        throw new Error('broker said no');
      }),
    ).rejects.toThrow('broker said no');
    expect(fence.refuse(wire('t', 0, 1), 2)).toBeUndefined();
  });

  it('finds its error inside the library’s MultipleErrors', () => {
    const stale = new StaleCommitError([1], 2);
    expect([stale.canRetry, stale.retriable]).toEqual([false, false]); // neither library retries it
    expect(isStaleCommit(stale)).toBe(true);
    expect(isStaleCommit({ code: 'PLT_KFK_MULTIPLE', errors: [new Error('x'), stale] })).toBe(true);
    expect(isStaleCommit({ code: 'PLT_KFK_PROTOCOL', errors: [new Error('x')] })).toBe(false);
    expect(isStaleCommit(undefined)).toBe(false);
  });
});
