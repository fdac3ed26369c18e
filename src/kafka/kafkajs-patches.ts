/**
 * Six fixes for kafkajs 2.2.4 (in maintenance mode, so not fixed upstream). package.json pins kafkajs to exactly
 * that version; `applyKafkajsPatches()` applies all six, and throws (stopping the gateway at start-up) when one cannot
 * apply — another kafkajs version or file layout, or kafkajs loaded before the patches — instead of running with
 * kafkajs's original behaviour unnoticed. `KAFKAJS_PATCHES` names what applied; the gateway logs it at start-up.
 *
 * 1. O(n) record grouping, applied before kafkajs loads.
 *
 * kafkajs groups every send's messages by partition with `[...current, message]` per message: O(n²) in the records
 * per partition (tulios/kafkajs PR #1576, open). The gateway's batching hands it hundreds to thousands of records per
 * partition: 1,000 records to one partition cost ~3 ms of event-loop time per send, 10,000 ~190 ms (warm, on the
 * benchmark machine; ours: ~0.1 ms for both). The replacement below returns the same object (partition → messages
 * in their original order) in O(n).
 *
 * It works by seeding Node's CommonJS cache with our module under kafkajs's own file name, so kafkajs's
 * `require('./groupMessagesPerPartition')` gets it. So the patches must apply before anything loads kafkajs: in
 * src/kafka/ kafkajs is loaded only by kafkajs-library.ts, which applies them first, and the test set-up
 * (test/setup/kafkajs-patches.ts) applies them before any test file.
 */
import { createRequire, Module } from 'node:module';
import { StaleCommitError } from './commit-fence.js';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/**
 * Shared by every instance of this module in the process (a test runner may evaluate it more than once): how
 * often kafkajs called our grouping, which proves it is the one in use.
 */
const STATS_KEY = Symbol.for('kafka-gateway.kafkajs-patches');
const stats: { groupingCalls: number; fastDecoders: number } = ((globalThis as Record<symbol, unknown>)[STATS_KEY] ??= {
  groupingCalls: 0,
  fastDecoders: 0,
}) as { groupingCalls: number; fastDecoders: number };
stats.fastDecoders ??= 0;

/** How many times kafkajs grouped a send's messages with our O(n) grouping in this process. */
export function patchedGroupingCalls(): number {
  return stats.groupingCalls;
}

/** How many record batches kafkajs decoded with our record decoder in this process. */
export function patchedRecordBatches(): number {
  return stats.fastDecoders;
}

/** Marks our grouping function, whichever module instance made it. */
const OURS = Symbol.for('kafka-gateway.kafkajs-patches.grouping');

/** kafkajs's groupMessagesPerPartition, linear. */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  stats.groupingCalls++;
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);

/** The kafkajs version these patches were written for and checked against (package.json pins it). */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

/** Thrown by applyKafkajsPatches when a patch cannot apply: the gateway must not start with kafkajs's unpatched behaviour. */
export class KafkajsPatchError extends Error {
  override readonly name = 'KafkajsPatchError';
}

function fail(what: string, why: string): never {
  throw new KafkajsPatchError(
    `kafkajs patch "${what}" cannot apply: ${why}. See src/kafka/kafkajs-patches.ts (written for kafkajs ${PATCHED_KAFKAJS_VERSION}).`,
  );
}

function checkVersion(): void {
  let version: string;
  try {
    ({ version } = require('kafkajs/package.json') as { version: string });
  } catch {
    fail('version', 'kafkajs/package.json cannot be found (is kafkajs installed?)');
  }
  if (version !== PATCHED_KAFKAJS_VERSION)
    fail('version', `kafkajs ${version} is installed; review every patch against it, then update the pin`);
}

/** Seeds the CommonJS cache (idempotent: a second instance of this module finds its own copy there). */
function installGrouping(): void {
  let file: string;
  let sendMessages: string;
  try {
    file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
    sendMessages = require.resolve('kafkajs/src/producer/sendMessages');
  } catch {
    fail('O(n) grouping', 'kafkajs/src/producer/groupMessagesPerPartition.js is not where it was');
  }
  const cached = require.cache[file];
  if (cached) {
    if ((cached.exports as Record<symbol, unknown>)?.[OURS]) return; // this module, evaluated before
    fail('O(n) grouping', 'kafkajs was loaded before its patches (load it through src/kafka/kafkajs-library.ts)');
  }
  if (require.cache[sendMessages])
    fail('O(n) grouping', 'kafkajs was loaded before its patches (load it through src/kafka/kafkajs-library.ts)');
  Object.defineProperty(groupMessagesPerPartition, OURS, { value: true });
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = groupMessagesPerPartition;
  require.cache[file] = m;
}

