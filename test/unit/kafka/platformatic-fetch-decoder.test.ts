// The Fetch response decoding of src/kafka/platformatic-fetch-decoder.ts gives what @platformatic/kafka's own
// `fetchV<N>.parseResponse` gives, for every version it decodes (errors included), and its record cursor gives the
// ConsumedRecords the reader made of the library's records; the consumer reaches it.
import * as lib from '@platformatic/kafka';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumedRecord } from '../../../src/kafka/consumer-types.js';
import {
  DECODED_FETCH_VERSIONS,
  decodeFetchResponse,
  FetchedBatch,
  fetchDecoder,
} from '../../../src/kafka/platformatic-fetch-decoder.js';
import { toConsumedRecord } from '../../../src/kafka/platformatic-reader.js';
import type { Logger } from '../../../src/observability/logger.js';

const VERSIONS: number[] = [];
for (let v = DECODED_FETCH_VERSIONS.min; v <= DECODED_FETCH_VERSIONS.max; v++) VERSIONS.push(v);
const T0 = 1_764_000_000_000n;

afterEach(() => {
  vi.restoreAllMocks();
});

// --- A Fetch response encoder for the tests (Kafka's layout, versions 12–17) ---

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const compactString = (s: string | null) => {
  if (s === null) return uvarint(0);
  const b = Buffer.from(s);
  return Buffer.concat([uvarint(b.length + 1), b]);
};
const compactArray = <T>(items: T[] | null, each: (t: T) => Buffer) =>
  items === null ? uvarint(0) : Buffer.concat([uvarint(items.length + 1), ...items.map(each)]);
const tags = (fields: [number, Buffer][]) =>
  Buffer.concat([uvarint(fields.length), ...fields.flatMap(([tag, b]) => [uvarint(tag), uvarint(b.length), b])]);

interface PartitionSpec {
  index: number;
  errorCode?: number;
  aborted?: { producerId: bigint; firstOffset: bigint }[] | null;
  /** The records field: null, or the batches' bytes. */
  records: Buffer | null;
  diverging?: [number, bigint];
  leader?: [number, number];
  snapshot?: [bigint, number];
  unknownTag?: boolean;
}
interface TopicSpec {
  /** A UUID (v13 on) or a name (v12). */
  id: string;
  partitions: PartitionSpec[];
}
interface ResponseSpec {
  errorCode?: number;
  sessionId?: number;
  topics: TopicSpec[] | null;
  endpoints?: { nodeId: number; host: string; port: number; rack: string | null }[];
}

const uuidBytes = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');

function encodeResponse(version: number, r: ResponseSpec): Buffer {
  const partition = (p: PartitionSpec) => {
    const fields: [number, Buffer][] = [];
    if (p.diverging) fields.push([0, Buffer.concat([int32(p.diverging[0]), int64(p.diverging[1])])]);
    if (p.leader) fields.push([1, Buffer.concat([int32(p.leader[0]), int32(p.leader[1])])]);
    if (p.snapshot) fields.push([2, Buffer.concat([int64(p.snapshot[0]), int32(p.snapshot[1])])]);
    if (p.unknownTag) fields.push([7, Buffer.from([1, 2, 3])]);
    return Buffer.concat([
      int32(p.index),
      int16(p.errorCode ?? 0),
      int64(1000n + BigInt(p.index)),
      int64(900n),
      int64(5n),
      compactArray(p.aborted ?? null, (a) => Buffer.concat([int64(a.producerId), int64(a.firstOffset), tags([])])),
      int32(-1),
      p.records === null ? uvarint(0) : Buffer.concat([uvarint(p.records.length + 1), p.records]),
      tags(fields),
    ]);
  };
  const topic = (t: TopicSpec) =>
    Buffer.concat([
      version >= 13 ? uuidBytes(t.id) : compactString(t.id),
      compactArray(t.partitions, partition),
      tags([]),
    ]);
  const endpoint = (e: NonNullable<ResponseSpec['endpoints']>[number]) =>
    Buffer.concat([int32(e.nodeId), compactString(e.host), int32(e.port), compactString(e.rack), tags([])]);
  return Buffer.concat([
    int32(0),
    int16(r.errorCode ?? 0),
    int32(r.sessionId ?? 0),
    compactArray(r.topics, topic),
    tags(r.endpoints ? [[0, compactArray(r.endpoints, endpoint)]] : []),
  ]);
}

