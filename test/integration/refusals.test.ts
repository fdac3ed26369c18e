// A refusal reaches the client that caused it (issue 11 §1): raw TCP clients that write their whole request of
// several MiB before reading, for every early refusal (413, 431, 415, 401, 403, 503 50302/50301, 429); with
// `Expect: 100-continue` the refusal comes instead of 100; and a client that keeps sending past the drain bounds
// (REFUSAL_DRAIN_BYTES, REFUSAL_DRAIN_MS) is cut off.
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, startTestGateway } from '../helpers/gateway.js';
import { type RefusalBed, type RefusalCase, startRefusalBed } from '../helpers/refusals.js';

interface RawReply {
  /** Interim answers first (`100`), then the final one. */
  statuses: number[];
  headers: Record<string, string>;
  body: string;
  /** Every byte of the body was handed to the kernel before the answer was read. */
  wroteAll: boolean;
  /** A socket error (EPIPE, ECONNRESET), if any. */
  error?: string;
  /** When the answer was complete, and when the server closed the connection (ms since the start). */
  answeredAt?: number;
  closedAt?: number;
  /** When this socket was gone (closed after an error such as the server's reset), if it was before the end. */
  goneAt?: number;
}

interface RawOptions {
  /** Send `Expect: 100-continue` and the body only after a 100. */
  expectContinue?: boolean;
  /** Bytes per write and pause between writes (a slow client); default: as fast as the socket takes them. */
  chunk?: number;
  pauseMs?: number;
}

/** Parses what arrived: 1xx answers, then a final answer with Content-Length. Undefined until that is complete. */
function parse(buf: Buffer): Omit<RawReply, 'wroteAll'> | undefined {
  const statuses: number[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const [statusLine, ...lines] = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]);
    statuses.push(status);
    if (status >= 100 && status < 200) {
      at = end + 4;
      continue;
    }
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + length) return undefined;
    return { statuses, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') };
  }
}

