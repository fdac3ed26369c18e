// The one-pass Produce encoding (src/kafka/platformatic-produce-encoder.ts) writes the very bytes of
// @platformatic/kafka's own `produceV<N>.createRequest`, for every version it encodes, and the producer reaches it.
import * as lib from '@platformatic/kafka';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/observability/logger.js';
import { platformaticCrc32c } from '../../../src/kafka/platformatic-client.js';
import {
  ENCODED_PRODUCE_VERSIONS,
  encodeProduceRequest,
  type ProduceMessage,
  type ProduceOptions,
  produceEncoder,
} from '../../../src/kafka/platformatic-produce-encoder.js';

const NOW = 1_764_000_000_123;
const crc = platformaticCrc32c(lib);
const VERSIONS: number[] = [];
for (let v = ENCODED_PRODUCE_VERSIONS.min; v <= ENCODED_PRODUCE_VERSIONS.max; v++) VERSIONS.push(v);

type LibraryModule = { createRequest: (...a: unknown[]) => { buffer: Buffer } };
const libraryModule = (v: number) => (lib as unknown as Record<string, LibraryModule>)[`produceV${v}`]!;

/** A copy the encoders may normalize (the Buffers shared: neither writes into them). */
const copy = (ms: ProduceMessage[]) => ms.map((m) => ({ ...m, ...(m.headers ? { headers: new Map(m.headers) } : {}) }));

/** Both encodings of the same request; the messages each one left behind, too. */
function both(
  version: number,
  acks: number | undefined,
  timeout: number | undefined,
  ms: ProduceMessage[],
  o?: ProduceOptions,
) {
  vi.spyOn(Date, 'now').mockReturnValue(NOW);
  const libMessages = copy(ms);
  const ourMessages = copy(ms);
  const library = libraryModule(version).createRequest(acks, timeout, libMessages, o).buffer;
  const ours = encodeProduceRequest(version, acks, timeout, ourMessages, o, crc);
  return { library, ours, libMessages, ourMessages };
}

function expectSame(
  version: number,
  acks: number | undefined,
  timeout: number | undefined,
  ms: ProduceMessage[],
  o?: ProduceOptions,
) {
  const r = both(version, acks, timeout, ms, o);
  expect(r.ours, `version ${version}`).toBeDefined();
  expect(r.ours!.equals(r.library), `version ${version}: bytes differ`).toBe(true);
  // The side effects a retry relies on: each message's partition and timestamp as the library sets them.
  expect(r.ourMessages.map((m) => [m.partition, m.timestamp])).toEqual(
    r.libMessages.map((m) => [m.partition, m.timestamp]),
  );
}

const b = (s: string) => Buffer.from(s);
const sequences = (entries: Record<string, number>) => {
  const map = new lib.NumericMap();
  for (const [k, v] of Object.entries(entries)) map.set(k, v);
  return map;
};
const idempotent = (seq: Record<string, number>): ProduceOptions => ({
  producerId: 4711n,
  producerEpoch: 3,
  sequences: sequences(seq),
});

afterEach(() => vi.restoreAllMocks());