type Message = Parameters<typeof lib.createRecordsBatch>[0][number];

/** A record batch as Kafka stores it, at `baseOffset`, with extra attribute bits (LogAppendTime, control). */
function batch(
  messages: Message[],
  o: { baseOffset?: bigint; compression?: string; attributes?: number; producerId?: bigint } = {},
): Buffer {
  const bytes = Buffer.from(
    lib.createRecordsBatch(messages, {
      ...(o.compression ? { compression: o.compression as 'gzip' } : {}),
      ...(o.producerId === undefined ? {} : { producerId: o.producerId, producerEpoch: 0 }),
    }).buffer,
  );
  bytes.writeBigInt64BE(o.baseOffset ?? 0n, 0);
  if (o.attributes) bytes.writeInt16BE(bytes.readInt16BE(21) | o.attributes, 21);
  return bytes;
}

const m = (value: string | null, extra: Partial<Message> = {}): Message => ({
  topic: 't',
  value: value === null ? (null as unknown as Buffer) : Buffer.from(value),
  timestamp: T0,
  ...extra,
});

// --- The comparison ---

type Parsed = {
  responses: { topicId: string; partitions: { partitionIndex: number; records: unknown[] | null }[] }[];
};

/** The library's parse of a response body. */
function libraryParse(version: number, body: Buffer): { response?: Parsed; error?: lib.ResponseError } {
  const mod = (lib as unknown as Record<string, { parseResponse: (...a: unknown[]) => Parsed }>)[`fetchV${version}`]!;
  try {
    return { response: mod.parseResponse(0, 1, version, lib.Reader.from(body)) };
  } catch (e) {
    return { error: e as lib.ResponseError };
  }
}

function ourParse(version: number, body: Buffer): { response?: Parsed; error?: lib.ResponseError } {
  try {
    return { response: decodeFetchResponse(version, body, lib) as Parsed };
  } catch (e) {
    return { error: e as lib.ResponseError };
  }
}

/** A response with our batches in the library's form (their header fields, and `records` as the library reads them). */
function asLibrary(r: Parsed): unknown {
  return {
    ...r,
    responses: r.responses.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({
        ...p,
        records:
          p.records?.map((b) => {
            if (!(b instanceof FetchedBatch)) return b;
            const { bytes: _bytes, count: _count, lib: _lib, ...header } = b as unknown as Record<string, unknown>;
            return { ...header, records: b.records };
          }) ?? null,
      })),
    })),
  };
}

type LibraryBatch = Parameters<typeof toConsumedRecord>[2];

/** Every record of a parse as ConsumedRecords: ours through the cursor, the library's through toConsumedRecord. */
function consumed(r: Parsed, from = 0): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (const t of r.responses)
    for (const p of t.partitions)
      for (const b of p.records ?? []) {
        if (b instanceof FetchedBatch) {
          const c = b.cursor(t.topicId, p.partitionIndex);
          for (let x = c.next(from); x; x = c.next(from)) out.push(x);
        } else {
          const lb = b as LibraryBatch;
          for (const rec of lb.records) {
            const x = toConsumedRecord(t.topicId, p.partitionIndex, lb, rec);
            if (x.offset >= from) out.push(x);
          }
        }
      }
  return out;
}

/** A value as text (Buffers as hex, BigInts as digits): comparing texts is much faster than deep-equal of Buffers. */
const text = (x: unknown) =>
  JSON.stringify(x, function (this: Record<string, unknown>, k, v) {
    const raw = this[k];
    if (Buffer.isBuffer(raw)) return `0x${raw.toString('hex')}`;
    return typeof v === 'bigint' ? `${v}n` : v;
  });

