/**
 * Fetch responses for @platformatic/kafka decoded from one Buffer, each record only when the reader takes it
 * (KAFKA_CLIENT=platformatic; docs/performance.md "W3: fetch decoding").
 *
 * Why: the library reads every field of every record through its `Reader` over the connection's list of chunks (each
 * read looks its chunk up first), the timestamp delta as a BigInt, and builds an object per record and an array per
 * header, which the reader (platformatic-reader.ts) then turned into a ConsumedRecord; at 100-byte records in W3 that
 * was about an eighth of the gateway's CPU. Here the response is taken as one Buffer (copied once only when it came
 * in several chunks) and its structure decoded as the library decodes it, but a record batch keeps its records as
 * bytes: its `cursor` decodes one record at a time straight into a ConsumedRecord, and the records a reader skips
 * (before the wanted offset) or leaves (a pause) are never built.
 *
 * What it relies on, each checked where it is used so that any change keeps the library's own decoding:
 * - the consumer finds its Fetch implementation through the base client's API lookup, overridden for 'Fetch'
 *   (platformatic-api-override.ts): versions 12–17 get an API built with the library's `createAPI`, whose request is
 *   the library's (`fetchV<N>.createRequest`) and whose response parser is ours;
 * - the Fetch response's layout for those versions (all flexible; 12 names topics, 13 on identifies them by id; 16
 *   on carries node endpoints), Kafka's RecordBatch v2, and the library's codecs by attribute bits
 *   (`compressionsAlgorithmsByBitmask`, used as the library uses them);
 * - the response's shape as the library's `parseResponse` returns it, errors included (a ResponseError carrying the
 *   response, with the same paths), because the library's consumer reads it: fetch sessions, preferred read
 *   replicas, and for READ_COMMITTED the filter of aborted transactions, which reads a batch's producerId and
 *   firstOffset and a control batch's first record (`records` gives the library's own records, decoded by its own
 *   `readRecord`, whenever anything asks).
 * test/unit/kafka/platformatic-fetch-decoder.test.ts compares every decoded response with the library's, for every
 * version decoded here.
 */
import { promisify } from 'node:util';
import type { Consumer } from '@platformatic/kafka';
import type { Logger } from '../observability/logger.js';
import type { ConsumedRecord } from './consumer-types.js';
import { type LibraryApi, overrideApi, sayOncePerPath } from './platformatic-api-override.js';
import type { PlatformaticLibrary } from './platformatic-client.js';
import type { RecordHeader } from './types.js';

/** The Fetch versions decoded here; any other is the library's own. */
export const DECODED_FETCH_VERSIONS = { min: 12, max: 17 } as const;
/** From this version on, topics are identified by id (a UUID), not by name. */
const FIRST_TOPIC_ID_VERSION = 13;
/** From this version on, an error of the whole response has the path '' (before: '/'), as the library writes it. */
const FIRST_EMPTY_PATH_VERSION = 15;
/** From this version on, the response's tagged field 0 carries the node endpoints. */
const FIRST_NODE_ENDPOINTS_VERSION = 16;
const FETCH_API_KEY = 1;
/** RecordBatch: baseOffset and batchLength come first; a batch is read only when all its bytes are there. */
const BATCH_HEAD = 8 + 4;
/** From a batch's start to its records: everything up to and including the record count. */
const BATCH_RECORDS_START = BATCH_HEAD + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
const COMPRESSION_BITS = 0x07;
const LOG_APPEND_TIME = 0x08;

/** The headers of every record without any: one shared, frozen array. */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** What of the library the decoding uses. */
export type FetchLibrary = Pick<
  PlatformaticLibrary,
  'compressionsAlgorithmsByBitmask' | 'Reader' | 'readRecord' | 'ResponseError' | 'UnsupportedCompressionError'
>;

/** A record as the library's `readRecord` builds it. */
type LibraryRecord = ReturnType<PlatformaticLibrary['readRecord']>;

/**
 * One record batch of a fetch response: its header with the library's field names and types, and its records'
 * bytes (decompressed).
 */
