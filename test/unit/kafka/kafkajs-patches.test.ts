// The kafkajs patches: the O(n) replacement for kafkajs's groupMessagesPerPartition is what kafkajs's producer
// requires and returns exactly what kafkajs's own returns (its cost is a benchmark matter, not a timed test); a paused
// consumer wakes on resume; and a patch that cannot apply stops the process instead of going unnoticed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { isStaleCommit } from '../../../src/kafka/commit-fence.js';
import {
  groupMessagesPerPartition,
  KAFKAJS_PATCHES,
  nothingActive,
  PATCHED_KAFKAJS_VERSION,
  patchedRecordBatches,
  releaseLastResponse,
} from '../../../src/kafka/kafkajs-patches.js';

const require = createRequire(import.meta.url);
const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');

/** kafkajs's original implementation, compiled from its file (the cache now holds ours). */
function original(): typeof groupMessagesPerPartition {
  const module = { exports: undefined as unknown };
  new Function('module', 'exports', 'require', readFileSync(file, 'utf8'))(module, module.exports, require);
  return module.exports as typeof groupMessagesPerPartition;
}

it('is the grouping kafkajs’s producer requires', () => {
  expect(KAFKAJS_PATCHES).toEqual([
    'O(n) record grouping',
    'wake on resume',
    'quiet request queue',
    'record decoding with numbers',
    'idle connections release their last response',
    'commits stay in their generation',
  ]);
  const ours = require(file) as ((args: never) => unknown) & Record<symbol, unknown>;
  expect(ours[Symbol.for('kafka-gateway.kafkajs-patches.grouping')]).toBe(true);
  // kafkajs's sendMessages (what every producer send runs) was loaded with ours as its child module.
  const { Kafka } = require('kafkajs') as typeof import('kafkajs');
  new Kafka({ brokers: ['127.0.0.1:1'] }).producer();
  const sendMessages = require.cache[require.resolve('kafkajs/src/producer/sendMessages')];
  expect(sendMessages?.children.find((m) => m.filename === file)?.exports).toBe(ours);
});

it('is written for the kafkajs version package.json pins, and that is the one installed', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  expect(pkg.dependencies.kafkajs).toBe(PATCHED_KAFKAJS_VERSION);
  expect((require('kafkajs/package.json') as { version: string }).version).toBe(PATCHED_KAFKAJS_VERSION);
});

it('groups exactly as kafkajs does: partition → messages in their original order', () => {
  const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }];
  const messages = Array.from({ length: 200 }, (_, i) => ({ value: String(i), partition: (i * 7) % 3 }));
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;
  const args = { topic: 't', partitionMetadata, messages, partitioner };
  expect(groupMessagesPerPartition(args)).toEqual(original()(args));
  expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
});

