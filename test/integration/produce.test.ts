// v2 produce through a real gateway into a real broker; every test reads back straight from Kafka what was written.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import {
  BINARY_V2,
  JSON_V2,
  V2,
  javaPartition,
  post,
  startTestGateway,
  type ProduceReply,
  createTopicReady,
} from '../helpers/gateway.js';
import { readAll, uniqueTopic, type ReadRecord } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
let gw: Gateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

async function topicWith(partitions: number, prefix = 'produce'): Promise<string> {
  const t = uniqueTopic(prefix);
  await createTopicReady(brokers, t, partitions);
  return t;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
const str = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
const at = (recs: ReadRecord[], partition: number, offset: number) =>
  recs.find((r) => r.partition === partition && r.offset === offset);

/** Every entry succeeded; returns [partition, offset] pairs. */
function okOffsets(body: ProduceReply): [number, number][] {
  for (const o of body.offsets) {
    expect(o.error_code).toBeNull();
    expect(o.error).toBeNull();
  }
  return body.offsets.map((o) => [o.partition!, o.offset!]);
}

describe('response shape', () => {
  it("answers exactly Confluent's body: schema ids null, one offsets entry per record in request order", async () => {
    const t = await topicWith(1);
    const res = await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(res.text).toBe(
      '{"key_schema_id":null,"value_schema_id":null,"offsets":[' +
        '{"partition":0,"offset":0,"error_code":null,"error":null},' +
        '{"partition":0,"offset":1,"error_code":null,"error":null},' +
        '{"partition":0,"offset":2,"error_code":null,"error":null}]}',
    );
    const recs = await readAll(brokers, t, 3);
    expect(recs.map((r) => [r.offset, str(r.value)])).toEqual([
      [0, '"a"'],
      [1, '"b"'],
      [2, '"c"'],
    ]);
  });

  it('gives offsets that point at the very records sent, for 500 records of one request', async () => {
    const t = await topicWith(3);
    const records = Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 37}`, value: { i } }));
    const res = await post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, { records });
    expect(res.status).toBe(200);
    const offs = okOffsets(res.body);
    expect(offs).toHaveLength(500);
    const recs = await readAll(brokers, t, 500);
    expect(recs).toHaveLength(500);
    offs.forEach(([p, o], i) => {
      const r = at(recs, p, o);
      expect(str(r?.value ?? null)).toBe(`{"i":${i}}`);
      expect(str(r?.key ?? null)).toBe(`"k${i % 37}"`);
    });
  });

  it('gives every one of many concurrent requests the offsets of its own records', async () => {
    const t = await topicWith(2);
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, req) =>
        post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
          records: [
            { value: `${req}-0`, partition: req % 2 },
            { value: `${req}-1` },
            { value: `${req}-2`, partition: 1 },
          ],
        }),
      ),
    );
    const recs = await readAll(brokers, t, 90);
    expect(recs).toHaveLength(90);
    replies.forEach((res, req) => {
      expect(res.status).toBe(200);
      okOffsets(res.body).forEach(([p, o], i) => expect(str(at(recs, p, o)?.value ?? null)).toBe(`"${req}-${i}"`));
    });
  });
});

describe('json embedded format', () => {
  it('stores values and keys as compact JSON bytes, keys with their quotes', async () => {
    const t = await topicWith(1);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
      records: [
        { key: 'k', value: { nested: { list: [1, 2.5, true, null] }, s: 'x' } },
        { key: { id: 7 }, value: [1, 'two'] },
        { key: 42, value: 'plain string' },
      ],
    });
    expect(res.status).toBe(200);
    const recs = await readAll(brokers, t, 3);
    expect(recs.map((r) => [str(r.key), str(r.value)])).toEqual([
      ['"k"', '{"nested":{"list":[1,2.5,true,null]},"s":"x"}'],
      ['{"id":7}', '[1,"two"]'],
      ['42', '"plain string"'],
    ]);
  });

  it('writes a null or absent key/value as a Kafka null, not the text "null"', async () => {
    const t = await topicWith(1);
    await post(gw, `/topics/${t}`, JSON_V2, { records: [{ key: 'tomb', value: null }, { value: 1 }] });
    const recs = await readAll(brokers, t, 2);
    expect(recs[0]!.key).toEqual(Buffer.from('"tomb"'));
    expect(recs[0]!.value).toBeNull();
    expect(recs[1]!.key).toBeNull();
  });

  it('stores integers beyond 2^53 exactly as sent', async () => {
    const t = await topicWith(1);
    const body =
      '{"records":[{"key":98765432109876543210,"value":{"id":12345678901234567890,"neg":-9007199254740993,"small":1}}]}';
    const res = await post(gw, `/topics/${t}`, JSON_V2, body);
    expect(res.status).toBe(200);
    const [r] = await readAll(brokers, t, 1);
    expect(str(r!.key)).toBe('98765432109876543210');
    expect(str(r!.value)).toBe('{"id":12345678901234567890,"neg":-9007199254740993,"small":1}');
  });

  it('stores non-ASCII text as UTF-8, unescaped', async () => {
    const t = await topicWith(1);
    await post(gw, `/topics/${t}`, JSON_V2, '{"records":[{"key":"cl\\u00e9","value":{"msg":"Grüße ✓ 日本語"}}]}');
    const [r] = await readAll(brokers, t, 1);
    expect(r!.key).toEqual(Buffer.from('"clé"', 'utf8'));
    expect(r!.value).toEqual(Buffer.from('{"msg":"Grüße ✓ 日本語"}', 'utf8'));
  });

  it('takes plain application/json as the json format', async () => {
    const t = await topicWith(1);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, 'application/json', {
      records: [{ key: 'a', value: { x: 1 } }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    const [r] = await readAll(brokers, t, 1);
    expect([str(r!.key), str(r!.value)]).toEqual(['"a"', '{"x":1}']);
  });
});

describe('binary embedded format', () => {
  it('stores the decoded base64 bytes of keys and values, all 256 byte values included', async () => {
    const t = await topicWith(1);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await post(gw, `/topics/${t}`, BINARY_V2, {
      records: [
        { key: b64('key'), value: b64(all) },
        { value: b64(Buffer.from([0])) },
        { key: b64(Buffer.from([0xff, 0xfe])), value: '' },
      ],
    });
    expect(res.status).toBe(200);
    const recs = await readAll(brokers, t, 3);
    expect(recs[0]!.key).toEqual(Buffer.from('key'));
    expect(recs[0]!.value).toEqual(all);
    expect(recs[1]!.key).toBeNull();
    expect(recs[1]!.value).toEqual(Buffer.from([0]));
    expect(recs[2]!.key).toEqual(Buffer.from([0xff, 0xfe]));
    expect(recs[2]!.value).toEqual(Buffer.alloc(0));
  });

  it('accepts base64 without padding', async () => {
    const t = await topicWith(1);
    const res = await post(gw, `/topics/${t}`, BINARY_V2, { records: [{ key: 'a2U', value: 'aGVsbG8' }] });
    expect(res.status).toBe(200);
    const [r] = await readAll(brokers, t, 1);
    expect([str(r!.key), str(r!.value)]).toEqual(['ke', 'hello']);
  });
});

describe('partitioning', () => {
  it('puts the binary key bytes "key" on partition 1 of 3 (murmur2)', async () => {
    const t = await topicWith(3);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, BINARY_V2, {
      records: [{ key: b64('key'), value: b64('v') }],
    });
    expect(okOffsets(res.body)).toEqual([[1, 0]]);
    const [r] = await readAll(brokers, t, 1);
    expect(r!.partition).toBe(1);
  });

  it('puts the JSON key "somekey" on partition 2 of 3 and 0 of 4 (hash of the quoted JSON text)', async () => {
    const t3 = await topicWith(3);
    const t4 = await topicWith(4);
    const r3 = await post<ProduceReply>(gw, `/topics/${t3}`, JSON_V2, { records: [{ key: 'somekey', value: 1 }] });
    const r4 = await post<ProduceReply>(gw, `/topics/${t4}`, JSON_V2, { records: [{ key: 'somekey', value: 1 }] });
    expect(r3.body.offsets[0]!.partition).toBe(2);
    expect(r4.body.offsets[0]!.partition).toBe(0);
    expect((await readAll(brokers, t3, 1))[0]!.partition).toBe(2);
    expect((await readAll(brokers, t4, 1))[0]!.partition).toBe(0);
  });

  it("agrees with the Java client's partitioner (kafkajs DefaultPartitioner) for many keys", async () => {
    const t = await topicWith(7);
    const keys = Array.from({ length: 60 }, (_, i) => Buffer.from(`user-${i}-${'é'.repeat(i % 4)}`));
    const res = await post<ProduceReply>(gw, `/topics/${t}`, BINARY_V2, {
      records: keys.map((k) => ({ key: b64(k), value: b64('v') })),
    });
    const expected = keys.map((k) => javaPartition(k, 7));
    expect(res.body.offsets.map((o) => o.partition)).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(3);
    const recs = await readAll(brokers, t, keys.length);
    for (const r of recs) expect(r.partition).toBe(javaPartition(r.key!, 7));
  });

  it('sends a record with an explicit partition there, whatever its key', async () => {
    const t = await topicWith(3);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
      records: [
        { key: 'somekey', value: 'a', partition: 0 },
        { value: 'b', partition: 1 },
        { value: 'c', partition: 2 },
      ],
    });
    expect(res.body.offsets.map((o) => o.partition)).toEqual([0, 1, 2]);
    const recs = await readAll(brokers, t, 3);
    expect(recs.map((r) => [r.partition, str(r.value)])).toEqual([
      [0, '"a"'],
      [1, '"b"'],
      [2, '"c"'],
    ]);
  });

  it("sends to the path's partition, and a record's own partition overrides it", async () => {
    const t = await topicWith(3);
    const res = await post<ProduceReply>(gw, `/topics/${t}/partitions/2`, BINARY_V2, {
      records: [
        { key: b64('key'), value: b64('path') },
        { value: b64('own'), partition: 0 },
      ],
    });
    expect(res.status).toBe(200);
    expect(okOffsets(res.body)).toEqual([
      [2, 0],
      [0, 0],
    ]);
    const recs = await readAll(brokers, t, 2);
    expect(recs.map((r) => [r.partition, str(r.value)])).toEqual([
      [0, 'own'],
      [2, 'path'],
    ]);
  });

  it('keeps the keyless records of one request together and spreads successive requests over the partitions', async () => {
    const t = await topicWith(3);
    const used: number[] = [];
    for (let req = 0; req < 6; req++) {
      const res = await post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
        records: [{ value: req }, { value: req }, { value: req }],
      });
      const parts = new Set(res.body.offsets.map((o) => o.partition));
      expect(parts.size).toBe(1);
      used.push(res.body.offsets[0]!.partition!);
    }
    expect(new Set(used)).toEqual(new Set([0, 1, 2]));
    const recs = await readAll(brokers, t, 18);
    for (let req = 0; req < 6; req++) {
      const where = new Set(recs.filter((r) => str(r.value) === String(req)).map((r) => r.partition));
      expect([...where]).toEqual([used[req]]);
    }
  });
});

describe('headers', () => {
  it('writes record headers in order, repeated names and null values included', async () => {
    const t = await topicWith(1);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
      records: [
        {
          value: 1,
          headers: [
            { name: 'trace', value: b64('abc') },
            { name: 'bin', value: b64(Buffer.from([0, 255, 1])) },
            { name: 'trace', value: b64('def') },
            { name: 'empty', value: null },
          ],
        },
        { value: 2 },
      ],
    });
    expect(res.status).toBe(200);
    expect(okOffsets(res.body)).toEqual([
      [0, 0],
      [0, 1],
    ]);
    const recs = await readAll(brokers, t, 2);
    const h = recs[0]!.headers;
    expect(h.trace).toEqual([Buffer.from('abc'), Buffer.from('def')]);
    expect(h.bin).toEqual(Buffer.from([0, 255, 1]));
    // kafkajs cannot write a null header value: the header is kept, with an empty value.
    expect(h.empty).toEqual(Buffer.alloc(0));
    expect(recs[1]!.headers).toEqual({});
  });

  it("does not fail other requests' records batched together with a null-valued header", async () => {
    const t = await topicWith(1);
    const [withNull, plain] = await Promise.all([
      post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, {
        records: [{ value: 'n', headers: [{ name: 'x', value: null }] }],
      }),
      post<ProduceReply>(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 'p' }] }),
    ]);
    okOffsets(withNull.body);
    okOffsets(plain.body);
    expect((await readAll(brokers, t, 2)).map((r) => str(r.value)).sort()).toEqual(['"n"', '"p"']);
  });

  it('writes headers of the binary format too', async () => {
    const t = await topicWith(1);
    const res = await post<ProduceReply>(gw, `/topics/${t}`, BINARY_V2, {
      records: [{ value: b64('v'), headers: [{ name: 'h', value: b64('x') }] }],
    });
    okOffsets(res.body);
    const [r] = await readAll(brokers, t, 1);
    expect(r!.headers.h).toEqual(Buffer.from('x'));
  });
});

describe('raw bodies', () => {
  it('writes an application/octet-stream body as the value, with ?key and ?partition', async () => {
    const t = await topicWith(3);
    const body = Buffer.from([0x00, 0x01, 0x7b, 0xff, 0x0a, 0x0d]);
    const res = await post<ProduceReply>(
      gw,
      `/topics/${t}?key=${encodeURIComponent('clé k')}&partition=2`,
      'application/octet-stream',
      body,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(V2);
    expect(res.body).toEqual({
      key_schema_id: null,
      value_schema_id: null,
      offsets: [{ partition: 2, offset: 0, error_code: null, error: null }],
    });
    const [r] = await readAll(brokers, t, 1);
    expect(r!.partition).toBe(2);
    expect(r!.value).toEqual(body);
    expect(r!.key).toEqual(Buffer.from('clé k', 'utf8'));
  });

  it('partitions a text/plain body by the murmur2 of the raw ?key bytes (no JSON quoting)', async () => {
    const t = await topicWith(3);
    const res = await post<ProduceReply>(gw, `/topics/${t}?key=key`, 'text/plain; charset=utf-8', 'hello, world');
    expect(res.body.offsets[0]!.partition).toBe(1); // bytes "key" → 1 of 3
    const [r] = await readAll(brokers, t, 1);
    expect([r!.partition, str(r!.key), str(r!.value)]).toEqual([1, 'key', 'hello, world']);
  });

  it('writes a keyless raw body with a null key, and to the path partition', async () => {
    const t = await topicWith(3);
    const res = await post<ProduceReply>(
      gw,
      `/topics/${t}/partitions/1`,
      'application/octet-stream',
      Buffer.from('raw'),
    );
    expect(okOffsets(res.body)).toEqual([[1, 0]]);
    const [r] = await readAll(brokers, t, 1);
    expect(r!.key).toBeNull();
    expect(str(r!.value)).toBe('raw');
  });

  it('writes a JSON-looking text/plain body byte for byte, not parsed', async () => {
    const t = await topicWith(1);
    const text = '{ "records" : [ 12345678901234567890 ] }';
    await post(gw, `/topics/${t}`, 'text/plain', text);
    const [r] = await readAll(brokers, t, 1);
    expect(str(r!.value)).toBe(text);
  });
});