function expectSame(version: number, spec: ResponseSpec, from = 0): Parsed | undefined {
  const body = encodeResponse(version, spec);
  const theirs = libraryParse(version, body);
  const ours = ourParse(version, body);
  if (theirs.error) {
    expect(ours.error, `v${version}: the library threw ${theirs.error.message}`).toBeInstanceOf(lib.ResponseError);
    expect(ours.error!.message).toBe(theirs.error.message);
    const paths = (e: lib.ResponseError) =>
      (e.errors as unknown as { path: string; apiCode: number }[]).map((x) => [x.path, x.apiCode]);
    expect(paths(ours.error!)).toEqual(paths(theirs.error));
    const response = (e: lib.ResponseError) => (e as unknown as { response: Parsed }).response;
    expect(text(asLibrary(response(ours.error!)))).toBe(text(response(theirs.error)));
    return undefined;
  }
  expect(ours.error, `v${version}: ours threw`).toBeUndefined();
  expect(text(asLibrary(ours.response!)), `v${version}`).toBe(text(theirs.response));
  expect(text(consumed(ours.response!, from))).toBe(text(consumed(theirs.response!, from)));
  return ours.response;
}

const TOPIC_ID = '0c6f7d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const OTHER_ID = 'ffeeddcc-bbaa-4998-8877-665544332211';
const topicId = (version: number, id: string) => (version >= 13 ? id : `name-${id.slice(0, 4)}`);