/**
 * 2. A paused consumer wakes up on resume.
 *
 * When every partition a kafkajs consumer reads from a broker is paused, its fetch loop sleeps `maxWaitTime`
 * (KAFKA_CONSUMER_MAX_WAIT_MS, 500 ms) before it looks again (`consumerGroup.js`: `if (!requests.length) await
 * sleep(this.maxWaitTime)`), so a `resume` waits up to that long. WebSocket subscriptions pause whenever a socket's
 * window of unacknowledged records or its send buffer is full and resume as soon as the client catches up: with
 * the sleep, a group socket read at most one window per 500 ms per partition. Here the same wait ends early when
 * `resume` is called on that consumer. It works on ConsumerGroup's prototype, so it applies whenever this module
 * loads, before or after kafkajs. The bookkeeping kafkajs does before its sleep (metadata refresh,
 * stale-assignment check, pending seeks, its error recovery) is kept.
 */
interface ConsumerGroupLike {
  maxWaitTime: number;
  cluster: { refreshMetadataIfNecessary(): Promise<void> };
  subscriptionState: { assigned(): TopicPartitions[] };
  filterPartitionsByNode(nodeId: number, tps: TopicPartitions[]): TopicPartitions[];
  getActiveTopicPartitions(): Record<string, Set<number>>;
  checkForStaleAssignment(): void;
  seekOffsets(tps: TopicPartitions[]): Promise<void>;
  recoverFromFetch(e: unknown): Promise<void>;
  fetch(nodeId: number): Promise<unknown[]>;
  resume(tps: unknown): unknown;
}
interface TopicPartitions {
  topic: string;
  partitions: number[];
}

const wakers = new WeakMap<object, Set<() => void>>();

/** Sleeps `ms`, or less if `resume` is called on `group` meanwhile. */
function sleepUntilResumed(group: object, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let set = wakers.get(group);
    if (!set) wakers.set(group, (set = new Set()));
    const wake = () => {
      clearTimeout(timer);
      set.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    set.add(wake);
  });
}

/** Whether `group` has nothing to fetch from broker `nodeId` because all it reads there is paused. */
export function nothingActive(
  group: Pick<ConsumerGroupLike, 'subscriptionState' | 'filterPartitionsByNode' | 'getActiveTopicPartitions'>,
  nodeId: number,
): boolean {
  const active = group.getActiveTopicPartitions();
  return group
    .filterPartitionsByNode(nodeId, group.subscriptionState.assigned())
    .every(({ topic, partitions }) => partitions.every((p) => !active[topic]?.has(p)));
}

function installWakeOnResume(): void {
  let proto: ConsumerGroupLike;
  try {
    proto = (require('kafkajs/src/consumer/consumerGroup') as { prototype: ConsumerGroupLike }).prototype;
  } catch {
    fail('wake on resume', 'kafkajs/src/consumer/consumerGroup.js is not where it was');
  }
  const needed = [
    'fetch',
    'resume',
    'filterPartitionsByNode',
    'getActiveTopicPartitions',
    'checkForStaleAssignment',
    'seekOffsets',
    'recoverFromFetch',
  ] as const;
  const missing = needed.filter((m) => typeof proto[m] !== 'function');
  if (missing.length > 0) fail('wake on resume', `ConsumerGroup has no ${missing.join(', ')}`);
  if ((proto.fetch as { wakesOnResume?: boolean }).wakesOnResume) return;
  const fetch = proto.fetch;
  const resume = proto.resume;
  const patchedFetch = async function (this: ConsumerGroupLike, nodeId: number): Promise<unknown[]> {
    let idle: boolean;
    try {
      idle = nothingActive(this, nodeId);
    } catch {
      idle = false;
    }
    if (!idle) return fetch.call(this, nodeId);
    try {
      await this.cluster.refreshMetadataIfNecessary();
      this.checkForStaleAssignment();
      await this.seekOffsets(this.filterPartitionsByNode(nodeId, this.subscriptionState.assigned()));
    } catch (e) {
      await this.recoverFromFetch(e);
      return [];
    }
    await sleepUntilResumed(this, this.maxWaitTime);
    return [];
  };
  proto.fetch = Object.assign(patchedFetch, { wakesOnResume: true });
  proto.resume = function (this: ConsumerGroupLike, tps: unknown) {
    const out = resume.call(this, tps);
    for (const wake of [...(wakers.get(this) ?? [])]) wake();
    return out;
  };
}

