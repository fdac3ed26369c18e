// The error table (docs/rest-api.md "Errors") as the REST routes meet it, against a real broker: each
// refusal has its status and error_code, a Confluent-shaped body, and nothing of a refused request reaches Kafka.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import {
  BINARY_V2,
  JSON_V2,
  call,
  endOffsets,
  eventually,
  post,
  startTestGateway,
  type Reply,
  createTopicReady,
} from '../helpers/gateway.js';
import { uniqueTopic } from '../helpers/kafka.js';

const brokers = inject('kafkaBrokers');
const MiB = 1024 * 1024;

/** Default limits. */
let gw: Gateway;
/** Small limits: 4 KiB bodies, 3 records per request. */
let small: Gateway;
/** Pointed at a port where no broker listens. */
let dead: Gateway;
/** Kafka behind a switchable fault (fail or hang every sendBatch); 300 ms produce timeout, 2 KiB in flight. */
let faulty: Gateway;
let fault: 'none' | 'retriable' | 'fatal' | 'hang' = 'none';

async function closedPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  [gw, small, dead, faulty] = await Promise.all([
    startTestGateway(),
    startTestGateway({ MAX_BODY_BYTES: '4096', MAX_RECORDS_PER_REQUEST: '3' }),
    closedPort().then((port) => startTestGateway({ KAFKA_BROKERS: `127.0.0.1:${port}` }, { waitReady: false })),
    startTestGateway(
      { PRODUCE_TIMEOUT_MS: '300', MAX_INFLIGHT_PRODUCE_BYTES: '2048' },
      {
        options: {
          kafka: {
            sendBatch: (send, batch) => {
              if (fault === 'retriable')
                return Promise.reject(
                  Object.assign(new Error('not the leader'), {
                    name: 'KafkaJSProtocolError',
                    type: 'NOT_LEADER_OR_FOLLOWER',
                    retriable: true,
                  }),
                );
              if (fault === 'fatal')
                return Promise.reject(
                  Object.assign(new Error('invalid record'), {
                    name: 'KafkaJSProtocolError',
                    type: 'INVALID_RECORD',
                    retriable: false,
                  }),
                );
              if (fault === 'hang') return new Promise(() => {});
              return send(batch);
            },
          },
        },
      },
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([gw, small, dead, faulty].map((g) => g?.close()));
});

async function topicWith(partitions = 1, configs?: Record<string, string>): Promise<string> {
  const t = uniqueTopic('errors');
  await createTopicReady(brokers, t, partitions, configs);
  return t;
}

/** Status, Confluent body {error_code, message} and nothing else, JSON content type. */
function expectError(res: Reply, status: number, code: number): void {
  expect([res.status, res.body?.error_code]).toEqual([status, code]);
  expect(Object.keys(res.body).sort()).toEqual(['error_code', 'message']);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  expect(res.body.message).not.toMatch(/\n\s+at /); // never a stack trace
  expect(res.headers.get('content-type')).toMatch(/json/);
}

async function expectNothingWritten(topic: string): Promise<void> {
  const ends = await endOffsets(brokers, topic);
  expect(Object.values(ends).every((o) => o === 0)).toBe(true);
}

describe('400', () => {
  it('answers 400 for malformed JSON, writing nothing', async () => {
    const t = await topicWith();
    expectError(await post(gw, `/topics/${t}`, JSON_V2, '{"records":[{"value":1}'), 400, 400);
    expectError(await post(gw, `/topics/${t}`, BINARY_V2, '{"records": [}'), 400, 400);
    await expectNothingWritten(t);
  });

  it('answers 400 for a JSON type that does not fit ("partition": "x"), writing nothing', async () => {
    const t = await topicWith();
    const res = await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }, { value: 2, partition: 'x' }] });
    expectError(res, 400, 400);
    expect(res.body.message).toMatch(/partition/);
    await expectNothingWritten(t);
  });

  it('answers 400 for records that is not an array', async () => {
    const t = await topicWith();
    expectError(await post(gw, `/topics/${t}`, JSON_V2, { records: { value: 1 } }), 400, 400);
  });

  it('answers 400 for bad base64 in the binary format, writing none of the request', async () => {
    const t = await topicWith();
    const res = await post(gw, `/topics/${t}`, BINARY_V2, {
      records: [{ value: 'aGVsbG8=' }, { value: 'not base64!' }],
    });
    expectError(res, 400, 400);
    expect(res.body.message).toContain('records[1].value');
    await expectNothingWritten(t);
  });

  it('answers 400 for a raw body with a non-integer ?partition', async () => {
    const t = await topicWith();
    expectError(await post(gw, `/topics/${t}?partition=one`, 'application/octet-stream', 'v'), 400, 400);
    await expectNothingWritten(t);
  });
});