describe('wake on resume', () => {
  const proto = (require('kafkajs/src/consumer/consumerGroup') as { prototype: Record<string, unknown> }).prototype;

  /** A ConsumerGroup with kafkajs's own fetch/resume (patched) around stand-ins for its state. */
  function group(active: Record<string, Set<number>>) {
    const calls: string[] = [];
    const g = Object.create(proto) as Record<string, unknown> & {
      fetch(n: number): Promise<unknown[]>;
      resume(tps: unknown): void;
    };
    Object.assign(g, {
      maxWaitTime: 30_000,
      logger: { info: () => {} },
      cluster: { refreshMetadataIfNecessary: async () => void calls.push('metadata') },
      subscriptionState: {
        assigned: () => [{ topic: 't', partitions: [0, 1] }],
        resume: () => void calls.push('resume'),
      },
      filterPartitionsByNode: (_n: number, tps: unknown) => tps,
      getActiveTopicPartitions: () => active,
      checkForStaleAssignment: () => void calls.push('stale-check'),
      seekOffsets: async () => void calls.push('seeks'),
      recoverFromFetch: async () => {},
      // With these, kafkajs's own fetch finds nothing active and sleeps maxWaitTime (30 s).
      offsetManager: { committedOffsets: () => ({ t: { 0: '0', 1: '0' } }) },
    });
    return { g, calls };
  }

  it('is installed on kafkajs ConsumerGroup', () => {
    expect((proto.fetch as { wakesOnResume?: boolean }).wakesOnResume).toBe(true);
  });

  it('a fetch with every partition paused waits until resume, not maxWaitTime, after kafkajs bookkeeping', async () => {
    vi.useFakeTimers();
    try {
      const { g, calls } = group({ t: new Set() });
      let done = false;
      const fetched = g.fetch(1).finally(() => (done = true));
      await vi.advanceTimersByTimeAsync(29_000); // just short of maxWaitTime (30 s)
      expect(done).toBe(false);
      expect(calls).toEqual(['metadata', 'stale-check', 'seeks']);
      g.resume([{ topic: 't', partitions: [0] }]);
      await expect(fetched).resolves.toEqual([]);
      expect(calls).toContain('resume');
    } finally {
      vi.useRealTimers();
    }
  });

  it('without a resume the paused fetch still ends after maxWaitTime, as kafkajs’s own sleep does', async () => {
    vi.useFakeTimers();
    try {
      const { g } = group({ t: new Set() });
      let done = false;
      const fetched = g.fetch(1).finally(() => (done = true));
      await vi.advanceTimersByTimeAsync(29_999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await expect(fetched).resolves.toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('knows when a broker has something to fetch', () => {
    expect(nothingActive(group({ t: new Set([1]) }).g as never, 1)).toBe(false);
    expect(nothingActive(group({}).g as never, 1)).toBe(true);
  });
});

describe('commits stay in their generation', () => {
  const Runner = require('kafkajs/src/consumer/runner') as { prototype: { commitOffsets(o: object): unknown } };
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as {
    prototype: { commitOffsets(o?: object): Promise<void> };
  };
  /** A consumer group in `generation` whose offset manager records what it was asked to send. */
  function group(generation: number) {
    const sent: unknown[] = [];
    const g = Object.create(ConsumerGroup.prototype) as { generationId: number; offsetManager: object };
    g.generationId = generation;
    g.offsetManager = { commitOffsets: async (o: unknown) => void sent.push(o) };
    return { g, sent };
  }
  /** kafkajs's runner retrying a commit (as its retrier does) while the group moves to `later` in between. */
  async function retriedAcrossRejoin(later: number) {
    const { g, sent } = group(7);
    const runner = Object.create(Runner.prototype) as Record<string, unknown>;
    let tries = 0;
    Object.assign(runner, {
      running: true,
      consumerGroup: g,
      logger: { debug: () => {} },
      retrier: async (fn: (bail: (e: Error) => void, n: number, t: number) => Promise<void>) => {
        for (;;) {
          try {
            return await fn(() => {}, tries, 0);
          } catch (e) {
            if ((e as { retriable?: boolean }).retriable === false || ++tries > 2) throw e;
            g.generationId = later; // the group rejoined before the retry
          }
        }
      },
    });
    const offsetManager = g.offsetManager as { commitOffsets(o: unknown): Promise<void> };
    const first = offsetManager.commitOffsets;
    let failedOnce = false;
    offsetManager.commitOffsets = async (o: unknown) => {
      if (!failedOnce) {
        failedOnce = true;
        throw Object.assign(new Error('NOT_COORDINATOR'), { retriable: true });
      }
      return first(o);
    };
    const result = await (runner.commitOffsets as (o: object) => Promise<void>)({ topics: [] }).then(
      () => 'committed',
      (e: unknown) => e,
    );
    return { result, sent };
  }

  it('a retry in the generation the commit was asked in goes out', async () => {
    const { result, sent } = await retriedAcrossRejoin(7);
    expect(result).toBe('committed');
    expect(sent).toHaveLength(1);
  });

  it('a retry after the group rebalanced is not sent, and fails for good (kafkajs sent it in the new generation)', async () => {
    const { result, sent } = await retriedAcrossRejoin(8);
    expect(sent).toEqual([]);
    expect(isStaleCommit(result)).toBe(true);
  });

  it('a commit kafkajs makes itself (auto-commit, no generation noted) goes out as before', async () => {
    const { g, sent } = group(9);
    await ConsumerGroup.prototype.commitOffsets.call(g);
    expect(sent).toEqual([undefined]);
  });
});

describe('a patch that cannot apply', () => {
  it('stops the process with a clear message when kafkajs was loaded first', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [`${root}node_modules/tsx/dist/cli.mjs`, `${root}test/unit/fixtures/kafkajs-before-patches.mts`],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('kafkajs patch "O(n) grouping" cannot apply: kafkajs was loaded before its patches');
  }, 30_000);
});

describe('quiet request queue (no 1 ms timer loop on an idle connection)', () => {
  type Queue = {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    scheduleCheckPendingRequests(): void;
    destroy(): void;
  };
  const RequestQueue = require('kafkajs/src/network/requestQueue') as new (o: object) => Queue;
  const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
    createLogger(o: object): unknown;
    LEVELS: Record<string, number>;
  };
  const queue = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 1000,
      enforceRequestTimeout: true,
      clientId: 'test',
      broker: '127.0.0.1:1',
      logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
    });

  it('arms no timer when nothing is pending and the broker is not throttling (kafkajs armed one every 1 ms)', () => {
    const q = queue();
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('still schedules a check for pending requests, and for the end of a throttle', () => {
    const pending = queue();
    pending.pending.push({});
    pending.scheduleCheckPendingRequests();
    expect(pending.throttleCheckTimeoutId).not.toBeNull();
    pending.destroy();

    const throttled = queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
    throttled.destroy();
  });
});

describe('record decoding with numbers', () => {
  const recordFile = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder');
  type Decode = (decoder: unknown, ctx?: object) => Record<string, unknown>;
  /** kafkajs's own record decoder, compiled from its file (the cache now holds ours). */
  function originalDecoder(): Decode {
    const module = { exports: undefined as unknown };
    new Function('module', 'exports', 'require', readFileSync(recordFile, 'utf8'))(
      module,
      module.exports,
      createRequire(recordFile),
    );
    return module.exports as Decode;
  }
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarIntBytes(): Buffer };
  const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => { buffer: Buffer };
  /** A record's body as kafkajs's batch decoder hands it to the record decoder. */
  const body = (r: object) => new Decoder(encodeRecord(r).buffer).readVarIntBytes();

  const records = [
    { offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.from('plain') },
    { offsetDelta: 7, timestampDelta: 12, key: Buffer.from('k'), value: null },
    { offsetDelta: 300, timestampDelta: -5, key: Buffer.from(''), value: Buffer.from('{"a":1}') },
    // Repeated headers become arrays of their values, in order; a null header value stays null.
    {
      offsetDelta: 2,
      timestampDelta: 1,
      key: null,
      value: Buffer.from('h'),
      headers: {
        a: Buffer.from('1'),
        b: [Buffer.from('2'), Buffer.from('3'), Buffer.from('4')],
        c: [Buffer.from('5')],
      },
    },
    // A timestamp delta too long for a number-exact varlong: kafkajs's own decoder takes the record.
    { offsetDelta: 1, timestampDelta: 2 ** 52, key: null, value: Buffer.from('far') },
    { offsetDelta: 1, timestampDelta: -(2 ** 50), key: null, value: Buffer.from('far back') },
  ];
  const contexts = [
    { firstOffset: '0', firstTimestamp: '1700000000000', timestampType: 0, maxTimestamp: '1700000000099' },
    { firstOffset: '123456789', firstTimestamp: '-1', timestampType: 0, maxTimestamp: '-1' },
    // LogAppendTime: every record carries the batch's max timestamp.
    { firstOffset: '42', firstTimestamp: '1700000000000', timestampType: 1, maxTimestamp: '1700000000555' },
    // Past 2^53: offsets and timestamps must come out as kafkajs prints them (it computes with BigInt).
    { firstOffset: '9007199254740990', firstTimestamp: '9007199254740990', timestampType: 0, maxTimestamp: '0' },
    { firstOffset: '9223372036854775000', firstTimestamp: '1700000000000', timestampType: 0, maxTimestamp: '0' },
  ];

  it('is the record decoder kafkajs uses', async () => {
    const ours = require(recordFile) as Record<symbol, unknown>;
    expect(ours[Symbol.for('kafka-gateway.kafkajs-patches.record-decoder')]).toBe(true);
    // A record batch through kafkajs's own batch decoder goes through ours.
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
      RecordBatch: (b: object) => Promise<{ buffer: Buffer }>;
    };
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
      d: unknown,
    ) => Promise<{ records: { offset: string }[] }>;
    const encoded = await RecordBatch({ records: records.slice(0, 3).map((r) => encodeRecord(r)) });
    const before = patchedRecordBatches();
    const decoded = await decodeBatch(new Decoder(encoded.buffer));
    expect(decoded.records.map((r) => r.offset)).toEqual(['0', '7', '300']);
    expect(patchedRecordBatches()).toBe(before + 1);
  });

  it('returns field for field what kafkajs decodes, exact past 2^53 too', () => {
    const ours = require(recordFile) as Decode;
    const theirs = originalDecoder();
    let compared = 0;
    for (const ctx of contexts)
      for (const r of records) {
        const batchContext = { ...ctx, magicByte: 2, isControlBatch: false, inTransaction: false };
        const got = ours(new Decoder(body(r)), batchContext);
        const want = theirs(new Decoder(body(r)), batchContext);
        expect(got).toEqual(want);
        expect(Object.keys(got)).toEqual(Object.keys(want));
        expect(got.batchContext).toBe(batchContext);
        compared++;
      }
    expect(compared).toBe(contexts.length * records.length);
    // Spot checks against values worked out by hand, not by either decoder.
    const at = (r: number, c: number) => ours(new Decoder(body(records[r]!)), { ...contexts[c]!, magicByte: 2 });
    expect(at(2, 1)).toMatchObject({ offset: '123457089', timestamp: '-6' });
    expect(at(1, 3)).toMatchObject({ offset: '9007199254740997', timestamp: '9007199254741002' });
    expect(at(1, 2)).toMatchObject({ offset: '49', timestamp: '1700000000555' });
  });

  it('leaves a header named __proto__ to kafkajs, whatever kafkajs makes of it', () => {
    const ours = require(recordFile) as Decode;
    const r = {
      offsetDelta: 0,
      timestampDelta: 0,
      key: null,
      value: null,
      headers: { ['__proto__']: Buffer.from('x') },
    };
    const ctx = { ...contexts[0]!, magicByte: 2 };
    const got = ours(new Decoder(body(r)), ctx);
    expect(got).toEqual(originalDecoder()(new Decoder(body(r)), ctx));
    // Not a record whose headers object got a new prototype.
    expect(Object.getPrototypeOf(got.headers)).toBe(Object.prototype);
  });
});