/**
 * 3. No 1 ms timer loop on idle connections.
 *
 * Each broker connection's request queue re-arms a timer whenever a request completes: `setTimeout(check,
 * throttledUntil - Date.now())`. `throttledUntil` starts at -1, so unless the broker throttled the client the
 * delay is a large negative number, which Node runs as 1 ms (Node 24 also prints a TimeoutNegativeWarning for it,
 * tulios/kafkajs#1751); the check finds nothing pending and arms the same timer again. Every connection thus
 * wakes the process about 1,000 times a second for as long as it lives (measured: ~920 timers/s and ~2.4% of a
 * core for one idle producer). Here nothing is scheduled when nothing is pending and the broker is not
 * throttling: `push` schedules a check itself when it queues a request, and a completed request checks the queue.
 * A pending queue or an active throttle is scheduled exactly as before.
 */
interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  scheduleCheckPendingRequests(): void;
}

function installQuietRequestQueue(): void {
  let proto: RequestQueueLike;
  try {
    proto = (require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueLike }).prototype;
  } catch {
    fail('quiet request queue', 'kafkajs/src/network/requestQueue/index.js is not where it was');
  }
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function') fail('quiet request queue', 'RequestQueue has no scheduleCheckPendingRequests');
  if ((original as { quiet?: boolean }).quiet) return;
  const quiet = function (this: RequestQueueLike): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto.scheduleCheckPendingRequests = Object.assign(quiet, { quiet: true });
}

/**
 * 4. Records decoded with numbers instead of BigInt.
 *
 * kafkajs decodes every record's offset and timestamp through its BigInt `Long`: per record it parses the batch's
 * first offset from its string form (`Long.fromValue(firstOffset)`), adds the delta and prints the sum back to a
 * string (`toString`), the same again for the timestamp (create-time topics), and its varlong reader allocates a
 * BigInt per byte. That made decoding a 100-byte record cost several microseconds, more than everything the
 * gateway does with it afterwards (W3 in docs/performance.md). The replacement reads the same fields with plain
 * numbers while they are exact (every value below 2^53: all offsets and millisecond timestamps in practice) and
 * hands a record to kafkajs's own decoder otherwise (a longer varlong, a first offset or timestamp past 2^53, a
 * header named `__proto__`); the record it returns is field for field what kafkajs's decoder returns
 * (test/unit/kafka/kafkajs-patches.test.ts compares them). Like the grouping, it must be in place before kafkajs
 * loads its record-batch decoder, which keeps a reference to the record decoder.
 */
interface RecordDecoderLike {
  offset: number;
  buffer: Buffer;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}
interface RecordBatchContext {
  firstOffset: string;
  firstTimestamp: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}
type RecordDecoder = (decoder: RecordDecoderLike, batchContext?: RecordBatchContext) => unknown;

const LOG_APPEND_TIME = 1;
/** A varlong of at most this many bytes holds at most 49 bits: exact as a number. */
const MAX_EXACT_VARLONG_BYTES = 7;

/** The zigzag varlong at the decoder's position as a number, or undefined (position unchanged) if it is longer. */
function readShortVarLong(d: RecordDecoderLike): number | undefined {
  const buf = d.buffer;
  let at = d.offset;
  let value = 0;
  let scale = 1;
  for (let n = 0; n < MAX_EXACT_VARLONG_BYTES; n++) {
    const byte = buf[at++];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      d.offset = at;
      // zigzag: 0, -1, 1, -2, ... ↔ 0, 1, 2, 3, ...
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    scale *= 128;
  }
  return undefined;
}