describe('decodeFetchResponse: the library’s response, records decoded when taken', () => {
  const headers = new Map<Buffer, Buffer>([
    [Buffer.from('h'), Buffer.from('1')],
    [Buffer.from(''), Buffer.from('empty name')],
    [Buffer.from('n'), null as unknown as Buffer],
    [Buffer.from('ünï'), Buffer.from([0, 255])],
  ]);
  const big = 'x'.repeat(70_000);

  for (const version of VERSIONS) {
    it(`v${version}: batches, keys, values, headers, timestamps, tagged fields, several topics and partitions`, () => {
      const r = expectSame(version, {
        sessionId: 77,
        topics: [
          {
            id: topicId(version, TOPIC_ID),
            partitions: [
              {
                index: 0,
                records: Buffer.concat([
                  batch([m('a', { key: Buffer.from('k') }), m(null), m(''), m('d', { headers })], { baseOffset: 10n }),
                  batch([m('e', { timestamp: T0 + 5n }), m('f', { timestamp: T0 - 3n, key: Buffer.alloc(0) })], {
                    baseOffset: 14n,
                  }),
                  // LogAppendTime: every record gets the broker's time.
                  batch([m('g', { timestamp: T0 + 1n }), m('h', { timestamp: T0 + 9n })], {
                    baseOffset: 16n,
                    attributes: 0x08,
                  }),
                ]),
                diverging: [3, 42n],
                leader: [1, 7],
                snapshot: [99n, 2],
              },
              { index: 1, records: null },
              { index: 2, records: Buffer.alloc(0), unknownTag: true },
              { index: 3, records: batch([m(big)], { baseOffset: 1_000_000n }) },
            ],
          },
          {
            id: topicId(version, OTHER_ID),
            partitions: [{ index: 5, records: batch([m('z')], { baseOffset: 3n }), aborted: [] }],
          },
        ],
        ...(version >= 16 ? { endpoints: [{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }] } : {}),
      });
      expect(consumed(r!).map((x) => x.offset)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 1_000_000, 3]);
    });
  }

  it('records from an offset on: those before it are skipped without being built', () => {
    const spec: ResponseSpec = {
      topics: [
        {
          id: TOPIC_ID,
          partitions: [{ index: 0, records: batch([m('a'), m('b'), m('c'), m('d')], { baseOffset: 100n }) }],
        },
      ],
    };
    const r = expectSame(17, spec, 102);
    expect(consumed(r!, 102).map((x) => [x.offset, x.value?.toString()])).toEqual([
      [102, 'c'],
      [103, 'd'],
    ]);
  });

  it('a fetch that ends inside a batch: the whole batches before it, as the library', () => {
    const whole = batch([m('a'), m('b')], { baseOffset: 0n });
    const cut = batch([m('c'), m('d')], { baseOffset: 2n }).subarray(0, 30);
    const r = expectSame(17, {
      topics: [{ id: TOPIC_ID, partitions: [{ index: 0, records: Buffer.concat([whole, cut]) }] }],
    });
    expect(consumed(r!).map((x) => x.offset)).toEqual([0, 1]);
  });

  it('a control batch and aborted transactions: the library’s records on demand (its READ_COMMITTED filter reads them)', () => {
    const control = batch([m('\u0000', { key: Buffer.from([0, 0, 0, 0]) })], {
      baseOffset: 8n,
      attributes: 0x20 | 0x10,
      producerId: 4n,
    });
    const r = expectSame(17, {
      topics: [
        {
          id: TOPIC_ID,
          partitions: [
            {
              index: 0,
              aborted: [{ producerId: 4n, firstOffset: 6n }],
              records: Buffer.concat([
                batch([m('x'), m('y')], { baseOffset: 6n, attributes: 0x10, producerId: 4n }),
                control,
              ]),
            },
          ],
        },
      ],
    });
    const controlBatch = r!.responses[0]!.partitions[0]!.records![1] as FetchedBatch;
    expect(controlBatch.records[0]!.key?.readInt16BE(2)).toBe(0);
    expect(controlBatch.producerId).toBe(4n);
  });

  const codecs = Object.entries(lib.compressionsAlgorithms).filter(([name, a]) => name !== 'none' && a.available);
  for (const [name] of codecs) {
    it(`a ${name} batch: decompressed, the same records`, () => {
      const r = expectSame(17, {
        topics: [
          {
            id: TOPIC_ID,
            partitions: [
              {
                index: 0,
                records: Buffer.concat([
                  batch([m('a', { headers }), m('b'.repeat(3000)), m(null)], { baseOffset: 20n, compression: name }),
                  batch([m('plain')], { baseOffset: 23n }),
                ]),
              },
            ],
          },
        ],
      });
      expect(consumed(r!).map((x) => x.offset)).toEqual([20, 21, 22, 23]);
    });
  }

  for (const version of VERSIONS) {
    it(`v${version}: errors as the library's (a ResponseError with the response and the same paths)`, () => {
      expectSame(version, {
        errorCode: 0,
        topics: [
          {
            id: topicId(version, TOPIC_ID),
            partitions: [
              { index: 0, records: batch([m('a')]) },
              { index: 1, errorCode: 1, records: null },
              { index: 2, errorCode: 6, records: null },
            ],
          },
        ],
      });
      expectSame(version, { errorCode: 71, sessionId: 0, topics: [] });
      expectSame(version, { topics: null });
    });
  }

  // (Seconds of work, most of it the library encoding the batches: a machine running other tests needs longer than
  // the default 5 s.)
  it('120 generated responses', { timeout: 60_000 }, () => {
    // mulberry32: a small seeded generator, so a failure repeats.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    let records = 0;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
    for (let i = 0; i < 120; i++) {
      const version = VERSIONS[rand(VERSIONS.length)]!;
      const topics: TopicSpec[] = [];
      for (let t = 0, nt = 1 + rand(3); t < nt; t++) {
        const partitions: PartitionSpec[] = [];
        for (let p = 0, np = 1 + rand(3); p < np; p++) {
          const batches: Buffer[] = [];
          let offset = BigInt(rand(1_000_000));
          for (let k = 0, nb = rand(4); k < nb; k++) {
            const messages: Message[] = [];
            for (let j = 0, nm = 1 + rand(60); j < nm; j++) {
              const h = new Map<Buffer, Buffer>();
              for (let x = 0, nh = rand(3); x < nh; x++) h.set(Buffer.from(`h${rand(50)}`), bytes(rand(20)));
              messages.push({
                topic: 't',
                key: rand(3) === 0 ? (null as unknown as Buffer) : bytes(rand(40)),
                value: rand(10) === 0 ? (null as unknown as Buffer) : bytes(rand(rand(5) === 0 ? 3000 : 200)),
                headers: h,
                timestamp: T0 + BigInt(rand(2_000_000)) - 1_000_000n,
              });
            }
            batches.push(batch(messages, { baseOffset: offset, attributes: rand(4) === 0 ? 0x08 : 0 }));
            offset += BigInt(messages.length);
          }
          partitions.push({ index: p, records: rand(5) === 0 ? null : Buffer.concat(batches) });
        }
        topics.push({ id: topicId(version, `${t}${TOPIC_ID.slice(1)}`), partitions });
      }
      const r = expectSame(version, { sessionId: rand(1000), topics });
      records += consumed(r!).length;
    }
    // (The cases hold records: about 120 × 2 × 2 × 1.5 × 30.)
    expect(records).toBeGreaterThan(4_000);
  });

  it('a corrupt record (its length past the end of its batch) is refused, not read past', () => {
    const good = batch([m('abc')], { baseOffset: 0n });
    // The first record's length varint: 61 bytes of batch header, then the record; make it claim 60 bytes.
    const bad = Buffer.from(good);
    bad[61] = 120;
    const r = decodeFetchResponse(
      17,
      encodeResponse(17, { topics: [{ id: TOPIC_ID, partitions: [{ index: 0, records: bad }] }] }),
      lib,
    ) as Parsed;
    const b = r.responses[0]!.partitions[0]!.records![0] as FetchedBatch;
    expect(() => b.cursor('t', 0).next(0)).toThrow(RangeError);
  });
});