describe('encodeProduceRequest: the library bytes, one Buffer', () => {
  const fixed: [string, ProduceMessage[], ProduceOptions | undefined][] = [
    ['one keyless record, no headers, no timestamp', [{ topic: 't', value: b('v') }], undefined],
    [
      'keys null, empty and bytes; values null and empty',
      [
        { topic: 't', partition: 0, key: null, value: b('a') },
        { topic: 't', partition: 0, key: Buffer.alloc(0), value: Buffer.alloc(0) },
        { topic: 't', partition: 0, key: b('k'), value: null },
        { topic: 't', partition: 0, key: b('kk'), value: b('{"x":1}') },
      ],
      {},
    ],
    [
      'a value over 64 KiB, and one of 300 bytes (two-byte lengths)',
      [
        { topic: 't', partition: 1, key: b('big'), value: Buffer.alloc(70_000, 7) },
        { topic: 't', partition: 1, value: Buffer.alloc(300, 1) },
      ],
      undefined,
    ],
    [
      'headers: none, an empty Map, one, many (same name twice), null values',
      [
        { topic: 't', partition: 0, value: b('0') },
        { topic: 't', partition: 0, value: b('1'), headers: new Map() },
        { topic: 't', partition: 0, value: b('2'), headers: new Map([[b('h'), b('x')]]) },
        {
          topic: 't',
          partition: 0,
          value: b('3'),
          headers: new Map<Buffer | null, Buffer | null>([
            [b('a'), b('1')],
            [b('a'), b('2')],
            [b('b'), Buffer.alloc(0)],
            [b('c'), null],
            [Buffer.alloc(0), Buffer.alloc(200, 2)],
          ]),
        },
      ],
      undefined,
    ],
    [
      'explicit timestamps, earlier and later than the first, beside missing ones',
      [
        { topic: 't', partition: 0, value: b('a'), timestamp: BigInt(NOW - 5_000) },
        { topic: 't', partition: 0, value: b('b'), timestamp: BigInt(NOW - 6_000) },
        { topic: 't', partition: 0, value: b('c') },
        { topic: 't', partition: 0, value: b('d'), timestamp: BigInt(NOW + 1_500) },
        // The farthest either way that the library's 64-bit zig-zag writes right (see the last test of this block).
        { topic: 't', partition: 0, value: b('e'), timestamp: BigInt(NOW - 5_000) - 2n ** 31n },
        { topic: 't', partition: 0, value: b('f'), timestamp: BigInt(NOW - 5_000) + 2n ** 31n - 1n },
      ],
      undefined,
    ],
    [
      'several topics (integer-like names sort first, as object keys do), partitions interleaved',
      [
        { topic: 'zeta', partition: 2, value: b('1') },
        { topic: 'alpha', partition: 0, value: b('2') },
        { topic: '42', partition: 1, value: b('3') },
        { topic: 'zeta', partition: 0, value: b('4') },
        { topic: 'zeta', partition: 2, value: b('5') },
        { topic: '7', value: b('6') },
        { topic: 'alpha', partition: 10, value: b('7') },
        { topic: 'alpha', partition: 3, value: b('8') },
      ],
      undefined,
    ],
    [
      'idempotent: producer id and epoch, sequences present for some partitions and absent for others',
      [
        { topic: 'a', partition: 0, value: b('1') },
        { topic: 'a', partition: 1, value: b('2') },
        { topic: 'b', partition: 0, value: b('3') },
        { topic: 'a', partition: 0, value: b('4') },
      ],
      idempotent({ 'a:0': 17, 'b:0': 2_000_000_000 }),
    ],
    ['an explicit partition leader epoch', [{ topic: 't', partition: 0, value: b('x') }], { partitionLeaderEpoch: 9 }],
    ['a non-ASCII topic name', [{ topic: 'tópico', partition: 0, value: b('x') }], undefined],
  ];

  for (const [name, messages, options] of fixed) {
    it(`${name}: same bytes for every version and acks 0, 1, -1`, () => {
      for (const v of VERSIONS) for (const acks of [0, 1, -1]) expectSame(v, acks, 30_000, messages, options);
    });
  }

  it('defaults for acks and timeout as the library (1 and 0)', () => {
    for (const v of VERSIONS) expectSame(v, undefined, undefined, [{ topic: 't', value: b('x') }], undefined);
  });

  it('many records in one batch (record lengths and offset deltas past one varint byte)', () => {
    const ms: ProduceMessage[] = [];
    for (let i = 0; i < 1_000; i++)
      ms.push({ topic: 't', partition: i % 3, key: b(`k${i}`), value: Buffer.alloc(i % 200, i) });
    for (const v of [3, 8, 9, 11]) expectSame(v, -1, 30_000, ms, idempotent({ 't:1': 5 }));
  });

  it('a few hundred generated requests', () => {
    let seed = 12_345;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    const bytes = (max: number) => {
      const r = rnd(10);
      if (r === 0) return null;
      if (r === 1) return Buffer.alloc(0);
      return Buffer.from(Array.from({ length: rnd(max) + 1 }, () => rnd(256)));
    };
    for (let c = 0; c < 300; c++) {
      const topics = ['t', 'orders', '3', 'x.y-z'].slice(0, rnd(4) + 1);
      const ms: ProduceMessage[] = [];
      const count = rnd(40) + 1;
      for (let i = 0; i < count; i++) {
        const m: ProduceMessage = {
          topic: topics[rnd(topics.length)]!,
          key: bytes(20),
          value: bytes(rnd(8) === 0 ? 3_000 : 150),
        };
        if (rnd(4) !== 0) m.partition = rnd(6);
        if (rnd(3) === 0) m.timestamp = BigInt(NOW - 50_000 + rnd(100_000));
        const h = rnd(4);
        if (h > 0) {
          m.headers = new Map();
          for (let j = 0; j < h * rnd(3); j++) m.headers.set(bytes(10) ?? b('n'), bytes(30));
        }
        ms.push(m);
      }
      const o: ProduceOptions | undefined =
        rnd(2) === 0 ? undefined : idempotent({ 't:0': rnd(1000), 'orders:2': rnd(5) });
      const v = VERSIONS[rnd(VERSIONS.length)]!;
      expectSame(v, [0, 1, -1][rnd(3)], rnd(60_000), ms, o);
    }
  });

  it("a timestamp 2^31 ms or more from the batch's first is written with Kafka's 64-bit zig-zag (the library's is not)", () => {
    const first = 1_700_000_000_000n;
    const ms: ProduceMessage[] = [
      { topic: 't', partition: 0, value: b('a'), timestamp: first },
      { topic: 't', partition: 0, value: b('b'), timestamp: first + 2n ** 31n + 5n },
      { topic: 't', partition: 0, value: b('c'), timestamp: first - 2n ** 40n },
    ];
    const decoded = (request: Buffer) => {
      // v11: null transactional id (1), acks (2), timeout (4), 1 topic (1), "t" (2), 1 partition (1), index (4),
      // records length (varint): the batch follows.
      const reader = lib.Reader.from(request);
      reader.skip(1 + 2 + 4 + 1 + 2 + 1 + 4);
      reader.readUnsignedVarInt();
      const batch = lib.readRecordsBatch(reader);
      return batch.records.map((r) => batch.firstTimestamp + r.timestampDelta);
    };
    const r = both(11, 1, 0, ms);
    expect(decoded(r.ours!)).toEqual(ms.map((m) => m.timestamp));
    expect(decoded(r.library)).not.toEqual(ms.map((m) => m.timestamp));
  });
});