/** A decimal string as a number if it is exact (safe integer), else NaN. */
function exactNumber(s: string | undefined): number {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

export function makeFastRecordDecoder(original: RecordDecoder): RecordDecoder {
  // The batch's first offset and timestamp as numbers, worked out once per batch (all its records share the context).
  let context: RecordBatchContext | undefined;
  let firstOffset = Number.NaN;
  let firstTimestamp = Number.NaN;
  return function decodeRecord(decoder, batchContext = {} as RecordBatchContext) {
    if (batchContext !== context) {
      stats.fastDecoders++;
      context = batchContext;
      firstOffset = exactNumber(batchContext.firstOffset);
      firstTimestamp = exactNumber(batchContext.firstTimestamp);
    }
    const start = decoder.offset;
    const attributes = decoder.readInt8();
    const timestampDelta = readShortVarLong(decoder);
    let timestamp: string | undefined;
    if (batchContext.timestampType === LOG_APPEND_TIME && batchContext.maxTimestamp)
      timestamp = batchContext.maxTimestamp;
    else if (timestampDelta !== undefined && Number.isSafeInteger(firstTimestamp + timestampDelta))
      timestamp = String(firstTimestamp + timestampDelta);
    const offset = firstOffset + decoder.readVarInt();
    if (timestampDelta === undefined || timestamp === undefined || !Number.isSafeInteger(offset)) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const count = decoder.readVarInt();
    const headers: Record<string, Buffer | null | (Buffer | null)[]> = {};
    for (let i = 0; i < count; i++) {
      const name = decoder.readVarIntString() as string;
      const v = decoder.readVarIntBytes();
      if (name === '__proto__') {
        decoder.offset = start;
        return original(decoder, batchContext);
      }
      // As kafkajs: a repeated header becomes an array of its values, in order.
      const had = headers[name];
      headers[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    return {
      magicByte: batchContext.magicByte,
      attributes,
      timestamp,
      offset: String(offset),
      key,
      value,
      headers,
      isControlRecord: batchContext.isControlBatch ?? false,
      batchContext,
    };
  };
}

/** Marks our record decoder, whichever module instance made it. */
const FAST_DECODER = Symbol.for('kafka-gateway.kafkajs-patches.record-decoder');

function installFastRecordDecoder(): void {
  let file: string;
  let batchDecoder: string;
  try {
    file = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder');
    batchDecoder = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder');
  } catch {
    fail('record decoding', 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js is not where it was');
  }
  const cached = require.cache[file];
  if ((cached?.exports as Record<symbol, unknown> | undefined)?.[FAST_DECODER]) return; // this module, evaluated before
  if (require.cache[batchDecoder])
    fail('record decoding', 'kafkajs was loaded before its patches (load it through src/kafka/kafkajs-library.ts)');
  const original = require(file) as RecordDecoder;
  if (typeof original !== 'function') fail('record decoding', 'the record decoder is not a function');
  const fast = makeFastRecordDecoder(original);
  Object.defineProperty(fast, FAST_DECODER, { value: true });
  require.cache[file]!.exports = fast;
}

/**
 * 5. An idle connection lets go of its last response.
 *
 * kafkajs's Connection gathers a response's chunks, concatenates them into one Buffer, decodes the response and
 * keeps what follows it for the next one: `this.chunks = [remainder]`, a slice of that Buffer, of length 0 when the
 * response ended the data (the usual case). A slice keeps its whole backing Buffer alive, so every connection holds
 * its last response until the next one arrives: a fetch of up to KAFKA_CONSUMER_FETCH_MAX_BYTES (1 MiB) for every
 * consumer that is paused or idle. With 500 assign subscriptions whose sockets do not read (W4b in
 * docs/performance.md) that was most of 855 MiB of Buffer memory outside any budget. After kafkajs's own
 * processing, an empty remainder is dropped and a short one copied out of its large backing Buffer.
 */
interface ConnectionLike {
  chunks: Buffer[];
  processData(rawData: Buffer): unknown;
}

/** A remainder shorter than this share of its backing Buffer is copied out of it (and the Buffer let go). */
const REMAINDER_COPY_RATIO = 0.25;

/** After Connection.processData: what it keeps for the next response, without pinning the last one. */
export function releaseLastResponse(conn: Pick<ConnectionLike, 'chunks'>): void {
  if (conn.chunks.length !== 1) return;
  const rest = conn.chunks[0]!;
  if (rest.length === 0) conn.chunks = [];
  else if (rest.length < rest.buffer.byteLength * REMAINDER_COPY_RATIO && rest.buffer.byteLength > 64 * 1024)
    conn.chunks = [Buffer.from(rest)];
}

function installReleaseLastResponse(): void {
  let proto: ConnectionLike;
  try {
    proto = (require('kafkajs/src/network/connection') as { prototype: ConnectionLike }).prototype;
  } catch {
    fail('release last response', 'kafkajs/src/network/connection.js is not where it was');
  }
  const original = proto.processData;
  if (typeof original !== 'function') fail('release last response', 'Connection has no processData');
  if ((original as { releases?: boolean }).releases) return;
  const patched = function (this: ConnectionLike, rawData: Buffer): unknown {
    const out = original.call(this, rawData);
    if (Array.isArray(this.chunks)) releaseLastResponse(this);
    return out;
  };
  proto.processData = Object.assign(patched, { releases: true });
}

let applied = false;

/**
 * 6. A commit goes out in the generation it was asked in (the same rule as commit-fence.ts for @platformatic/kafka).
 *
 * kafkajs's runner retries a failed commit after a backoff when it counts the error as retriable (NOT_COORDINATOR,
 * a request timeout, a closed connection), and each try is sent with the consumer group's generation *at that
 * try*. When the group rebalanced meanwhile, offsets read in the old generation go out in the new one, where Kafka
 * takes them whatever partitions the member holds now, and can move a partition's committed offset back behind what
 * its next owner already committed. Here the runner notes the generation when a commit is asked, and a try in
 * another generation is not sent: the commit fails with StaleCommitError (not retriable), which the group session
 * answers as 409 40903 (nothing committed), as Java's commitSync does after a rebalance.
 */
const ASKED_IN_GENERATION = Symbol('kafka-gateway.commit-asked-in-generation');

interface RunnerLike {
  consumerGroup?: { generationId?: number };
  commitOffsets(offsets: object): Promise<void> | undefined;
}
interface CommittingGroupLike {
  generationId?: number;
  commitOffsets(offsets?: Record<symbol, unknown>): Promise<void>;
}

function installCommitFence(): void {
  let runner: RunnerLike;
  let group: CommittingGroupLike;
  try {
    runner = (require('kafkajs/src/consumer/runner') as { prototype: RunnerLike }).prototype;
    group = (require('kafkajs/src/consumer/consumerGroup') as { prototype: CommittingGroupLike }).prototype;
  } catch {
    fail('commit fence', "kafkajs's consumer runner or consumer group is not where it was");
  }
  if (typeof runner.commitOffsets !== 'function' || typeof group.commitOffsets !== 'function')
    fail('commit fence', 'the runner or the consumer group has no commitOffsets');
  if ((group.commitOffsets as { fenced?: boolean }).fenced) return;
  const ask = runner.commitOffsets;
  const send = group.commitOffsets;
  runner.commitOffsets = function (this: RunnerLike, offsets: object) {
    return ask.call(this, { ...offsets, [ASKED_IN_GENERATION]: this.consumerGroup?.generationId });
  };
  group.commitOffsets = Object.assign(
    async function (this: CommittingGroupLike, offsets?: Record<symbol, unknown>) {
      const asked = offsets?.[ASKED_IN_GENERATION] as number | undefined;
      if (asked !== undefined && asked !== this.generationId)
        throw new StaleCommitError([asked], this.generationId ?? -1);
      return send.call(this, offsets);
    },
    { fenced: true },
  );
}

/**
 * Applies all six (once; later calls return at once). Applying requires kafkajs's own files, so it happens when the
 * gateway first needs kafkajs (kafkajs-library.ts), never at import: a gateway on @platformatic/kafka loads nothing
 * of kafkajs. Throws KafkajsPatchError when a patch cannot apply, or when kafkajs was loaded before this call.
 */
export function applyKafkajsPatches(): void {
  if (applied) return;
  // Grouping first: it must be in place before anything (the consumer patch included) loads kafkajs's producer.
  checkVersion();
  installGrouping();
  installWakeOnResume();
  installQuietRequestQueue();
  installFastRecordDecoder();
  installReleaseLastResponse();
  installCommitFence();
  applied = true;
}

/** The patches in force (all, or this module threw): logged by the gateway at start-up. */
export const KAFKAJS_PATCHES: readonly string[] = Object.freeze([
  'O(n) record grouping',
  'wake on resume',
  'quiet request queue',
  'record decoding with numbers',
  'idle connections release their last response',
  'commits stay in their generation',
]);
