/**
 * Produce requests for @platformatic/kafka encoded in one pass into one Buffer (KAFKA_CLIENT=platformatic,
 * docs/performance.md "P5: one-pass produce encoding").
 *
 * Why: the library encodes each record through a `Writer` of ~7 small Buffers (one per varint), concatenates a
 * batch's Buffers to compute its CRC32C and hands the connection a list of them all; at 100-byte records that was
 * about a fifth of the gateway's CPU per record. Here the request's size is computed first, then every field is
 * written in place into one Buffer (keys, values and headers copied once), and the CRC32C is computed over a view of
 * it. The bytes are the library's, byte for byte (test/unit/kafka/platformatic-produce-encoder.test.ts compares them
 * for every version encoded here).
 *
 * What it relies on, all checked where it is used so that any change falls back to the library's own encoding:
 * - the producer finds its Produce implementation through the base client's API lookup, overridden for 'Produce'
 *   (platformatic-api-override.ts): it gets an API built with the library's exported `createAPI` whose request is
 *   ours and whose response parser is the library's for that version (`produceV<N>.parseResponse`);
 * - the request's shape for versions 3–11 (9 on: flexible, with compact strings and arrays and tagged fields), the
 *   RecordBatch v2 layout, and what the library's `createRequest` does to the messages a retry encodes again
 *   (`partition ??= 0`, `timestamp ??= now`), which is mirrored here;
 * - idempotence read exactly as the library reads it: producerId/epoch from the options, a batch's first sequence
 *   from `options.sequences.getWithDefault(`${topic}:${partition}`, 0)` of its first message.
 * Leader lookup, retries, sequence bookkeeping and fencing recovery stay the library's. Compression, a
 * transactional id, a Produce version outside 3–11, or a message of a shape other than the producer's (Buffers or
 * null for keys, values and header entries; a Map of headers; bigint timestamps) take the library's own path.
 *
 * One deliberate difference: a record whose timestamp is 2^31 ms (24.8 days) or more away from its batch's first
 * timestamp gets Kafka's 64-bit zig-zag varint here; the library's shifts by 31 instead of 63 and writes a different
 * delta for it (the test shows both).
 */
import { promisify } from 'node:util';
import type { Producer } from '@platformatic/kafka';
import type { Logger } from '../observability/logger.js';
import { type LibraryApi, overrideApi, sayOncePerPath } from './platformatic-api-override.js';
import type { PlatformaticLibrary } from './platformatic-client.js';

/** The Produce versions encoded here; any other goes through the library's own encoding. */
export const ENCODED_PRODUCE_VERSIONS = { min: 3, max: 11 } as const;
/** The first flexible Produce version (KIP-482: compact strings and arrays, tagged fields). */
const FIRST_FLEXIBLE_VERSION = 9;
/** Kafka's NO_RESPONSE acks: the broker answers nothing, and the connection must not wait. */
const ACKS_NO_RESPONSE = 0;
/** RecordBatch v2: baseOffset, batchLength, partitionLeaderEpoch, magic, crc (the CRC covers what follows). */
const BATCH_CRC_START = 8 + 4 + 4 + 1 + 4;
/** …then attributes, lastOffsetDelta, firstTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, count. */
const BATCH_HEADER = BATCH_CRC_START + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
const MAGIC = 2;
/** A zig-zag timestamp delta within this is exact as a JavaScript number. */
const SAFE_DELTA = 2 ** 51;

export type Crc32c = (bytes: Uint8Array) => number;

type Bytes = Uint8Array | null | undefined;

/** A message as the library's producer hands it to the Produce API (its `MessageRecord`). */
export interface ProduceMessage {
  topic: string;
  partition?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Map<Bytes, Bytes> | null;
  timestamp?: bigint;
}

/** The options the library's producer hands the Produce API (its `CreateRecordsBatchOptions`). */
export interface ProduceOptions {
  transactionalId?: string | null;
  compression?: string;
  producerId?: bigint;
  producerEpoch?: number;
  sequences?: { getWithDefault(key: string, fallback: number): number };
  partitionLeaderEpoch?: number;
}