describe('idle connections release their last response', () => {
  const Connection = require('kafkajs/src/network/connection') as {
    prototype: { processData(this: unknown, data: Buffer): void };
  };
  /** A kafkajs Connection as processData sees it, with the responses it hands to its request queue. */
  function connection() {
    const got: { correlationId: number; payload: Buffer }[] = [];
    return {
      got,
      conn: {
        chunks: [] as Buffer[],
        bytesBuffered: 0,
        bytesNeeded: 4,
        requestQueue: { fulfillRequest: (r: { correlationId: number; payload: Buffer }) => got.push(r) },
      },
    };
  }
  /** A response on the wire: size, correlation id, payload. */
  const response = (id: number, payload: Buffer) => {
    const b = Buffer.alloc(8 + payload.length);
    b.writeInt32BE(4 + payload.length, 0);
    b.writeInt32BE(id, 4);
    payload.copy(b, 8);
    return b;
  };

  it('keeps nothing of a response once it was handed on, however it arrived', () => {
    const { conn, got } = connection();
    const big = response(7, Buffer.alloc(300 * 1024, 1));
    // In three chunks, as a socket delivers a large fetch response.
    for (const part of [big.subarray(0, 100_000), big.subarray(100_000, 200_000), big.subarray(200_000)])
      Connection.prototype.processData.call(conn, part);
    expect(got.map((r) => [r.correlationId, r.payload.length])).toEqual([[7, 300 * 1024]]);
    expect(conn.chunks).toEqual([]); // kafkajs kept an empty slice of the 300 KiB Buffer
    expect(conn.bytesBuffered).toBe(0);
  });

  it('what follows a response is kept (copied out of a large Buffer) and completes the next one', () => {
    const { conn, got } = connection();
    const first = response(1, Buffer.alloc(200 * 1024, 2));
    const second = response(2, Buffer.from('second'));
    const both = Buffer.concat([first, second]);
    Connection.prototype.processData.call(conn, both.subarray(0, first.length + 5));
    expect(got.map((r) => r.correlationId)).toEqual([1]);
    expect(conn.chunks).toHaveLength(1);
    expect(conn.chunks[0]!.length).toBe(5);
    // A copy, not a view of the 200 KiB one (a small copy may sit in Node's shared pool: 8 KiB, 64 KiB on Node 24).
    expect(conn.chunks[0]!.buffer).not.toBe(both.buffer);
    expect(conn.chunks[0]!.buffer.byteLength).toBeLessThan(200 * 1024);
    Connection.prototype.processData.call(conn, both.subarray(first.length + 5));
    expect(got.map((r) => [r.correlationId, r.payload.toString()])).toEqual([
      [1, got[0]!.payload.toString()],
      [2, 'second'],
    ]);
    expect(conn.chunks).toEqual([]);
  });

  it('leaves a partial response and small buffers as they are', () => {
    const c = { chunks: [Buffer.from('abc')] };
    releaseLastResponse(c);
    expect(c.chunks[0]!.toString()).toBe('abc');
    const whole = Buffer.alloc(100 * 1024);
    const p = { chunks: [whole] };
    releaseLastResponse(p);
    expect(p.chunks[0]).toBe(whole);
  });
});
