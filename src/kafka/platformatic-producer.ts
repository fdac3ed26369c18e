/**
 * The producer behind the batching producer on @platformatic/kafka instead of kafkajs (KAFKA_CLIENT=platformatic,
 * docs/performance.md "The Kafka client"). The batching producer stays the same: it hands this a batch in
 * kafkajs's `sendBatch` shape (one leader's partitions) and gets per-partition base offsets back, so per-partition
 * order, one batch in flight per leader, per-record results, deadlines and the renewal after a failed send are the
 * same code for both clients. Errors are handed on in the shape `errors.ts` classifies (its one place).
 *
 * The library is loaded on first connect, not at import: a gateway on kafkajs never loads it (memory, and its
 * Node ≥ 22.22 requirement).
 */
import type { Producer as PlatformaticProducer, ProducerOptions, MessageToProduce } from '@platformatic/kafka';
import type { Message, ProducerBatch, RecordMetadata } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { KafkaSettings } from './client.js';
import { kafkaJsShaped, loadPlatformatic, platformaticConnection, platformaticCrc32c } from './platformatic-client.js';
import { type ProduceEncoder, produceEncoder } from './platformatic-produce-encoder.js';
import type { BatchSender, ProducerHandle } from './producer.js';

import { sendRetries } from './renewing-producer.js';

export interface PlatformaticProducerSettings extends KafkaSettings {
  idempotent: boolean;
  produceTimeoutMs: number;
}

/** A replaced producer is closed once its last calls ended, or after this long (as renewing-producer.ts). */
const RETIRE_AFTER_MS = 60_000;

/** The client options of every producer of the process, built once (TLS files are read here). */
function producerOptions(s: PlatformaticProducerSettings): ProducerOptions<Buffer, Buffer, Buffer, Buffer> {
  return {
    ...platformaticConnection(s),
    idempotent: s.idempotent,
    // The broker-side produce timeout, as kafkajs gets it per request.
    timeout: s.produceTimeoutMs,
    // Bounded like kafkajs's (see sendRetries): the library's default for an idempotent producer is unbounded,
    // and the batching producer decides when a partition moves on to a new producer id.
    retries: sendRetries(s.produceTimeoutMs),
    retryDelay: 250,
  };
}

export function platformaticProducer(settings: PlatformaticProducerSettings, log: Logger): ProducerHandle {
  const options = producerOptions(settings);
  const shaped = (e: unknown) => kafkaJsShaped(e, options.sasl?.mechanism);
  let closed = false;
  let connected = false;
  let current: PlatformaticProducer | undefined;
  let connecting: Promise<PlatformaticProducer> | undefined;
  const retired = new Set<PlatformaticProducer>();
  let encoder: ProduceEncoder | undefined;

  /** A new producer, ready to send: loaded library, and for idempotence its producer id (InitProducerId). */
  async function open(): Promise<PlatformaticProducer> {
    const lib = await loadPlatformatic();
    const p = new lib.Producer<Buffer, Buffer, Buffer, Buffer>({ ...options });
    // Its Produce requests encoded in one pass (platformatic-produce-encoder.ts); the library's own where that cannot apply.
    encoder ??= produceEncoder(lib, platformaticCrc32c(lib), log);
    encoder.install(p);
    try {
      if (settings.idempotent) await p.initIdempotentProducer({});
      else await p.metadata({ topics: [] });
    } catch (e) {
      await p.close(true).catch(() => {});
      throw shaped(e);
    }
    return p;
  }

  async function ensure(): Promise<PlatformaticProducer> {
    if (current) return current;
    if (closed) throw new Error('closed');
    connecting ??= open().finally(() => (connecting = undefined));
    const p = await connecting;
    if (closed) {
      await p.close(true).catch(() => {});
      throw new Error('closed');
    }
    if (!current) {
      current = p;
      // Says which library produces (KAFKA_CLIENT), once per process.
      log.info({ client: '@platformatic/kafka', idempotent: settings.idempotent }, 'producer connected');
    }
    connected = true;
    return current;
  }

  /** The batching producer's view of one producer: kafkajs's sendBatch contract over `p`. */
  function sender(get: () => Promise<PlatformaticProducer>): BatchSender {
    return {
      async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
        const p = await get();
        const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
        for (const t of batch.topicMessages ?? [])
          for (const m of t.messages) messages.push(toPlatformatic(t.topic, m));
        try {
          const r = await p.send({
            messages,
            ...(batch.acks !== undefined ? { acks: batch.acks } : {}),
            // kafkajs's CompressionTypes: 0 none, 1 gzip (the only two our settings allow).
            ...(batch.compression === 1 ? { compression: 'gzip' as const } : {}),
          });
          return (r.offsets ?? []).map((o) => ({
            topicName: o.topic,
            partition: o.partition,
            errorCode: 0,
            baseOffset: String(o.offset),
          }));
        } catch (e) {
          throw shaped(e);
        }
      },
    };
  }

  const first = sender(ensure);

  return {
    get current() {
      return first;
    },
    get connected() {
      return connected;
    },
    async connect() {
      await ensure();
    },
    async renew(previousSettled) {
      if (closed) throw new Error('closed');
      const fresh = await open();
      const old = current;
      current = fresh;
      connected = true;
      log.info('new idempotent producer after a failed send (its sequence numbers are no longer trusted)');
      if (old) {
        retired.add(old);
        const bound = new Promise<void>((r) => setTimeout(r, RETIRE_AFTER_MS).unref());
        void Promise.race([previousSettled, bound])
          .then(() => old.close(true))
          .catch(() => {})
          .finally(() => retired.delete(old));
      }
      return sender(async () => fresh);
    },
    async close() {
      closed = true;
      connected = false;
      const p = current ?? (await connecting?.catch(() => undefined));
      await Promise.allSettled([p?.close(), ...[...retired].map((r) => r.close(true))]);
    },
  };
}

function toPlatformatic(topic: string, m: Message): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer> = {
    topic,
    // null stays null on the wire (a tombstone / no key): the library writes a varint -1 for it.
    key: (m.key ?? null) as unknown as Buffer,
    value: (m.value ?? null) as unknown as Buffer,
  };
  // (Assigned, not spread in: this runs for every record.)
  if (m.partition !== undefined) out.partition = m.partition;
  if (m.timestamp !== undefined) out.timestamp = BigInt(m.timestamp);
  if (m.headers) {
    // Buffer keys are distinct Map keys even when equal, so same-name headers all go, in order.
    const headers = new Map<Buffer, Buffer>();
    for (const [name, v] of Object.entries(m.headers)) {
      for (const value of Array.isArray(v) ? v : [v]) headers.set(Buffer.from(name), value as Buffer);
    }
    out.headers = headers;
  }
  return out;
}
