/**
 * The consumer side of the gateway's Kafka interface: group sessions (one real group member each), assign
 * sessions (private readers) and broadcast watchers (one shared reader per topic). Tracks them all so a
 * shutdown can close whatever its owners did not.
 */
import type { ConsumerContext } from './consumer-common.js';
import type {
  AssignSession,
  BroadcastSink,
  BroadcastWatch,
  Consumers,
  ConsumersStats,
  GroupSession,
  GroupStart,
  RecordSink,
  StartPosition,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer-types.js';
import { TopicBroadcast } from './broadcast.js';
import { startGroupSession } from './group-session.js';
import type { PlatformaticConsumerContext } from './platformatic-reader.js';
import { startPlatformaticGroupSession } from './platformatic-group-session.js';
import { startPlatformaticReader } from './platformatic-private-reader.js';
import { startPrivateConsumer } from './private-consumer.js';
import { resolveStart } from './positions.js';
import { errors } from '../errors.js';

export type { ConsumerContext, ConsumerSettings } from './consumer-common.js';

/**
 * `platformatic` (KAFKA_CLIENT=platformatic): the parts that run on @platformatic/kafka get their settings from it;
 * the others stay on kafkajs (gateway.ts logs which library serves which part).
 */
export function createConsumers(ctx: ConsumerContext, platformatic?: PlatformaticConsumerContext): Consumers {
  const groups = new Set<GroupSession>();
  const assigns = new Set<AssignSession>();
  const hubs = new Map<string, TopicBroadcast>();
  let closed = false;

  /** Forget a session when it closes, whoever closes it. */
  function track<T extends { close(): Promise<void> }>(set: Set<T>, s: T): T {
    set.add(s);
    const close = s.close.bind(s);
    s.close = () => {
      set.delete(s);
      return close();
    };
    return s;
  }

  function refuseWhenClosed(): void {
    if (closed) throw errors.kafkaUnavailable('The gateway is shutting down.');
  }

  return {
    async group(opts: { group: string; topics: string[]; from: GroupStart }, sink: RecordSink) {
      refuseWhenClosed();
      const session = platformatic
        ? await startPlatformaticGroupSession(platformatic, opts, sink)
        : await startGroupSession(ctx, opts, sink);
      return track(groups, session);
    },

    async assign(
      opts: { partitions: TopicPartition[]; from: StartPosition; offsets?: readonly TopicPartitionOffset[] },
      sink: RecordSink,
    ) {
      refuseWhenClosed();
      const positions = await resolveStart(ctx.admin, opts.partitions, opts.from, opts.offsets);
      const reader = platformatic
        ? await startPlatformaticReader(platformatic, { kind: 'assign', positions }, sink)
        : await startPrivateConsumer(ctx, { kind: 'assign', positions }, sink);
      return track(assigns, reader);
    },

    broadcast(topic: string, sink: BroadcastSink): Promise<BroadcastWatch> {
      refuseWhenClosed();
      let hub = hubs.get(topic);
      if (!hub) {
        const h: TopicBroadcast = new TopicBroadcast(
          ctx,
          topic,
          () => {
            if (hubs.get(topic) === h) hubs.delete(topic);
          },
          platformatic
            ? (opts, sink) => startPlatformaticReader(platformatic, opts, sink)
            : (opts, sink) => startPrivateConsumer(ctx, opts, sink),
        );
        hubs.set(topic, h);
        hub = h;
      }
      return hub.watch(sink);
    },

    stats(): ConsumersStats {
      return {
        groupSessions: groups.size,
        assignSessions: assigns.size,
        broadcastConsumers: [...hubs.values()].map((h) => ({ topic: h.topic, watchers: h.size })),
      };
    },

    async close() {
      closed = true;
      await Promise.allSettled([
        ...[...groups].map((s) => s.close()),
        ...[...assigns].map((s) => s.close()),
        ...[...hubs.values()].map((h) => h.close()),
      ]);
    },
  };
}