describe("encodeProduceRequest: what it leaves to the library's own path", () => {
  const ms = (): ProduceMessage[] => [{ topic: 't', partition: 0, value: b('v') }];

  it('compression, a transactional id (even empty), and a Produce version outside 3–11', () => {
    expect(encodeProduceRequest(11, 1, 0, ms(), { compression: 'gzip' }, crc)).toBeUndefined();
    expect(encodeProduceRequest(11, 1, 0, ms(), { compression: 'snappy' }, crc)).toBeUndefined();
    expect(encodeProduceRequest(11, 1, 0, ms(), { transactionalId: 'tx' }, crc)).toBeUndefined();
    expect(encodeProduceRequest(11, 1, 0, ms(), { transactionalId: '' }, crc)).toBeUndefined();
    expect(encodeProduceRequest(2, 1, 0, ms(), {}, crc)).toBeUndefined();
    expect(encodeProduceRequest(12, 1, 0, ms(), {}, crc)).toBeUndefined();
    expect(encodeProduceRequest(11, 1, 0, ms(), { compression: 'none' }, crc)).toBeDefined();
  });

  it('messages of another shape than the producer builds: string keys, object headers, number timestamps', () => {
    const odd = [
      { topic: 't', key: 'k', value: b('v') },
      { topic: 't', value: b('v'), headers: { a: b('1') } },
      { topic: 't', value: b('v'), timestamp: 5 },
      { topic: 't', value: b('v'), headers: new Map([[b('a'), 'text']]) },
    ] as unknown as ProduceMessage[];
    for (const m of odd) expect(encodeProduceRequest(11, 1, 0, [m], {}, crc)).toBeUndefined();
  });
});

