/**
 * The kafkajs producer behind the batching producer, and its replacement by a new one (a new producer id) when
 * the batching producer no longer trusts its sequence numbers (see BatchingProducerOptions.renewProducer).
 */
import type { Kafka, Producer as KafkaJsProducer, ProducerConfig } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

/** A replaced producer is disconnected once its last calls ended, or after this long. */
const RETIRE_AFTER_MS = 60_000;

/**
 * kafkajs's own retries of a send (leader moved, connection lost) keep the same sequence numbers, so the broker
 * drops a copy it already wrote: they are the safe retries. They last about as long as the caller waits
 * (PRODUCE_TIMEOUT_MS), like the Java client's delivery.timeout.ms, but at most ~10 s (a default election takes
 * under that): kafkajs also retries what only a new producer cures (a deleted topic among its metadata targets
 * fails every refresh), and the batch it gives up on is sent again on the new one within the caller's deadline.
 * The batching producer answers the caller at its deadline and keeps the partition's next records back until
 * kafkajs is done with these. kafkajs waits 100, 200, 400, 800 ms, then 1 s between tries.
 */
export function sendRetries(produceTimeoutMs: number): number {
  return 4 + Math.ceil(Math.max(0, Math.min(produceTimeoutMs, MAX_RETRY_SPAN_MS) - 1500) / 1000);
}

const MAX_RETRY_SPAN_MS = 10_000;

export interface RenewingProducer {
  readonly current: KafkaJsProducer;
  /** True while the current producer is connected. */
  readonly connected: boolean;
  connect(): Promise<void>;
  /** Connects a new producer and makes it current; the old one is disconnected once `previousSettled` resolves. */
  renew(previousSettled: Promise<void>): Promise<KafkaJsProducer>;
  close(): Promise<void>;
}

export function renewingProducer(
  client: Kafka,
  settings: { idempotent: boolean; produceTimeoutMs: number },
  log: Logger,
): RenewingProducer {
  const { idempotent } = settings;
  const config: ProducerConfig = {
    idempotent,
    // With idempotence kafkajs allows one in-flight request per broker; our batching makes up for it.
    maxInFlightRequests: idempotent ? 1 : 5,
    allowAutoTopicCreation: false,
    retry: {
      retries: idempotent ? sendRetries(settings.produceTimeoutMs) : 3,
      initialRetryTime: 100,
      maxRetryTime: 1000,
    },
  };
  let closed = false;
  let connected = false;
  let current = watch(client.producer(config));
  /** Producers replaced after a failed send, until kafkajs stopped retrying their last calls. */
  const retired = new Set<KafkaJsProducer>();

  function watch(p: KafkaJsProducer): KafkaJsProducer {
    p.on(p.events.DISCONNECT, () => {
      if (p === current) connected = false;
    });
    return p;
  }

  return {
    get current() {
      return current;
    },
    get connected() {
      return connected;
    },
    async connect() {
      if (connected) return;
      await current.connect();
      connected = true;
    },
    async renew(previousSettled) {
      if (closed) throw new Error('closed');
      const fresh = watch(client.producer(config));
      try {
        await fresh.connect(); // InitProducerId: a new producer id, sequence numbers from 0
      } catch (e) {
        await fresh.disconnect().catch(() => {});
        throw e;
      }
      const old = current;
      current = fresh;
      connected = true;
      retired.add(old);
      log.info('new idempotent producer after kafkajs gave up on a send (its sequence numbers are no longer trusted)');
      // Disconnecting at once would not stop kafkajs's retries (they reconnect); wait for them, bounded.
      const bound = new Promise<void>((r) => setTimeout(r, RETIRE_AFTER_MS).unref());
      void Promise.race([previousSettled, bound])
        .then(() => old.disconnect())
        .catch(() => {})
        .finally(() => retired.delete(old));
      return fresh;
    },
    async close() {
      closed = true;
      await Promise.allSettled([current.disconnect(), ...[...retired].map((p) => p.disconnect())]);
    },
  };
}