describe('fetchDecoder: the consumer reaches it', () => {
  const log = { debug: vi.fn() } as unknown as Logger;
  const symbolOf = (o: object, description: string) => {
    for (let p: object | null = o; p; p = Object.getPrototypeOf(p) as object | null)
      for (const s of Object.getOwnPropertySymbols(p)) if (s.description === description) return s;
    throw new Error(`the library's ${description} symbol is gone`);
  };
  type Api = ((connection: unknown, ...args: unknown[]) => void) & { version: number };

  async function consumerWithApis(maxVersion: number) {
    const c = new lib.Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'dec-test',
      groupId: 'dec-test',
      bootstrapBrokers: ['127.0.0.1:1'],
    });
    const installed = fetchDecoder(lib, log).install(c);
    const target = c as unknown as Record<symbol, unknown>;
    target[symbolOf(c, 'plt.kafka.base.apis')] = [
      { name: 'Fetch', minVersion: 4, maxVersion },
      { name: 'Metadata', minVersion: 0, maxVersion: 12 },
    ];
    const getApi = (name: string) =>
      new Promise<Api>((resolve, reject) =>
        (
          target[symbolOf(c, 'plt.kafka.base.getApi')] as (n: string, cb: (e: Error | null, a?: Api) => void) => void
        ).call(c, name, (e, a) => (e ? reject(e) : resolve(a!))),
      );
    const close = () => new Promise<void>((resolve) => c.close(true, () => resolve()));
    return { installed, getApi, close };
  }

  it("for 'Fetch' v17 the consumer's lookup hands back our parser with the library's request", async () => {
    const { installed, getApi, close } = await consumerWithApis(17);
    try {
      expect(installed).toBe(true);
      const api = await getApi('Fetch');
      expect(api).not.toBe(lib.fetchV17.api);
      expect(api.version).toBe(17);
      let sent:
        | { apiKey: number; version: number; parse: (...a: unknown[]) => unknown; request: () => unknown }
        | undefined;
      const connection = {
        send(apiKey: number, version: number, request: () => unknown, parse: (...a: unknown[]) => unknown) {
          sent = { apiKey, version, request, parse };
        },
      };
      api(connection, 500, 1, 1024, 1, 0, 0, [], [], '', () => {});
      expect([sent!.apiKey, sent!.version]).toEqual([1, 17]);
      const body = encodeResponse(17, {
        topics: [{ id: TOPIC_ID, partitions: [{ index: 0, records: batch([m('a')], { baseOffset: 4n }) }] }],
      });
      // The connection hands the parser a Reader over its chunks: a response that came in two.
      const chunks = lib.Writer.create().append(body.subarray(0, 40)).append(body.subarray(40));
      const parsed = sent!.parse(0, 1, 17, lib.Reader.from(chunks)) as Parsed;
      expect(parsed.responses[0]!.partitions[0]!.records![0]).toBeInstanceOf(FetchedBatch);
      expect(consumed(parsed).map((x) => [x.offset, x.value?.toString()])).toEqual([[4, 'a']]);
      expect(await getApi('Fetch')).toBe(api);
      expect(await getApi('Metadata')).toBe(lib.metadataV12.api);
    } finally {
      await close();
    }
  });

  it('a Fetch version it does not decode (11) stays the library’s', async () => {
    const { getApi, close } = await consumerWithApis(11);
    try {
      expect(await getApi('Fetch')).toBe(lib.fetchV11.api);
    } finally {
      await close();
    }
  });

  it("without the library's lookup, install says so and leaves the consumer alone", () => {
    const bare = {};
    expect(fetchDecoder(lib, log).install(bare as never)).toBe(false);
    expect(Object.getOwnPropertySymbols(bare)).toHaveLength(0);
  });
});
