// Every early refusal the gateway gives, each on a request with a body of several MiB, for clients that write their
// whole request before reading the answer (test/integration/refusals*.test.ts and the Python, Go and Java checks).
// Four in-process gateways, because no one configuration gives them all: a plain one (413, 415, 431, 429 once the
// anonymous caller's bucket is spent), a JWT one (401, 403), one whose Kafka is unreachable (503 50302) and one with
// records in flight over MAX_INFLIGHT_PRODUCE_BYTES (503 50301).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { expect, inject } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, uniqueTopic } from './kafka.js';
import { eventually, JSON_V2, post, startTestGateway } from './gateway.js';

const MiB = 1024 * 1024;
const SECRET = 'refusals-test-secret-of-at-least-32-bytes';

export interface RefusalCase {
  /** e.g. "413 body over MAX_BODY_BYTES". */
  name: string;
  url: string;
  headers: Record<string, string>;
  /** A file holding the request body (several MiB). */
  bodyFile: string;
  bodyBytes: number;
  status: number;
  errorCode: number;
  /** Known before the body is read: answered instead of `100 Continue` to a client that waits for it. */
  beforeBody: boolean;
}

export interface RefusalBed {
  cases: RefusalCase[];
  /** Where the cases are written as JSON (REFUSAL_CASES for the client programs). */
  casesFile: string;
  gateways: Gateway[];
  close(): Promise<void>;
}

/** A produce body `{"records":[{"value":"xxx…"}]}` of exactly `bytes` bytes (valid JSON, one record). */
function produceBody(bytes: number): Buffer {
  const head = '{"records":[{"value":"';
  const tail = '"}]}';
  return Buffer.concat([Buffer.from(head), Buffer.alloc(bytes - head.length - tail.length, 'x'), Buffer.from(tail)]);
}

export async function startRefusalBed(env: Record<string, string> = {}): Promise<RefusalBed> {
  const brokers = inject('kafkaBrokers');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgw-refusals-'));
  const gateways: Gateway[] = [];
  const close = async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [plain, jwt, down, busy] = await Promise.all([
      startTestGateway({ RATE_LIMIT_RECORDS_PER_S: '1', ...env }),
      startTestGateway({ AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET, ...env }),
      // Nothing listens on port 1: the availability tracker never says up.
      startTestGateway(
        { KAFKA_BROKERS: '127.0.0.1:1', KAFKA_CONNECTION_TIMEOUT_MS: '200', ...env },
        { waitReady: false },
      ),
      startTestGateway(env),
    ]);
    gateways.push(plain, jwt, down, busy);
    // Records in flight over the window are what makes 50301; here the window is made to look full (reaching the
    // real condition would need a broker held still mid-send, for every client run).
    Object.defineProperty(busy.kafka.producer, 'inflightBytes', { get: () => Number.MAX_SAFE_INTEGER });

    const topic = uniqueTopic('refusals');
    await createTopic(brokers, topic, 1);
    // The anonymous caller's bucket (1 record/s) spent for the next ~1000 s: every produce after it is a 429.
    const primed = await post(plain, `/topics/${topic}`, JSON_V2, {
      records: Array.from({ length: 1000 }, (_, i) => ({ value: i })),
    });
    expect(primed.status, primed.text).toBe(200);

    const noRights = await new SignJWT({ sub: 'refused' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));

    const files: Record<string, { file: string; bytes: number }> = {};
    for (const [name, bytes] of [
      ['6MiB', 6 * MiB],
      ['12MiB', 12 * MiB],
    ] as const) {
      const file = path.join(dir, `${name}.json`);
      await writeFile(file, produceBody(bytes));
      files[name] = { file, bytes };
    }
    const body = (name: string) => ({ bodyFile: files[name]!.file, bodyBytes: files[name]!.bytes });
    const json = { 'Content-Type': JSON_V2 };
    const at = (gw: Gateway) => `${gw.url}/topics/${topic}`;
    const cases: RefusalCase[] = [
      {
        name: '413 body over MAX_BODY_BYTES (declared length)',
        url: at(plain),
        headers: json,
        ...body('12MiB'),
        status: 413,
        errorCode: 413,
        beforeBody: true,
      },
      {
        name: '431 a 60 KB bearer token (headers over MAX_HEADER_BYTES)',
        url: at(plain),
        headers: { ...json, Authorization: `Bearer ${'a'.repeat(60_000)}` },
        ...body('6MiB'),
        status: 431,
        errorCode: 431,
        beforeBody: true,
      },
      {
        name: '415 unsupported Content-Type',
        url: at(plain),
        headers: { 'Content-Type': 'text/html' },
        ...body('6MiB'),
        status: 415,
        errorCode: 415,
        beforeBody: true,
      },
      {
        name: '401 no token',
        url: at(jwt),
        headers: json,
        ...body('6MiB'),
        status: 401,
        errorCode: 40101,
        beforeBody: true,
      },
      {
        name: '403 a token without the right to produce',
        url: at(jwt),
        headers: { ...json, Authorization: `Bearer ${noRights}` },
        ...body('6MiB'),
        status: 403,
        errorCode: 40301,
        beforeBody: true,
      },
      {
        name: '503 50302 no broker reachable',
        url: at(down),
        headers: json,
        ...body('6MiB'),
        status: 503,
        errorCode: 50302,
        beforeBody: true,
      },
      {
        name: '503 50301 too many records in flight',
        url: at(busy),
        headers: json,
        ...body('6MiB'),
        status: 503,
        errorCode: 50301,
        beforeBody: true,
      },
      {
        // The record count is in the body: this one is refused after reading it.
        name: '429 rate limit (RATE_LIMIT_RECORDS_PER_S)',
        url: at(plain),
        headers: json,
        ...body('6MiB'),
        status: 429,
        errorCode: 429,
        beforeBody: false,
      },
    ];
    const casesFile = path.join(dir, 'cases.json');
    await writeFile(casesFile, JSON.stringify(cases, null, 2));
    // The tracker of the gateway without Kafka has said so (it starts "not connected yet", i.e. down, anyway).
    await eventually(
      async () => down.kafka.ready(),
      (up) => !up,
    );
    return { cases, casesFile, gateways, close };
  } catch (e) {
    await close();
    throw e;
  }
}