/** Whether these options take the library's own path (it compresses, or writes a transactional batch). */
function libraryOnly(options: ProduceOptions | undefined): boolean {
  return (options?.compression ?? 'none') !== 'none' || options?.transactionalId != null;
}

const isBytes = (b: unknown): b is Bytes => b == null || b instanceof Uint8Array;

/** Kafka's zig-zag for 32-bit values (the library's `(v << 1) ^ (v >> 31)` for every value it can write). */
const zigzag = (v: number) => (v >= 0 ? v * 2 : -v * 2 - 1);

function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = v < 0x100000000 ? v >>> 7 : Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

const bytesSize = (b: Bytes) => (b == null ? 1 : uvarintSize(zigzag(b.length)) + b.length);

function writeBytes(buf: Buffer, pos: number, b: Bytes): number {
  if (b == null) {
    buf[pos] = 1; // zig-zag -1
    return pos + 1;
  }
  pos = writeUvarint(buf, pos, zigzag(b.length));
  buf.set(b, pos);
  return pos + b.length;
}

/** A record's timestamp delta, zig-zagged: a number when exact, else a 64-bit bigint. */
function deltaZigzag(ts: bigint, first: bigint): number | bigint {
  const d = ts - first;
  if (d > -SAFE_DELTA && d < SAFE_DELTA) return zigzag(Number(d));
  return BigInt.asUintN(64, (d << 1n) ^ (d >> 63n));
}

function bigUvarintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function writeBigUvarint(buf: Buffer, pos: number, v: bigint): number {
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** One partition's batch, measured before it is written. */
interface Batch {
  partition: number;
  messages: ProduceMessage[];
  /** Per record: its zig-zag timestamp delta and the size of its body (after the length varint). */
  deltas: (number | bigint)[];
  bodies: number[];
  maxTimestamp: bigint;
  size: number;
}

function measureBatch(partition: number, messages: ProduceMessage[]): Batch {
  const first = messages[0]!.timestamp!;
  let maxTimestamp = first;
  const deltas: (number | bigint)[] = new Array(messages.length);
  const bodies: number[] = new Array(messages.length);
  let size = BATCH_HEADER;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const ts = m.timestamp!;
    let delta: number | bigint = 0;
    // (Most batches share one timestamp: no bigint arithmetic for them.)
    if (ts !== first) {
      if (ts > maxTimestamp) maxTimestamp = ts;
      delta = deltaZigzag(ts, first);
    }
    deltas[i] = delta;
    let body = 1 + (typeof delta === 'number' ? uvarintSize(delta) : bigUvarintSize(delta));
    body += uvarintSize(zigzag(i)) + bytesSize(m.key) + bytesSize(m.value);
    const headers = m.headers;
    if (headers == null || headers.size === 0) body += 1;
    else {
      body += uvarintSize(zigzag(headers.size));
      for (const [k, v] of headers) body += bytesSize(k) + bytesSize(v);
    }
    bodies[i] = body;
    size += uvarintSize(zigzag(body)) + body;
  }
  return { partition, messages, deltas, bodies, maxTimestamp, size };
}

