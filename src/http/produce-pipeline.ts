/**
 * The steps every produce route shares (v2 `POST /topics/...`, v3 `.../records` and `.../records:batch`), in one
 * place: the refusals given before the body is read, the topic's metadata, turning a decoded record into the record sent to Kafka
 * (partition, principal header, size check), and the process-wide in-flight window (MAX_INFLIGHT_PRODUCE_BYTES).
 */
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { partitionForKey } from '../core/partitioner.js';
import { recordSize } from '../core/record-size.js';
import type { KafkaGateway, ProduceRecord, RecordHeader } from '../kafka/index.js';
import type { DecodedRecord } from './records.js';
import { requireKafka } from './kafka-reachable.js';

/**
 * The refusals known before the body is read, given before reading it (and instead of `100 Continue`, see
 * expect-continue.ts): no broker reachable (503 50302), or the in-flight window already full (503 50301). A client
 * that waits for `100` never sends a body that would be refused anyway. Callers check the body's own limits
 * first: a 413 is final, a 503 is worth retrying.
 */
export function refuseBeforeBody(kafka: KafkaGateway, config: Pick<Config, 'MAX_INFLIGHT_PRODUCE_BYTES'>): void {
  requireKafka(kafka);
  if (kafka.producer.inflightBytes >= config.MAX_INFLIGHT_PRODUCE_BYTES) throw errors.overloaded(overloadedMessage);
}

export interface ProduceTarget {
  topic: string;
  partitions: number;
  maxMessageBytes: number;
}

/** The topic's partition count and record size limit: 503 when no broker is reachable, 404 40401 when unknown. */
export async function produceTarget(kafka: KafkaGateway, topic: string): Promise<ProduceTarget> {
  requireKafka(kafka);
  const meta = await kafka.metadata.topic(topic);
  if (!meta) throw errors.topicNotFound(topic);
  return { topic, partitions: meta.partitions, maxMessageBytes: meta.maxMessageBytes };
}

/**
 * Turns decoded records into the records sent to Kafka: the partition (explicit, murmur2 of the key bytes, or the
 * keyless partition the caller picked), the principal header (AUTH_PRINCIPAL_HEADER), and the size check against
 * the topic's max.message.bytes.
 */
export class RecordPreparer {
  private readonly principalHeader: string | undefined;

  constructor(
    private readonly target: ProduceTarget,
    config: Pick<Config, 'AUTH_PRINCIPAL_HEADER'>,
    private readonly sub: string | null,
  ) {
    this.principalHeader = config.AUTH_PRINCIPAL_HEADER || undefined;
  }

  /** `where` names the record in messages (e.g. `records[3]`). Throws 404 40402 or 413. */
  prepare(d: DecodedRecord, keyless: number, where: string): { record: ProduceRecord; size: number } {
    const { topic, partitions, maxMessageBytes } = this.target;
    if (d.partition !== undefined && d.partition >= partitions) throw errors.partitionNotFound(topic, d.partition);
    const partition = d.partition ?? (d.key ? partitionForKey(d.key, partitions) : keyless);
    const headers = this.principalHeader ? withPrincipal(d.headers, this.principalHeader, this.sub) : d.headers;
    const record: ProduceRecord = { key: d.key, value: d.value, partition };
    if (headers) record.headers = headers;
    if (d.timestamp !== undefined) record.timestamp = d.timestamp;
    const size = recordSize(record);
    if (size > maxMessageBytes)
      throw errors.tooLarge(
        `${where} is ${size} bytes, over the topic's max.message.bytes of ${maxMessageBytes}; nothing was written.`,
      );
    return { record, size };
  }
}

/**
 * Would `bytes` more go over MAX_INFLIGHT_PRODUCE_BYTES? An idle gateway takes anything that passed the body
 * limit: a request bigger than the window alone would otherwise be refused forever.
 */
export function overInflightWindow(
  kafka: KafkaGateway,
  config: Pick<Config, 'MAX_INFLIGHT_PRODUCE_BYTES'>,
  bytes: number,
): boolean {
  const inflight = kafka.producer.inflightBytes;
  return inflight > 0 && inflight + bytes > config.MAX_INFLIGHT_PRODUCE_BYTES;
}

export const overloadedMessage =
  'The gateway has too many records in flight (MAX_INFLIGHT_PRODUCE_BYTES); retry shortly.';

/** AUTH_PRINCIPAL_HEADER: the caller's own header of that name is dropped, never trusted; the verified `sub` is written. */
function withPrincipal(
  headers: RecordHeader[] | undefined,
  name: string,
  sub: string | null,
): RecordHeader[] | undefined {
  const lower = name.toLowerCase();
  const kept = (headers ?? []).filter((h) => h.name.toLowerCase() !== lower);
  if (sub !== null) kept.push({ name, value: Buffer.from(sub, 'utf8') });
  return kept.length > 0 ? kept : undefined;
}