export class FetchedBatch {
  constructor(
    readonly firstOffset: bigint,
    readonly length: number,
    readonly partitionLeaderEpoch: number,
    readonly magic: number,
    readonly crc: number,
    readonly attributes: number,
    readonly lastOffsetDelta: number,
    readonly firstTimestamp: bigint,
    readonly maxTimestamp: bigint,
    readonly producerId: bigint,
    readonly producerEpoch: number,
    readonly firstSequence: number,
    /** How many records `bytes` holds. */
    readonly count: number,
    /** The records, as Kafka wrote them (decompressed when the batch was compressed). */
    readonly bytes: Buffer,
    private readonly lib: FetchLibrary,
  ) {}

  /** The records as the library's own `readRecord` decodes them (for the library's code that reads them). */
  get records(): LibraryRecord[] {
    const reader = this.lib.Reader.from(this.bytes);
    const out: LibraryRecord[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.lib.readRecord(reader));
    return out;
  }

  /** A cursor over this batch's records as ConsumedRecords of `topic` and `partition`. */
  cursor(topic: string, partition: number): RecordCursor {
    return new RecordCursor(this, topic, partition);
  }
}

/** Thrown on bytes that do not hold what their lengths say (a corrupt or truncated record). */
function corrupt(what: string): never {
  throw new RangeError(`corrupt record batch: ${what}`);
}

/** Decodes a batch's records one at a time; see the header. */
export class RecordCursor {
  private readonly bytes: Buffer;
  private readonly baseOffset: number;
  private readonly firstTimestamp: number;
  /** The broker's time for every record (LogAppendTime), or undefined when each record has its own. */
  private readonly appendTime: number | undefined;
  private pos = 0;
  private left: number;

  constructor(
    batch: FetchedBatch,
    private readonly topic: string,
    private readonly partition: number,
  ) {
    this.bytes = batch.bytes;
    this.left = batch.count;
    this.baseOffset = Number(batch.firstOffset);
    this.firstTimestamp = Number(batch.firstTimestamp);
    this.appendTime = batch.attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined;
  }

  /** The next record whose offset is `from` or later, or undefined when the batch has no more. */
  next(from: number): ConsumedRecord | undefined {
    const b = this.bytes;
    while (this.left > 0) {
      this.left--;
      const length = this.varint();
      const end = this.pos + length;
      if (length < 0 || end > b.length) corrupt(`a record of ${length} bytes with ${b.length - this.pos} left`);
      this.pos++; // the record's attributes (unused)
      const timestampDelta = this.varlong();
      const offset = this.baseOffset + this.varint();
      if (offset < from) {
        this.pos = end;
        continue;
      }
      const key = this.bytesOrNull(end);
      const value = this.bytesOrNull(end);
      let headers = NO_HEADERS;
      const count = this.varint();
      if (count > 0) {
        const named: RecordHeader[] = [];
        for (let i = 0; i < count; i++) {
          const n = this.varint();
          if (this.pos + n > end) corrupt('a header name past its record');
          const name = n > 0 ? b.toString('utf8', this.pos, this.pos + n) : '';
          if (n > 0) this.pos += n;
          named.push({ name, value: this.bytesOrNull(end) });
        }
        headers = named;
      }
      if (this.pos !== end) corrupt(`a record of ${length} bytes read as ${length + this.pos - end}`);
      return {
        topic: this.topic,
        partition: this.partition,
        offset,
        timestamp: this.appendTime ?? this.firstTimestamp + timestampDelta,
        key,
        value,
        headers,
      };
    }
    return undefined;
  }

  /** A zig-zag varint (32 bits). */
  private varint(): number {
    const b = this.bytes;
    let x = b[this.pos++]!;
    if (x < 0x80) return (x >>> 1) ^ -(x & 1);
    let u = x & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (this.pos >= b.length) corrupt('a varint past the end');
      x = b[this.pos++]!;
      u |= (x & 0x7f) << shift;
      if (x < 0x80) return (u >>> 1) ^ -(u & 1);
    }
    return corrupt('a varint longer than 5 bytes');
  }

  /** A zig-zag varlong, as a number (exact below 2^53: timestamp deltas are far below). */
  private varlong(): number {
    const b = this.bytes;
    let u = 0;
    for (let scale = 1; scale < 2 ** 70; scale *= 128) {
      if (this.pos >= b.length) corrupt('a varlong past the end');
      const x = b[this.pos++]!;
      u += (x & 0x7f) * scale;
      if (x < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    return corrupt('a varlong longer than 10 bytes');
  }

  /** Varint-length bytes (−1: null), as a view of the response (as the library gives them). */
  private bytesOrNull(end: number): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    const start = this.pos;
    if (start + n > end) corrupt('a key, value or header past its record');
    this.pos += n;
    return this.bytes.subarray(start, start + n);
  }
}