function writeBatch(buf: Buffer, start: number, b: Batch, options: ProduceOptions, crc32c: Crc32c): number {
  const { messages } = b;
  const first = messages[0]!;
  const firstSequence = options.sequences
    ? options.sequences.getWithDefault(`${first.topic}:${first.partition}`, 0)
    : 0;
  let pos = start;
  buf.writeBigInt64BE(0n, pos); // baseOffset: the broker assigns it
  buf.writeInt32BE(b.size - 12, pos + 8);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? 0, pos + 12);
  buf.writeInt8(MAGIC, pos + 16);
  pos += BATCH_CRC_START;
  buf.writeInt16BE(0, pos); // attributes: no compression, not transactional (those take the library's path)
  buf.writeInt32BE(messages.length - 1, pos + 2);
  buf.writeBigInt64BE(first.timestamp!, pos + 6);
  buf.writeBigInt64BE(b.maxTimestamp, pos + 14);
  buf.writeBigInt64BE(options.producerId ?? -1n, pos + 22);
  buf.writeInt16BE(options.producerEpoch ?? 0, pos + 30);
  buf.writeInt32BE(firstSequence, pos + 32);
  buf.writeInt32BE(messages.length, pos + 36);
  pos += 40;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    pos = writeUvarint(buf, pos, zigzag(b.bodies[i]!));
    buf[pos++] = 0; // record attributes
    const delta = b.deltas[i]!;
    pos = typeof delta === 'number' ? writeUvarint(buf, pos, delta) : writeBigUvarint(buf, pos, delta);
    pos = writeUvarint(buf, pos, zigzag(i));
    pos = writeBytes(buf, pos, m.key);
    pos = writeBytes(buf, pos, m.value);
    const headers = m.headers;
    if (headers == null || headers.size === 0) buf[pos++] = 0;
    else {
      pos = writeUvarint(buf, pos, zigzag(headers.size));
      for (const [k, v] of headers) pos = writeBytes(buf, writeBytes(buf, pos, k), v);
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(start + BATCH_CRC_START, pos)) >>> 0, start + 17);
  return pos;
}

/**
 * The Produce request body (after the request header) for `version`, as the library's `produceV<N>.createRequest`
 * writes it, or undefined when this request takes the library's own path. Like the library's, it sets each
 * message's missing partition (0) and timestamp (now), which a retry encodes again.
 */
export function encodeProduceRequest(
  version: number,
  acks: number | undefined,
  timeout: number | undefined,
  messages: ProduceMessage[],
  options: ProduceOptions | undefined,
  crc32c: Crc32c,
): Buffer | undefined {
  if (version < ENCODED_PRODUCE_VERSIONS.min || version > ENCODED_PRODUCE_VERSIONS.max) return undefined;
  if (libraryOnly(options)) return undefined;
  const opts = options ?? {};
  const flexible = version >= FIRST_FLEXIBLE_VERSION;
  const now = BigInt(Date.now());
  // Grouped as the library's groupByProperty groups (topic, then partition, each in an object's key order: integer
  // keys ascending, then the others as first seen), so the bytes are the same.
  const byTopic: Record<string, Record<string, ProduceMessage[]>> = Object.create(null);
  for (const m of messages) {
    if (m.partition === undefined) m.partition = 0;
    if (m.timestamp === undefined) m.timestamp = now;
    if (typeof m.timestamp !== 'bigint' || !Number.isInteger(m.partition) || typeof m.topic !== 'string')
      return undefined;
    if (!isBytes(m.key) || !isBytes(m.value)) return undefined;
    const headers = m.headers;
    if (headers != null) {
      if (!(headers instanceof Map)) return undefined;
      if (headers.size > 0) for (const [k, v] of headers) if (!isBytes(k) || !isBytes(v)) return undefined;
    }
    const partitions = (byTopic[m.topic] ??= Object.create(null) as Record<string, ProduceMessage[]>);
    (partitions[m.partition] ??= []).push(m);
  }
  const topics: [name: Buffer, batches: Batch[]][] = [];
  const arraySize = (n: number) => (flexible ? uvarintSize(n + 1) : 4);
  let size = (flexible ? 1 : 2) + 2 + 4; // transactional id (null), acks, timeout
  const topicEntries = Object.entries(byTopic);
  size += arraySize(topicEntries.length) + (flexible ? 1 : 0); // …and the request's tagged fields
  for (const [topic, partitions] of topicEntries) {
    const name = Buffer.from(topic, 'utf8');
    const batches: Batch[] = [];
    const partitionEntries = Object.entries(partitions);
    size += (flexible ? uvarintSize(name.length + 1) : 2) + name.length + arraySize(partitionEntries.length);
    for (const [, group] of partitionEntries) {
      const batch = measureBatch(group[0]!.partition!, group);
      batches.push(batch);
      size += 4 + (flexible ? uvarintSize(batch.size + 1) : 4) + batch.size + (flexible ? 1 : 0);
    }
    if (flexible) size += 1;
    topics.push([name, batches]);
  }

  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (flexible)
    buf[pos++] = 0; // null compact string
  else pos = buf.writeInt16BE(-1, pos);
  pos = buf.writeInt16BE(acks ?? 1, pos);
  pos = buf.writeInt32BE(timeout ?? 0, pos);
  const writeCount = (n: number) => {
    pos = flexible ? writeUvarint(buf, pos, n + 1) : buf.writeInt32BE(n, pos);
  };
  writeCount(topics.length);
  for (const [name, batches] of topics) {
    if (flexible) pos = writeUvarint(buf, pos, name.length + 1);
    else pos = buf.writeInt16BE(name.length, pos);
    name.copy(buf, pos);
    pos += name.length;
    writeCount(batches.length);
    for (const batch of batches) {
      pos = buf.writeInt32BE(batch.partition, pos);
      if (flexible) pos = writeUvarint(buf, pos, batch.size + 1);
      else pos = buf.writeInt32BE(batch.size, pos);
      pos = writeBatch(buf, pos, batch, opts, crc32c);
      if (flexible) buf[pos++] = 0; // the partition's tagged fields
    }
    if (flexible) buf[pos++] = 0; // the topic's tagged fields
  }
  if (flexible) buf[pos++] = 0; // the request's tagged fields
  if (pos !== size) throw new Error(`produce request encoded ${pos} of ${size} bytes`);
  return buf;
}

