// Graceful shutdown of the real process (`node --import tsx src/main.ts`) under a steady produce load: SIGTERM
// mid-load → /readyz answers 503, the listener closes, every accepted request is answered (the in-flight ones with
// their offsets), every acknowledged record is in Kafka, and the process exits 0 within SHUTDOWN_TIMEOUT_MS.
// docs/security.md "Shutdown": readiness false → stop accepting → finish in-flight produces → flush → exit.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTopic, readAll, uniqueTopic } from '../helpers/kafka.js';
import { type Replica, spawnReplica } from '../helpers/replicas.js';
import { eventually } from '../helpers/wait.js';

declare module 'vitest' {
  interface TaskMeta {
    /** What the shutdown run saw (also printed): counts, timings, exit. */
    shutdown?: Record<string, unknown>;
  }
}

const SHUTDOWN_TIMEOUT_MS = 15_000;
const CLIENTS = 8;
const RECORDS_PER_REQUEST = 4;
const PARTITIONS = 3;
/** A request that takes longer than this is a hang. */
const REQUEST_DEADLINE_MS = 30_000;

const brokers = inject('kafkaBrokers');
const topic = uniqueTopic('shutdown');
const run = Math.random().toString(36).slice(2, 8);

let replica: Replica | undefined;

/** The gateway's last log lines, for failure messages. */
function dump(): string {
  return (replica?.logs ?? [])
    .slice(-60)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

beforeAll(async () => {
  await createTopic(brokers, topic, PARTITIONS);
}, 60_000);

afterAll(async () => {
  await replica?.kill();
});

/** Spawns the gateway as its own process; resolves once it listens and reached Kafka. */
async function spawnGateway(): Promise<{ proc: ChildProcess; url: string }> {
  replica = await spawnReplica({
    KAFKA_BROKERS: brokers,
    AUTH_MODE: 'none',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    PRODUCE_TIMEOUT_MS: '10000',
  });
  return { proc: replica.child, url: replica.url };
}

interface Outcome {
  /** The record values of the request. */
  values: string[];
  startedAt: number;
  endedAt: number;
  status?: number;
  body?: {
    offsets?: Array<{
      partition: number | null;
      offset: number | null;
      error_code: number | null;
      error: string | null;
    }>;
  };
  /** Set when no complete response arrived: the error code and whether response headers had arrived. */
  error?: { code: string; afterHeaders: boolean };
}

/** One POST on a keep-alive agent; never rejects. */
function produceOnce(agent: http.Agent, url: string, values: string[], key: string): Promise<Outcome> {
  const startedAt = performance.now();
  const payload = JSON.stringify({ records: values.map((v) => ({ key, value: v })) });
  return new Promise((resolve) => {
    let settled = false;
    let afterHeaders = false;
    const done = (o: Omit<Outcome, 'values' | 'startedAt' | 'endedAt'>) => {
      if (settled) return;
      settled = true;
      resolve({ values, startedAt, endedAt: performance.now(), ...o });
    };
    const req = http.request(
      `${url}/topics/${topic}`,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/vnd.kafka.json.v2+json', 'Content-Length': Buffer.byteLength(payload) },
        signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
      },
      (res) => {
        afterHeaders = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => done({ status: res.statusCode!, error: { code: 'ABORTED', afterHeaders } }));
        res.on('error', (e: NodeJS.ErrnoException) =>
          done({ status: res.statusCode!, error: { code: e.code ?? e.name, afterHeaders } }),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Outcome['body'];
          try {
            body = JSON.parse(text) as Outcome['body'];
          } catch {
            return done({ status: res.statusCode!, error: { code: 'BAD_BODY', afterHeaders } });
          }
          done({ status: res.statusCode!, body });
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ error: { code: e.name === 'AbortError' ? 'HANG' : (e.code ?? e.name), afterHeaders } }),
    );
    req.end(payload);
  });
}