/** One request over a fresh TCP connection; resolves once the server closed it (or after `timeoutMs`). */
async function rawRequest(c: RefusalCase, opts: RawOptions = {}, timeoutMs = 60_000): Promise<RawReply> {
  const url = new URL(c.url);
  const body = await readFile(c.bodyFile);
  const started = performance.now();
  // Half-open allowed, as in a real client: the server's FIN after its answer must not stop this one writing.
  const sock: Socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
  let received = Buffer.alloc(0);
  let wroteAll = false;
  let error: string | undefined;
  let answeredAt: number | undefined;
  let goneAt: number | undefined;
  const headers = { Host: url.host, 'Content-Length': String(body.length), ...c.headers };
  if (opts.expectContinue) Object.assign(headers, { Expect: '100-continue' });
  const head = `POST ${url.pathname} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

  let onData: () => void = () => {};
  let keptAlive: () => void = () => {};
  const answeredKeepAlive = new Promise<void>((r) => (keptAlive = r));
  sock.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
    const reply = answeredAt === undefined ? parse(received) : undefined;
    if (reply) {
      answeredAt = performance.now() - started;
      if (reply.headers.connection !== 'close') keptAlive();
    }
    onData();
  });
  sock.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  sock.on('close', () => (goneAt ??= performance.now() - started));
  // The server is done with the connection once it half-closed ('end': its FIN) or it is gone ('close').
  const closed = new Promise<number>((resolve) => {
    sock.once('end', () => resolve(performance.now() - started));
    sock.once('close', () => resolve(performance.now() - started));
  });

  async function writeBody(): Promise<void> {
    const chunk = opts.chunk ?? 64 * 1024;
    for (let off = 0; off < body.length && !sock.destroyed; off += chunk) {
      if (!sock.write(body.subarray(off, off + chunk)))
        await new Promise<void>((r) => {
          sock.once('drain', r);
          sock.once('close', r);
        });
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
    wroteAll = !sock.destroyed && error === undefined;
  }

  const work = (async () => {
    await new Promise<void>((r) => sock.once('connect', r));
    sock.write(head);
    if (opts.expectContinue) {
      // Like curl: wait for the server's word before sending the body (100 → send; a final answer → don't).
      await new Promise<void>((r) => {
        onData = () => {
          if (received.indexOf('\r\n\r\n') >= 0) r();
        };
        sock.once('close', () => r());
      });
      onData = () => {};
      if (/^HTTP\/1\.1 100 /.test(received.toString('latin1'))) await writeBody();
      else sock.end(); // the body is never sent: the request is over
    } else await writeBody();
    // A `Connection: close` answer: wait for the server to close. Keep-alive: the exchange is over once answered.
    return Promise.race([closed, answeredKeepAlive.then(() => performance.now() - started)]);
  })();
  const closedAt = await Promise.race([work, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs))]);
  const reply = parse(received);
  sock.destroy();
  return {
    statuses: reply?.statuses ?? [],
    headers: reply?.headers ?? {},
    body: reply?.body ?? received.toString('latin1').slice(0, 300),
    wroteAll,
    ...(error !== undefined ? { error } : {}),
    ...(answeredAt !== undefined ? { answeredAt } : {}),
    ...(closedAt !== undefined ? { closedAt } : {}),
    ...(goneAt !== undefined ? { goneAt } : {}),
  };
}

function expectRefusal(r: RawReply, c: RefusalCase): void {
  expect(r.error, `socket error instead of the ${c.status}: ${JSON.stringify(r)}`).toBeUndefined();
  expect(r.statuses.at(-1), JSON.stringify(r)).toBe(c.status);
  expect(JSON.parse(r.body)).toMatchObject({ error_code: c.errorCode, message: expect.any(String) });
  // Answered before the body was in: the connection ends with it. After reading the body (429): it may stay.
  if (c.beforeBody) expect(r.headers.connection).toBe('close');
  expect(r.closedAt, 'the exchange ended (closed by the server, or answered on a kept-alive connection)').toBeDefined();
}

let bed: RefusalBed;
beforeAll(async () => {
  bed = await startRefusalBed();
}, 120_000);
afterAll(() => bed?.close());

describe('a client that writes its whole request before reading gets the refusal', () => {
  it('covers every early refusal', () => {
    expect(bed.cases.map((c) => c.status).sort()).toEqual([401, 403, 413, 415, 429, 431, 503, 503]);
  });

  for (const name of [
    '413 body over MAX_BODY_BYTES (declared length)',
    '431 a 60 KB bearer token (headers over MAX_HEADER_BYTES)',
    '415 unsupported Content-Type',
    '401 no token',
    '403 a token without the right to produce',
    '503 50302 no broker reachable',
    '503 50301 too many records in flight',
    '429 rate limit (RATE_LIMIT_RECORDS_PER_S)',
  ])
    it(`${name}: every body byte written, then the whole answer, then a clean close (3 times)`, async () => {
      const c = bed.cases.find((x) => x.name === name)!;
      for (let i = 0; i < 3; i++) {
        const r = await rawRequest(c);
        expect(r.wroteAll, `the client could not write its body: ${JSON.stringify(r)}`).toBe(true);
        expectRefusal(r, c);
      }
    }, 120_000);
});

it('a body that can never be taken is told so before a retriable refusal: 413, not 503, when Kafka is down', async () => {
  const tooLarge = bed.cases.find((x) => x.status === 413)!;
  const down = bed.cases.find((x) => x.errorCode === 50302)!;
  const r = await rawRequest({ ...tooLarge, url: down.url });
  expectRefusal(r, tooLarge);
}, 60_000);

describe('Expect: 100-continue', () => {
  it('a refusal known before the body is the answer instead of 100: the body is never sent', async () => {
    for (const c of bed.cases.filter((x) => x.beforeBody && x.status !== 431)) {
      const r = await rawRequest(c, { expectContinue: true });
      expect(r.statuses, `${c.name}: ${JSON.stringify(r)}`).toEqual([c.status]);
      expect(r.wroteAll, c.name).toBe(false);
      expectRefusal(r, c);
    }
  }, 120_000);

  it('a refusal that needs the body (429) comes after 100 and the whole body', async () => {
    const c = bed.cases.find((x) => x.status === 429)!;
    const r = await rawRequest(c, { expectContinue: true });
    expect(r.statuses, JSON.stringify(r)).toEqual([100, 429]);
    expect(r.wroteAll).toBe(true);
    expectRefusal(r, c);
  }, 60_000);
});

describe('the drain is bounded (REFUSAL_DRAIN_BYTES=1 MiB, REFUSAL_DRAIN_MS=1000)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      MAX_BODY_BYTES: '1048576',
      REFUSAL_DRAIN_BYTES: '1048576',
      REFUSAL_DRAIN_MS: '1000',
    });
  });
  afterAll(() => gw?.close());

  const tooLarge = (): RefusalCase => ({
    ...bed.cases.find((x) => x.status === 413)!,
    url: `${gw.url}/topics/refusals-bounded`,
    headers: { 'Content-Type': JSON_V2 },
  });

  it('a client still sending after 1 MiB more is cut off (the 413 was already sent)', async () => {
    const r = await rawRequest(tooLarge());
    expect(r.statuses, JSON.stringify(r)).toEqual([413]);
    expect(r.wroteAll, 'the client wrote 12 MiB past a 1 MiB drain bound').toBe(false);
    expect(r.goneAt, 'the server cut the connection').toBeDefined();
  }, 60_000);

  it('a client too slow to finish within 1 s is cut off about 1 s after the answer', async () => {
    // 16 KiB every 50 ms (~320 KiB/s): under the 1 MiB byte bound for ~3 s, so the 1 s time bound cuts it off.
    const r = await rawRequest(tooLarge(), { chunk: 16 * 1024, pauseMs: 50 });
    expect(r.statuses, JSON.stringify(r)).toEqual([413]);
    expect(r.wroteAll).toBe(false);
    expect(r.goneAt! - r.answeredAt!).toBeGreaterThanOrEqual(900);
    expect(r.goneAt! - r.answeredAt!).toBeLessThan(4000);
  }, 60_000);
});