describe('415 and 406', () => {
  it('answers 415 for a Content-Type the gateway cannot take', async () => {
    const t = await topicWith();
    expectError(await post(gw, `/topics/${t}`, 'application/xml', '<records/>'), 415, 415);
    expectError(
      await post(gw, `/topics/${t}`, 'application/vnd.kafka.avro.v2+json', { records: [{ value: 1 }] }),
      415,
      415,
    );
    expectError(await call(gw, `/topics/${t}`, { method: 'POST', body: new Uint8Array([1]) }), 415, 415);
    await expectNothingWritten(t);
  });

  it('answers 406 for an Accept it cannot satisfy, on produce (writing nothing) and on metadata', async () => {
    const t = await topicWith();
    expectError(
      await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] }, { Accept: 'text/html' }),
      406,
      406,
    );
    expectError(
      await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] }, { Accept: 'application/json;q=0' }),
      406,
      406,
    );
    expectError(await call(gw, '/topics', { headers: { Accept: 'application/xml' } }), 406, 406);
    expectError(await call(gw, `/topics/${t}`, { headers: { Accept: 'text/plain' } }), 406, 406);
    await expectNothingWritten(t);
  });

  it('answers 200 for the satisfiable Accept values', async () => {
    const t = await topicWith();
    for (const accept of [
      '*/*',
      'application/json',
      'application/vnd.kafka.v2+json',
      'application/vnd.kafka+json; q=0.5',
      'text/html, application/*;q=0.1',
    ])
      expect((await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] }, { Accept: accept })).status).toBe(
        200,
      );
  });
});

describe('422', () => {
  it('answers 422 for empty records', async () => {
    const t = await topicWith();
    expectError(await post(gw, `/topics/${t}`, JSON_V2, { records: [] }), 422, 422);
    expectError(await post(gw, `/topics/${t}`, BINARY_V2, { records: [] }), 422, 422);
  });

  it('answers 422 for a negative partition, writing none of the request', async () => {
    const t = await topicWith(2);
    expectError(
      await post(gw, `/topics/${t}`, JSON_V2, {
        records: [
          { value: 1, partition: 0 },
          { value: 2, partition: -1 },
        ],
      }),
      422,
      422,
    );
    expectError(await post(gw, `/topics/${t}?partition=-1`, 'text/plain', 'v'), 422, 422);
    await expectNothingWritten(t);
  });

  it('answers 422 for more records than MAX_RECORDS_PER_REQUEST, and takes exactly the limit', async () => {
    const t = await topicWith();
    const recs = (n: number) => ({ records: Array.from({ length: n }, (_, i) => ({ value: i })) });
    const over = await post(small, `/topics/${t}`, JSON_V2, recs(4));
    expectError(over, 422, 422);
    expect(over.body.message).toMatch(/MAX_RECORDS_PER_REQUEST/);
    await expectNothingWritten(t);
    expect((await post(small, `/topics/${t}`, JSON_V2, recs(3))).status).toBe(200);
    expect((await endOffsets(brokers, t))[0]).toBe(3);
  });
});