/** GET path on a fresh connection: the status, or the connection error code. */
function getFresh(url: string, p: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(`${url}${p}`, { agent: false, signal: AbortSignal.timeout(5000) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', () => resolve('RESPONSE_ERROR'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.name));
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  if (!(await eventually(cond, Boolean, { timeoutMs }))) throw new Error(`timed out waiting for ${what}:\n${dump()}`);
}

it('SIGTERM under produce load: readiness 503, in-flight requests answered, acknowledged records in Kafka, exit 0', {
  timeout: 170_000,
}, async ({ task }) => {
  const { proc, url } = await spawnGateway();
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await until('/readyz 200', async () => (await getFresh(url, '/readyz')) === 200, 60_000);

  // Steady load: 8 clients, each on its own keep-alive connection, sequenced values, back to back.
  const outcomes: Outcome[] = [];
  const inflight = new Set<number>();
  let nextId = 0;
  let acked = 0;
  let refusedAt: number | undefined;
  let sigtermAt: number | undefined;
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let seq = 0; ; seq++) {
        const values = Array.from({ length: RECORDS_PER_REQUEST }, (_, j) => `${run}-c${c}-${seq}-${j}`);
        const id = nextId++;
        inflight.add(id);
        const o = await produceOnce(agent, url, values, `c${c}`);
        inflight.delete(id);
        outcomes.push(o);
        if (o.status === 200) acked += o.body?.offsets?.filter((x) => x.error_code === null).length ?? 0;
        // The listener is gone: nothing more to send (a new connection would be refused again).
        if (o.error?.code === 'ECONNREFUSED') {
          refusedAt ??= performance.now();
          return;
        }
        if (proc.exitCode !== null || proc.signalCode !== null) return;
      }
    } finally {
      agent.destroy();
    }
  });

  await until('200 acknowledged records before SIGTERM', () => acked >= 200, 60_000);

  // A /readyz request whose headers are still arriving when SIGTERM lands: the connection is active, so the
  // server must answer it after readiness turned false. It makes the 503 observable without timing luck.
  const raw = net.connect(Number(new URL(url).port), '127.0.0.1');
  await once(raw, 'connect');
  let rawReply = '';
  raw.setEncoding('utf8').on('data', (d: string) => (rawReply += d));
  const rawClosed = once(raw, 'close');
  // Handed to the kernel (loopback: in the server's receive buffer) before the fresh connection below exists. The
  // server reads every readable socket in each event-loop turn, and answers the fresh /readyz only turns later, so
  // its 200 means this message has begun: no sleep needed.
  await new Promise<void>((r) => raw.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n', () => r()));

  expect(await getFresh(url, '/readyz')).toBe(200);
  const inflightAtSigterm = new Set(inflight);
  const ackedBeforeSigterm = acked;
  sigtermAt = performance.now();
  proc.kill('SIGTERM');

  // New connections: refused once the listener closed (no hang, no 200 after the close).
  const freshAfter: Array<number | string> = [];
  await until(
    'new connections refused',
    async () => {
      const r = await getFresh(url, '/readyz');
      freshAfter.push(r);
      return r === 'ECONNREFUSED';
    },
    10_000,
  );
  raw.write('\r\n');
  await Promise.race([rawClosed, new Promise((r) => setTimeout(r, 10_000))]);
  raw.destroy();

  const [code, signal] = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no exit within ${SHUTDOWN_TIMEOUT_MS + 10_000} ms:\n${dump()}`)),
        SHUTDOWN_TIMEOUT_MS + 10_000,
      ),
    ),
  ]);
  const exitMs = performance.now() - sigtermAt;
  await Promise.race([
    Promise.all(clients),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('clients did not finish')), REQUEST_DEADLINE_MS + 5000),
    ),
  ]);

  // ---- classify every request
  const ok = outcomes.filter((o) => o.status === 200 && !o.error);
  const refused503 = outcomes.filter((o) => o.status === 503 && !o.error);
  const connErrors = outcomes.filter((o) => o.error && !o.error.afterHeaders);
  const midResponse = outcomes.filter((o) => o.error?.afterHeaders);
  const hangs = outcomes.filter((o) => o.error?.code === 'HANG');
  const otherStatus = outcomes.filter((o) => !o.error && o.status !== 200 && o.status !== 503);
  const ackedValues = new Map<string, { partition: number; offset: number }>();
  let unknown = 0;
  for (const o of ok) {
    o.body!.offsets!.forEach((e, i) => {
      if (e.error_code === null) ackedValues.set(o.values[i]!, { partition: e.partition!, offset: e.offset! });
      else unknown++;
    });
  }
  const inflightOutcomes = outcomes.filter((o) => o.startedAt < sigtermAt! && o.endedAt >= sigtermAt!);
  const inflightAnswered = inflightOutcomes.filter((o) => o.status === 200 && !o.error).length;
  const connErrorCodes: Record<string, number> = {};
  for (const o of connErrors) connErrorCodes[o.error!.code] = (connErrorCodes[o.error!.code] ?? 0) + 1;

  // ---- read Kafka back, by exact value
  const records = await readAll(brokers, topic, ackedValues.size, 60_000, { settleMs: 1500 });
  const inKafka = new Map<string, Array<{ partition: number; offset: number }>>();
  for (const r of records) {
    // The JSON embedded format stores each value as its JSON text: "run-c0-1-2" with the quotes.
    const v = JSON.parse(r.value?.toString('utf8') ?? 'null') as string;
    const list = inKafka.get(v) ?? [];
    list.push({ partition: r.partition, offset: r.offset });
    inKafka.set(v, list);
  }
  const lost = [...ackedValues.keys()].filter((v) => !inKafka.has(v));
  const misplaced = [...ackedValues].filter(
    ([v, at]) => !inKafka.get(v)?.some((k) => k.partition === at.partition && k.offset === at.offset),
  );
  const duplicates = [...inKafka.values()].filter((l) => l.length > 1).length;
  // A request that got no response at all must not have been acted on: none of its values may be in Kafka.
  const writtenWithoutAnswer = connErrors.flatMap((o) => o.values).filter((v) => inKafka.has(v));

  const summary = {
    requests: outcomes.length,
    ok: ok.length,
    refused503: refused503.length,
    connErrors: connErrorCodes,
    midResponse: midResponse.length,
    hangs: hangs.length,
    otherStatus: otherStatus.map((o) => o.status),
    acked: ackedValues.size,
    ackedBeforeSigterm,
    unknown,
    lost: lost.length,
    duplicates,
    inflightAtSigterm: inflightAtSigterm.size,
    inflightAnswered200: inflightAnswered,
    freshReadyzAfterSigterm: freshAfter,
    rawReadyz: rawReply.split('\r\n')[0],
    listenerClosedMs: refusedAt !== undefined ? Math.round(refusedAt - sigtermAt) : null,
    exitMs: Math.round(exitMs),
    exit: { code, signal },
  };
  task.meta.shutdown = summary;
  console.log(`[shutdown] ${JSON.stringify(summary)}`);

  expect(code, dump()).toBe(0);
  expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  // Readiness false before exit: the request in flight at SIGTERM is answered 503 "Shutting down.", connection closed.
  expect(rawReply).toMatch(/^HTTP\/1\.1 503 /);
  expect(rawReply).toMatch(/Shutting down/);
  expect(rawReply.toLowerCase()).toContain('connection: close');
  // Every request got an answer: 200, 503, or a connection refused/closed before the gateway read it.
  expect(hangs).toEqual([]);
  expect(midResponse.map((o) => o.error)).toEqual([]);
  expect(otherStatus.map((o) => o.status)).toEqual([]);
  for (const code of Object.keys(connErrorCodes)) expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']).toContain(code);
  expect(writtenWithoutAnswer).toEqual([]);
  // The load was really mid-flight, and what was in flight was finished (answered), not cut off.
  expect(inflightAtSigterm.size).toBeGreaterThan(0);
  expect(inflightAnswered).toBeGreaterThan(0);
  // Every acknowledged record is in Kafka, at the offset the gateway reported.
  expect(lost).toEqual([]);
  expect(misplaced.map(([v]) => v)).toEqual([]);
  expect(unknown).toBe(0);
});