/** Reads the structure of a response (everything but the records) from one Buffer. */
class StructureReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw new RangeError(`fetch response truncated at ${at} (+${n})`);
    this.pos += n;
    return at;
  }
  int16 = () => this.buf.readInt16BE(this.need(2));
  int32 = () => this.buf.readInt32BE(this.need(4));
  int64 = () => this.buf.readBigInt64BE(this.need(8));
  uvarint(): number {
    let u = 0;
    for (let scale = 1; scale < 2 ** 35; scale *= 128) {
      const x = this.buf[this.need(1)]!;
      u += (x & 0x7f) * scale;
      if (x < 0x80) return u;
    }
    throw new RangeError('fetch response: an unsigned varint longer than 5 bytes');
  }
  uuid(): string {
    const at = this.need(16);
    const hex = this.buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  nullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const at = this.need(n - 1);
    return this.buf.toString('utf8', at, at + n - 1);
  }
  string = () => this.nullableString() || '';
  /** A compact array; null when Kafka sent a null one. */
  nullableArray<T>(item: (r: this) => T): T[] | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(item(this));
    return out;
  }
  /** Tagged fields: `handlers` by tag read theirs from a reader of their own bytes; the others are skipped. */
  taggedFields(handlers: Record<number, (r: StructureReader) => void> = {}): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      if (size > this.buf.length - this.pos)
        throw new RangeError(
          `Tagged field ${tag} declares ${size} bytes but only ${this.buf.length - this.pos} remain`,
        );
      const at = this.need(size);
      handlers[tag]?.(new StructureReader(this.buf.subarray(at, at + size)));
    }
  }
}

/** The record batches of one partition's records: every whole batch (a fetch may end inside one). */
function readBatches(buf: Buffer, lib: FetchLibrary): FetchedBatch[] {
  const out: FetchedBatch[] = [];
  let at = 0;
  while (buf.length - at >= BATCH_HEAD && buf.length - at - BATCH_HEAD >= buf.readInt32BE(at + 8)) {
    const length = buf.readInt32BE(at + 8);
    const end = at + BATCH_HEAD + length;
    if (length < BATCH_RECORDS_START - BATCH_HEAD) throw new RangeError(`record batch of ${length} bytes`);
    const attributes = buf.readInt16BE(at + 21);
    let bytes = buf.subarray(at + BATCH_RECORDS_START, end);
    const compression = attributes & COMPRESSION_BITS;
    if (compression !== 0) {
      const algorithm = lib.compressionsAlgorithmsByBitmask[compression];
      if (!algorithm)
        throw new lib.UnsupportedCompressionError(`Unsupported compression algorithm with bitmask ${compression}`);
      const plain = algorithm.decompressSync(bytes) as Uint8Array;
      bytes = Buffer.isBuffer(plain) ? plain : Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
    }
    out.push(
      new FetchedBatch(
        buf.readBigInt64BE(at),
        length,
        buf.readInt32BE(at + 12),
        buf.readInt8(at + 16),
        buf.readUInt32BE(at + 17),
        attributes,
        buf.readInt32BE(at + 23),
        buf.readBigInt64BE(at + 27),
        buf.readBigInt64BE(at + 35),
        buf.readBigInt64BE(at + 43),
        buf.readInt16BE(at + 51),
        buf.readInt32BE(at + 53),
        buf.readInt32BE(at + 57),
        bytes,
        lib,
      ),
    );
    at = end;
  }
  return out;
}

/**
 * A Fetch response (versions 12–17, after the response header) as the library's `fetchV<N>.parseResponse` returns
 * it, with FetchedBatches as records; a response with errors throws the library's ResponseError carrying it.
 */