describe('413', () => {
  it('answers 413 for a Content-Length over MAX_BODY_BYTES, writing nothing', async () => {
    const t = await topicWith();
    const body = Buffer.from(JSON.stringify({ records: [{ value: 'x'.repeat(5000) }] }));
    const res = await post(small, `/topics/${t}`, JSON_V2, body);
    expectError(res, 413, 413);
    expect(res.body.message).toMatch(/MAX_BODY_BYTES/);
    await expectNothingWritten(t);
  });

  it('answers 413 for a chunked body (no Content-Length) once it passes MAX_BODY_BYTES, writing nothing', async () => {
    const t = await topicWith();
    const chunk = new TextEncoder().encode(`{"records":[{"value":"${'y'.repeat(1000)}"},`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else {
          controller.enqueue(new TextEncoder().encode('{"value":1}]}'));
          controller.close();
        }
      },
    });
    const res = await call(small, `/topics/${t}`, {
      method: 'POST',
      headers: { 'Content-Type': JSON_V2 },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expectError(res, 413, 413);
    await expectNothingWritten(t);
  });

  it("answers 413 for a record over the topic's max.message.bytes, writing none of the request", async () => {
    const clusterId = (await call(gw, '/v3/clusters')).body.data[0].cluster_id;
    const t = uniqueTopic('errors-mmb');
    const made = await post(gw, `/v3/clusters/${clusterId}/topics`, 'application/json', {
      topic_name: t,
      partitions_count: 2,
      configs: [{ name: 'max.message.bytes', value: '1024' }],
    });
    expect(made.status).toBe(201);
    const res = await post(gw, `/topics/${t}`, JSON_V2, {
      records: [
        { value: 'small', partition: 0 },
        { value: 'z'.repeat(2000), partition: 1 },
      ],
    });
    expectError(res, 413, 413);
    expect(res.body.message).toMatch(/max\.message\.bytes/);
    await expectNothingWritten(t);
    // A record under the limit still goes through.
    const ok = await post(gw, `/topics/${t}`, JSON_V2, { records: [{ value: 'z'.repeat(500) }] });
    expect(ok.status).toBe(200);
    expect(ok.body.offsets[0].error_code).toBeNull();
  });

  it.each([
    ['Content-Length', false],
    ['chunked', true],
  ])(
    'gets the 413 to a client that writes its whole 9 MiB %s body before reading (no EPIPE/ECONNRESET)',
    async (_name, chunked) => {
      const t = await topicWith();
      const { port } = new URL(gw.url);
      const body = Buffer.alloc(9 * MiB, 0x61);
      const framed = chunked
        ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
        : body;
      const head =
        `POST /topics/${t} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n` +
        (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${body.length}\r\n\r\n`);
      const { written, reply, errors } = await writeAllThenRead(
        Number(port),
        Buffer.concat([Buffer.from(head), framed]),
      );
      expect(written).toBeNull();
      expect(errors).toEqual([]);
      expect(reply).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).error_code).toBe(413);
      await expectNothingWritten(t);
    },
  );
});

/**
 * Like Python's urllib: write the whole request, then read the answer (until its Content-Length is in, or the
 * server closes). Reports the write's error, socket errors and the raw reply.
 */
async function writeAllThenRead(
  port: number,
  request: Buffer,
): Promise<{ written: string | null; reply: string; errors: string[] }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  const errors: string[] = [];
  socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && length && text.length - end - 4 >= Number(length[1])) resolve();
    });
    socket.on('close', () => resolve());
  });
  const written = await new Promise<Error | null | undefined>((resolve) => socket.write(request, resolve));
  await done;
  socket.destroy();
  return {
    written: written ? ((written as NodeJS.ErrnoException).code ?? written.message) : null,
    reply: Buffer.concat(chunks).toString('latin1'),
    errors,
  };
}

describe('404', () => {
  it('answers 404 40401 for an unknown topic, fast', async () => {
    const start = performance.now();
    const res = await post(gw, `/topics/${uniqueTopic('nope')}`, JSON_V2, { records: [{ value: 1 }] });
    expect(performance.now() - start).toBeLessThan(2000);
    expectError(res, 404, 40401);
  });

  it('answers 404 40401 for a topic name Kafka forbids', async () => {
    expectError(
      await post(gw, `/topics/${encodeURIComponent('bad name!')}`, JSON_V2, { records: [{ value: 1 }] }),
      404,
      40401,
    );
    expectError(await call(gw, `/topics/${'x'.repeat(300)}`), 404, 40401);
  });

  it('answers 404 40402 for a partition the topic does not have, writing none of the request', async () => {
    const t = await topicWith(3);
    expectError(
      await post(gw, `/topics/${t}`, JSON_V2, {
        records: [
          { value: 1, partition: 0 },
          { value: 2, partition: 3 },
        ],
      }),
      404,
      40402,
    );
    expectError(await post(gw, `/topics/${t}/partitions/7`, BINARY_V2, { records: [{ value: 'AA==' }] }), 404, 40402);
    expectError(await post(gw, `/topics/${t}/partitions/x`, BINARY_V2, { records: [{ value: 'AA==' }] }), 404, 40402);
    expectError(await post(gw, `/topics/${t}?partition=5`, 'text/plain', 'v'), 404, 40402);
    await expectNothingWritten(t);
  });

  it('answers a JSON 404 for an unknown route', async () => {
    for (const path of ['/nope', '/topics/t/bogus', '/v3/clusters/x/y/z/w'])
      expectError(await call(gw, path), 404, 404);
  });
});

describe('405', () => {
  it('answers a JSON 405 with Allow for a wrong method on a known path', async () => {
    const res = await call(gw, '/topics', { method: 'DELETE' });
    expectError(res, 405, 405);
    expect(res.headers.get('allow')).toBe('GET');
    const t = uniqueTopic('errors-405');
    const put = await call(gw, `/topics/${t}`, { method: 'PUT', body: '{}' });
    expectError(put, 405, 405);
    expect(put.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'POST']);
    expectError(await call(gw, '/brokers', { method: 'POST' }), 405, 405);
  });
});

describe('Kafka failures (per record, HTTP 200)', () => {
  it('gives each record 50003 when Kafka fails the send with a retriable error, never error_code null', async () => {
    const t = await topicWith();
    fault = 'retriable';
    try {
      const res = await post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }, { value: 2 }] });
      expect(res.status).toBe(200);
      expect(res.body.offsets).toHaveLength(2);
      for (const o of res.body.offsets) {
        expect(o).toMatchObject({ partition: 0, offset: null, error_code: 50003 });
        expect(o.error).toMatch(/NOT_LEADER_OR_FOLLOWER/);
      }
    } finally {
      fault = 'none';
    }
  });

  it('gives each record 50002 for a non-retriable Kafka error', async () => {
    const t = await topicWith();
    fault = 'fatal';
    try {
      const res = await post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] });
      expect(res.status).toBe(200);
      expect(res.body.offsets[0]).toMatchObject({ offset: null, error_code: 50002 });
    } finally {
      fault = 'none';
    }
  });

  it('gives 50003 with "outcome unknown" when Kafka does not answer within PRODUCE_TIMEOUT_MS', async () => {
    const t = await topicWith();
    fault = 'hang';
    try {
      const start = performance.now();
      const res = await post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 1 }] });
      expect(performance.now() - start).toBeLessThan(3000);
      expect(res.status).toBe(200);
      expect(res.body.offsets[0]).toMatchObject({ offset: null, error_code: 50003 });
      expect(res.body.offsets[0].error).toMatch(/outcome is unknown/);
    } finally {
      fault = 'none';
    }
    // The gateway recovers once Kafka answers again. The partition's next records wait for the unanswered send
    // (kafkajs could still be retrying it with its sequence numbers) until it is given up, 10 s past its deadline.
    const deadline = Date.now() + 20_000;
    let code: number | null = -1;
    while (code !== null && Date.now() < deadline) {
      code = (await post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 2 }] })).body.offsets[0].error_code;
      expect([null, 50003]).toContain(code);
    }
    expect(code).toBeNull();
  });
});

describe('503', () => {
  it('answers 503 50302 at once when no broker is reachable, with Retry-After', async () => {
    for (const [method, path, body] of [
      ['POST', '/topics/anything', JSON.stringify({ records: [{ value: 1 }] })],
      ['GET', '/topics', undefined],
      ['GET', '/topics/anything', undefined],
      ['GET', '/brokers', undefined],
      ['GET', '/v3/clusters', undefined],
    ] as const) {
      const start = performance.now();
      const res = await call(dead, path, { method, ...(body ? { body, headers: { 'Content-Type': JSON_V2 } } : {}) });
      expect(performance.now() - start).toBeLessThan(2000);
      expectError(res, 503, 50302);
      expect(res.headers.get('retry-after')).toBe('1');
    }
  });

  it('answers 503 50301 with Retry-After when MAX_INFLIGHT_PRODUCE_BYTES would be passed, writing nothing', async () => {
    const t = await topicWith();
    fault = 'hang';
    try {
      // A first request that Kafka does not answer holds ~1 KiB of the 2 KiB window...
      const first = post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 'p'.repeat(1000) }] });
      await eventually(
        async () => faulty.kafka.producer.inflightBytes,
        (n) => n > 0,
      );
      expect(faulty.kafka.producer.inflightBytes).toBeGreaterThan(1000);
      // ...so the next one would pass it.
      const res = await post(faulty, `/topics/${t}`, JSON_V2, { records: [{ value: 'q'.repeat(1500) }] });
      expectError(res, 503, 50301);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await first).body.offsets[0].error_code).toBe(50003);
    } finally {
      fault = 'none';
    }
    await expectNothingWritten(t);
  });
});