export interface ProduceEncoder {
  /** Gives `producer` the one-pass encoding; false when the library's lookup was not found (its own path stays). */
  install(producer: Producer<Buffer, Buffer, Buffer, Buffer>): boolean;
}

/** The encoder for the loaded library; `crc32c` computes over a view without copying (see platformatic-client.ts). */
export function produceEncoder(lib: PlatformaticLibrary, crc32c: Crc32c, log: Logger): ProduceEncoder {
  const sayOnce = sayOncePerPath(log, 'produceEncoding', 'produce request encoding');

  /** The library's Produce API for one version with our request in it, or the library's where we do not encode. */
  function replace(api: LibraryApi): LibraryApi {
    const v = api.version;
    const mod = (lib as unknown as Record<string, unknown>)[`produceV${v}`] as
      | {
          createRequest?: (...a: unknown[]) => ReturnType<PlatformaticLibrary['Writer']['create']>;
          parseResponse?: unknown;
        }
      | undefined;
    if (
      v < ENCODED_PRODUCE_VERSIONS.min ||
      v > ENCODED_PRODUCE_VERSIONS.max ||
      !mod?.createRequest ||
      !mod.parseResponse
    ) {
      sayOnce(`library v${v}`, { version: v, reason: 'a Produce version not encoded here' });
      return api;
    }
    const libraryRequest = mod.createRequest;
    const flexible = v >= FIRST_FLEXIBLE_VERSION;
    const oneBuffer = lib.createAPI(
      0,
      v,
      (acks: number | undefined, timeout: number | undefined, messages: ProduceMessage[], options?: ProduceOptions) => {
        const bytes = encodeProduceRequest(v, acks, timeout, messages, options, crc32c);
        if (bytes === undefined) return libraryRequest(acks, timeout, messages, options);
        const writer = lib.Writer.create().append(bytes);
        if (acks === ACKS_NO_RESPONSE) writer.context.noResponse = true;
        return writer;
      },
      mod.parseResponse as Parameters<PlatformaticLibrary['createAPI']>[3],
      flexible,
      flexible,
    ) as unknown as LibraryApi;
    sayOnce(`one-buffer v${v}`, { version: v });
    // Compressed requests keep the library's API whole (gzip is encoded asynchronously there).
    const produce = ((connection: unknown, ...args: unknown[]) =>
      libraryOnly(args[3] as ProduceOptions | undefined)
        ? api(connection, ...args)
        : oneBuffer(connection, ...args)) as LibraryApi;
    return Object.assign(produce, { async: promisify(produce), key: 0, version: v });
  }

  return {
    install(producer) {
      return overrideApi(producer, 'Produce', replace, sayOnce);
    },
  };
}
