/**
 * Keeps a group member's offset commit in the generation it was asked in, as Kafka's Java consumer does.
 *
 * @platformatic/kafka answers a commit that met a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, ...) by
 * rejoining the group and sending the same commit again, now in the new generation, where Kafka takes it whatever
 * partitions the member holds then. Offsets read in the old generation then land after the partition's next owner
 * read further and committed more, and move the group's committed offset back: whoever reads the partition next
 * reads those records again (seen in load/soak-consumers.ts: a commit asked before a rebalance landed 9 s later,
 * after the member got the partition back, and 88 records already committed by another member were read again).
 *
 * The fence sits on the wire (the library's OffsetCommit API, through platformatic-api-override.ts): an
 * OffsetCommit whose offsets were asked in another generation than the one it is about to be sent in is not sent,
 * and the commit fails with an error the library does not retry, which the session answers as 409
 * 40903: nothing was committed. kafkajs-patches.ts (patch 6) keeps kafkajs's commits to the same rule.
 */
import { promisify } from 'node:util';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { TopicPartitionOffset } from './consumer-types.js';
import type { LibraryApi } from './platformatic-api-override.js';

/** The property every stale-commit error carries, set to true (isStaleCommit looks for it). */
export const STALE_COMMIT = 'staleCommit';

const staleMessage = (asked: readonly number[], now: number) =>
  `offsets asked in generation ${asked.join(', ')} were not sent in generation ${now}`;

/** The error of a commit the fence stopped: neither library may retry it (`canRetry`, `retriable`: false). */
export class StaleCommitError extends Error {
  readonly [STALE_COMMIT] = true;
  readonly canRetry = false;
  readonly retriable = false;
  constructor(asked: readonly number[], now: number) {
    super(staleMessage(asked, now));
    this.name = 'StaleCommitError';
  }
}

/**
 * Makes the error a stopped commit fails with, given its message. @platformatic/kafka retries every error but its own
 * (GenericError) marked `canRetry: false`, so its session passes one of those (a UserError), with STALE_COMMIT set.
 */
export type StaleErrorFactory = (message: string) => Error;

/** The answer to a commit that did not go out because the group rebalances or rebalanced (either client's session). */
export const rebalancedCommit = () =>
  new GatewayError(
    409,
    ErrorCodes.CONSUMER_ILLEGAL_STATE,
    'The group is rebalancing or rebalanced while the commit was on its way; nothing was committed.',
    { retriable: true },
  );

/** The library's OffsetCommit request topics, as its consumer builds them. */
interface WireTopic {
  name: string;
  partitions: { partitionIndex: number; committedOffset: bigint | number }[];
}

const keyOf = (entries: (readonly [string, number, bigint | number])[]) =>
  entries
    .map(([t, p, o]) => `${t}\u0000${p}\u0000${o}`)
    .sort()
    .join('\u0001');

export class CommitFence {
  /** Commits on their way, by content: the generations they were asked in. */
  private readonly asked = new Map<string, number[]>();

  /** Runs `send` for `positions`, asked in `generation`: the wire lets it out in that generation only. */
  async around<T>(positions: readonly TopicPartitionOffset[], generation: number, send: () => Promise<T>): Promise<T> {
    const key = keyOf(positions.map((p) => [p.topic, p.partition, p.offset] as [string, number, number]));
    const list = this.asked.get(key) ?? [];
    list.push(generation);
    this.asked.set(key, list);
    try {
      return await send();
    } finally {
      list.splice(list.indexOf(generation), 1);
      if (list.length === 0) this.asked.delete(key);
    }
  }

  /** Undefined when an OffsetCommit of `topics` may go out in `generation`, else why not. */
  refuse(topics: readonly WireTopic[], generation: number): string | undefined {
    const asked = this.asked.get(
      keyOf(topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset] as const))),
    );
    // A commit the fence did not see (none today) goes out as the library sends it.
    if (!asked || asked.includes(generation)) return undefined;
    return staleMessage(asked, generation);
  }

  /**
   * The library's OffsetCommit API behind the fence. Its arguments, after the connection: group id, generation,
   * member id, group instance id, topics, callback.
   */
  guard(api: LibraryApi, staleError: StaleErrorFactory): LibraryApi {
    const fenced = ((connection: unknown, ...args: unknown[]) => {
      const callback = args[args.length - 1];
      const stale = this.refuse(args[4] as WireTopic[], args[1] as number);
      if (stale && typeof callback === 'function') {
        callback(staleError(stale));
        return;
      }
      api(connection, ...args);
    }) as LibraryApi;
    return Object.assign(fenced, { version: api.version, async: promisify(fenced) });
  }
}

/** Whether `e` (or an error it carries: MultipleErrors, kafkajs's retrier's wrapper) is the fence's. */
export function isStaleCommit(e: unknown, depth = 0): boolean {
  if (typeof e !== 'object' || e === null || depth > 5) return false;
  const x = e as { [STALE_COMMIT]?: unknown; errors?: unknown[]; cause?: unknown; originalError?: unknown };
  if (x[STALE_COMMIT] === true) return true;
  return (
    (x.errors ?? []).some((y) => isStaleCommit(y, depth + 1)) ||
    isStaleCommit(x.cause, depth + 1) ||
    isStaleCommit(x.originalError, depth + 1)
  );
}
