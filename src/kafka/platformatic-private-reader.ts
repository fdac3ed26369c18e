/**
 * Reads chosen partitions from chosen offsets on @platformatic/kafka (KAFKA_CLIENT=platformatic): assign mode, the
 * HTTP consumers' assign-mode reads, and the shared broadcast reader. Unlike kafkajs (private-consumer.ts: a private
 * group whose assigner hands its one member the wanted partitions), the library can fetch without a group, so this
 * is a plain fetch loop (platformatic-reader.ts) from the given positions: no group join, nothing committed.
 */
import type { AssignSession, RecordSink, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { describeKafkaError } from './errors.js';
import { kafkaJsShaped, loadPlatformatic, platformaticConnection } from './platformatic-client.js';
import { fetchDecoder } from './platformatic-fetch-decoder.js';
import { CONSUMER_RETRIES, PlatformaticReader, type PlatformaticConsumerContext } from './platformatic-reader.js';
import { startOrClose, tpKey } from './consumer-common.js';

export async function startPlatformaticReader(
  ctx: PlatformaticConsumerContext,
  opts: { kind: 'assign' | 'broadcast'; positions: TopicPartitionOffset[] },
  sink: RecordSink,
): Promise<AssignSession> {
  return startOrClose(new PlatformaticPrivateReader(ctx, opts, sink), kafkaJsShaped);
}

class PlatformaticPrivateReader extends PlatformaticReader implements AssignSession {
  readonly positions: readonly TopicPartitionOffset[];
  private closing: Promise<void> | undefined;

  constructor(
    ctx: PlatformaticConsumerContext,
    private readonly opts: { kind: 'assign' | 'broadcast'; positions: TopicPartitionOffset[] },
    sink: RecordSink,
  ) {
    super(ctx, sink, ctx.logger.child({ component: `${opts.kind}-consumer` }), 'reader stopped');
    this.positions = opts.positions.map((p) => ({ ...p }));
    for (const p of opts.positions) this.next.set(tpKey(p), { ...p });
  }

  async start(): Promise<void> {
    const lib = await loadPlatformatic();
    const { Consumer, ConnectionPool } = lib;
    const s = this.ctx.settings;
    const connection = platformaticConnection(s);
    this.pool = new ConnectionPool(s.KAFKA_CLIENT_ID, connection);
    // The library's Consumer needs a group id, but this one never joins: it only looks up leaders and fetches.
    this.consumer = new Consumer({
      ...connection,
      groupId: `${s.KAFKA_CLIENT_ID}.${this.opts.kind}`,
      autocommit: false,
      maxWaitTime: s.KAFKA_CONSUMER_MAX_WAIT_MS,
      maxBytes: s.KAFKA_CONSUMER_FETCH_MAX_BYTES,
      ...CONSUMER_RETRIES,
    });
    // Its Fetch responses decoded from one Buffer, records as the loop takes them (platformatic-fetch-decoder.ts).
    fetchDecoder(lib, this.log).install(this.consumer);
    this.consumer.on('error', (e: unknown) => this.fail(e));
    for (const t of new Set(this.opts.positions.map((p) => p.topic))) this.consumer.topics.track(t);
    // Fails here (not in the loop) when the cluster is unreachable or refuses us: the caller gets the error.
    await this.consumer.metadata({ topics: [...new Set(this.opts.positions.map((p) => p.topic))] });
    this.startLoop();
  }

  get assignment(): readonly TopicPartition[] {
    return this.readingPartitions();
  }

  /** Kafka no longer holds the next record (retention): go on at the oldest it still has, skipping no more. */
  protected outOfRange(): 'earliest' | 'latest' {
    return 'earliest';
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.stopped();
      await Promise.allSettled([
        this.consumer
          ?.close(true)
          .catch((e: unknown) => this.log.debug({ err: describeKafkaError(kafkaJsShaped(e)) }, 'close failed')),
        this.pool?.close(),
      ]);
    })();
    return this.closing;
  }
}