describe('produceEncoder: the producer reaches it', () => {
  const log = { debug: vi.fn() } as unknown as Logger;
  const apisSymbol = (p: object) => {
    for (let o: object | null = p; o; o = Object.getPrototypeOf(o) as object | null)
      for (const s of Object.getOwnPropertySymbols(o)) if (s.description === 'plt.kafka.base.apis') return s;
    throw new Error("the library's apis symbol is gone");
  };
  const getApiSymbol = (p: object) => {
    for (let o: object | null = p; o; o = Object.getPrototypeOf(o) as object | null)
      for (const s of Object.getOwnPropertySymbols(o)) if (s.description === 'plt.kafka.base.getApi') return s;
    throw new Error("the library's getApi symbol is gone");
  };
  // (The callback form: the promise form needs Promise.withResolvers, which Node 20 lacks.)
  const closeProducer = (p: lib.Producer<Buffer, Buffer, Buffer, Buffer>) =>
    new Promise<void>((resolve) => p.close(true, () => resolve()));
  type Api = (connection: unknown, ...args: unknown[]) => void;

  /** A producer that knows the broker's Produce versions without asking it, with the encoder installed. */
  async function producerWithApis(maxVersion: number) {
    const p = new lib.Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'enc-test',
      bootstrapBrokers: ['127.0.0.1:1'],
    });
    const installed = produceEncoder(lib, crc, log).install(p);
    const target = p as unknown as Record<symbol, unknown>;
    target[apisSymbol(p)] = [
      { name: 'Produce', minVersion: 3, maxVersion },
      { name: 'Metadata', minVersion: 0, maxVersion: 12 },
    ];
    const getApi = (name: string) =>
      new Promise<Api>((resolve, reject) =>
        (target[getApiSymbol(p)] as (n: string, cb: (e: Error | null, a?: Api) => void) => void).call(
          p,
          name,
          (e, a) => (e ? reject(e) : resolve(a!)),
        ),
      );
    return { p, installed, getApi };
  }

  /** What the API hands the connection: the request body as `connection.send` would build it. */
  function sent(api: Api, ...args: unknown[]) {
    let call: { apiKey: number; version: number; payload: lib.Writer; headerTags: boolean } | undefined;
    const connection = {
      send(apiKey: number, version: number, createPayload: () => lib.Writer, _parse: unknown, headerTags: boolean) {
        call = { apiKey, version, payload: createPayload(), headerTags };
      },
    };
    api(connection, ...args, () => {});
    return call!;
  }

  it("for 'Produce' the producer's lookup hands back our API, whose request is one Buffer of the library's bytes", async () => {
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const { p, installed, getApi } = await producerWithApis(11);
    try {
      expect(installed).toBe(true);
      const api = await getApi('Produce');
      expect(api).not.toBe(lib.produceV11.api);
      const ms = (): ProduceMessage[] => [
        { topic: 't', partition: 0, key: b('k'), value: b('v'), headers: new Map([[b('h'), b('1')]]) },
        { topic: 't', partition: 1, value: b('w') },
      ];
      const call = sent(api, -1, 30_000, ms(), idempotent({ 't:1': 3 }));
      expect(call.apiKey).toBe(0);
      expect(call.version).toBe(11);
      expect(call.headerTags).toBe(true);
      expect(call.payload.buffers).toHaveLength(1);
      expect(call.payload.context.noResponse).toBeUndefined();
      expect(
        call.payload.buffer.equals(libraryModule(11).createRequest(-1, 30_000, ms(), idempotent({ 't:1': 3 })).buffer),
      ).toBe(true);
      // acks 0: the connection must not wait for an answer.
      expect(sent(api, 0, 30_000, ms(), {}).payload.context.noResponse).toBe(true);
      // The same API object for every lookup (built once per version).
      expect(await getApi('Produce')).toBe(api);
      // Other APIs are the library's.
      expect(await getApi('Metadata')).toBe(lib.metadataV12.api);
    } finally {
      await closeProducer(p);
    }
  });

  it("a non-flexible version (v8) keeps the request header without tagged fields; compression goes to the library's API", async () => {
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const { p, getApi } = await producerWithApis(8);
    try {
      const api = await getApi('Produce');
      const ms = (): ProduceMessage[] => [{ topic: 't', partition: 0, value: b('v') }];
      const call = sent(api, 1, 1000, ms(), {});
      expect([call.version, call.headerTags, call.payload.buffers.length]).toEqual([8, false, 1]);
      expect(call.payload.buffer.equals(libraryModule(8).createRequest(1, 1000, ms(), {}).buffer)).toBe(true);
      // gzip: the library's API, which encodes asynchronously and hands over a promise of its Writer.
      const connection = { send: vi.fn() };
      api(connection, 1, 1000, ms(), { compression: 'gzip' }, () => {});
      const payload = (connection.send.mock.calls[0]![2] as () => unknown)();
      expect(payload).toBeInstanceOf(Promise);
      // (Not awaited: its gzip needs Promise.withResolvers, which Node 20 lacks.)
      (payload as Promise<unknown>).catch(() => {});
    } finally {
      await closeProducer(p);
    }
  });

  it('a Produce version it does not encode (12) is handed through unchanged', async () => {
    const v12 = Object.assign(() => {}, { version: 12 });
    const lookup = Symbol('plt.kafka.base.getApi');
    const client = Object.create({ [lookup]: (_n: string, cb: (e: null, a: unknown) => void) => cb(null, v12) });
    expect(produceEncoder(lib, crc, log).install(client)).toBe(true);
    const api = await new Promise((resolve) => client[lookup]('Produce', (_e: unknown, a: unknown) => resolve(a)));
    expect(api).toBe(v12);
  });

  it("without the library's lookup, install says so and leaves the producer alone", () => {
    const bare = {};
    expect(produceEncoder(lib, crc, log).install(bare as never)).toBe(false);
    expect(Object.getOwnPropertySymbols(bare)).toHaveLength(0);
  });
});