export function decodeFetchResponse(version: number, buf: Buffer, lib: FetchLibrary): unknown {
  const r = new StructureReader(buf);
  const errors: [string, [number, null]][] = [];
  const throttleTimeMs = r.int32();
  const errorCode = r.int16();
  if (errorCode !== 0) errors.push([version >= FIRST_EMPTY_PATH_VERSION ? '' : '/', [errorCode, null]]);
  const sessionId = r.int32();
  const response: Record<string, unknown> = { throttleTimeMs, errorCode, sessionId };
  if (version >= FIRST_NODE_ENDPOINTS_VERSION) response.nodeEndpoints = [];
  let i = 0;
  response.responses =
    r.nullableArray((t) => {
      const topicId = version >= FIRST_TOPIC_ID_VERSION ? t.uuid() : t.string();
      let j = 0;
      const partitions =
        t.nullableArray((p) => {
          const partition = {
            partitionIndex: p.int32(),
            errorCode: p.int16(),
            highWatermark: p.int64(),
            lastStableOffset: p.int64(),
            logStartOffset: p.int64(),
            divergingEpoch: { epoch: -1, endOffset: -1n },
            currentLeader: { leaderId: -1, leaderEpoch: -1 },
            snapshotId: { endOffset: -1n, epoch: -1 },
            abortedTransactions: p.nullableArray((a) => {
              const aborted = { producerId: a.int64(), firstOffset: a.int64() };
              a.taggedFields();
              return aborted;
            }),
            preferredReadReplica: p.int32(),
            records: [] as FetchedBatch[] | null,
          };
          if (partition.errorCode !== 0) errors.push([`/responses/${i}/partitions/${j}`, [partition.errorCode, null]]);
          const size = p.uvarint();
          if (size === 0) partition.records = null;
          else if (size > 1) {
            const at = p.pos;
            p.pos += size - 1;
            if (p.pos > p.buf.length) throw new RangeError('fetch response: records past the end');
            partition.records = readBatches(p.buf.subarray(at, at + size - 1), lib);
          }
          p.taggedFields({
            0: (f) => (partition.divergingEpoch = { epoch: f.int32(), endOffset: f.int64() }),
            1: (f) => (partition.currentLeader = { leaderId: f.int32(), leaderEpoch: f.int32() }),
            2: (f) => (partition.snapshotId = { endOffset: f.int64(), epoch: f.int32() }),
          });
          j++;
          return partition;
        }) ?? [];
      t.taggedFields();
      i++;
      return { topicId, partitions };
    }) ?? [];
  r.taggedFields(
    version >= FIRST_NODE_ENDPOINTS_VERSION
      ? {
          0: (f) => {
            response.nodeEndpoints =
              f.nullableArray((e) => {
                const endpoint = { nodeId: e.int32(), host: e.string(), port: e.int32(), rack: e.nullableString() };
                e.taggedFields();
                return endpoint;
              }) ?? [];
          },
        }
      : {},
  );
  if (errors.length > 0) throw new lib.ResponseError(FETCH_API_KEY, version, Object.fromEntries(errors), response);
  return response;
}

export interface FetchDecoder {
  /** Gives `consumer` this decoding; false when the library's lookup was not found (its own decoding stays). */
  install(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>): boolean;
}

/** The decoder for the loaded library. */
export function fetchDecoder(lib: PlatformaticLibrary, log: Logger): FetchDecoder {
  const sayOnce = sayOncePerPath(log, 'fetchDecoding', 'fetch response decoding');

  /** The library's Fetch API for one version with our response parser in it, or the library's where we do not decode. */
  function replace(api: LibraryApi): LibraryApi {
    const v = api.version;
    const mod = (lib as unknown as Record<string, unknown>)[`fetchV${v}`] as
      | { createRequest?: (...a: unknown[]) => unknown }
      | undefined;
    if (v < DECODED_FETCH_VERSIONS.min || v > DECODED_FETCH_VERSIONS.max || !mod?.createRequest) {
      sayOnce(`library v${v}`, { version: v, reason: 'a Fetch version not decoded here' });
      return api;
    }
    sayOnce(`one-buffer v${v}`, { version: v });
    const ours = lib.createAPI(
      FETCH_API_KEY,
      v,
      mod.createRequest as Parameters<PlatformaticLibrary['createAPI']>[2],
      ((_correlationId: number, _apiKey: number, _apiVersion: number, reader: { buffer: { slice(): Buffer } }) =>
        decodeFetchResponse(v, reader.buffer.slice(), lib)) as Parameters<PlatformaticLibrary['createAPI']>[3],
    ) as unknown as LibraryApi;
    return Object.assign(ours, { async: promisify(ours) });
  }

  return {
    install(consumer) {
      return overrideApi(consumer, 'Fetch', replace, sayOnce);
    },
  };
}
