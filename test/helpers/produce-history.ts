// Jepsen-style produce workload through the gateway, and its checker (every acknowledged record is in Kafka, every refused one is not: docs/rest-api.md "Decided cases"):
// clients send unique, sequenced values per key (one request at a time per key, so ack order per key is well
// defined); every attempt is recorded with its outcome; afterwards the topic is read back straight from Kafka and
// the history is checked: every acknowledged record present (at the offset the gateway reported), per-key order of
// acknowledged values equal to ack order, and duplicates and unknown outcomes counted and reported, not hidden.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReadRecord } from './kafka.js';
import { eventually } from './wait.js';

export type Outcome =
  /** error_code null: Kafka acknowledged it. */
  | 'ok'
  /** Per-record 50003: the outcome is unknown (it may or may not have been written). */
  | 'unknown'
  /** Another per-record error code (50002...): Kafka refused it. */
  | 'failed'
  /** The whole request was refused (503 50302 while the cluster is unreachable, 429...): nothing was sent. */
  | 'refused'
  /** No HTTP answer (connection error) or a request that passed its deadline. */
  | 'error';

export interface Attempt {
  key: string;
  value: string;
  client: number;
  /** performance.now() at send and answer. */
  sentAt: number;
  answeredAt: number;
  outcome: Outcome;
  httpStatus?: number;
  errorCode?: number | null;
  partition?: number | null;
  offset?: number | null;
  message?: string;
  /** Test phase when the attempt was sent (e.g. 'before', 'outage', 'after'). */
  phase: string;
}

export interface WorkloadOptions {
  url: string;
  topic: string;
  clients: number;
  keysPerClient: number;
  /** A request that takes longer is recorded as an 'error' (a hang). */
  requestDeadlineMs: number;
  /** Pause after a refusal or error, so a down cluster is not hammered in a tight loop. Default 100 ms. */
  backoffMs?: number;
  /** Prefix of every value (unique per run). */
  run: string;
}

export interface Workload {
  readonly history: Attempt[];
  /** Attempts are tagged with the phase current when they were sent. */
  phase: string;
  /** Attempts answered so far with this outcome (optionally only those sent in `phase`). */
  count(outcome: Outcome, phase?: string): number;
  /** Stop after the requests in flight are answered. */
  stop(): Promise<void>;
}

export function startWorkload(o: WorkloadOptions): Workload {
  const history: Attempt[] = [];
  let stopping = false;
  const backoff = o.backoffMs ?? 100;
  const w: Workload = {
    history,
    phase: 'start',
    count: (outcome, phase) =>
      history.filter((a) => a.outcome === outcome && (phase === undefined || a.phase === phase)).length,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
  const loops = Array.from({ length: o.clients }, async (_, client) => {
    const keys = Array.from({ length: o.keysPerClient }, (_, i) => `k${client * o.keysPerClient + i}`);
    const seq = new Map(keys.map((k) => [k, 0]));
    for (let n = 0; !stopping; n++) {
      const key = keys[n % keys.length]!;
      const s = seq.get(key)!;
      seq.set(key, s + 1);
      const a = await attempt(o, client, key, `${o.run}:${key}:${s}`, w.phase);
      history.push(a);
      if (a.outcome === 'refused' || a.outcome === 'error') await new Promise((r) => setTimeout(r, backoff));
    }
  });
  return w;
}

async function attempt(
  o: WorkloadOptions,
  client: number,
  key: string,
  value: string,
  phase: string,
): Promise<Attempt> {
  const sentAt = performance.now();
  const base = { key, value, client, sentAt, phase };
  try {
    const res = await fetch(`${o.url}/topics/${o.topic}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.kafka.json.v2+json' },
      body: JSON.stringify({ records: [{ key, value }] }),
      signal: AbortSignal.timeout(o.requestDeadlineMs),
    });
    const text = await res.text();
    const answeredAt = performance.now();
    let body:
      | {
          offsets?: Array<{
            partition: number | null;
            offset: number | null;
            error_code: number | null;
            error: string | null;
          }>;
          error_code?: number;
          message?: string;
        }
      | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || !body?.offsets?.[0]) {
      return {
        ...base,
        answeredAt,
        outcome: 'refused',
        httpStatus: res.status,
        errorCode: body?.error_code ?? null,
        message: body?.message ?? text.slice(0, 200),
      };
    }
    const e = body.offsets[0];
    const outcome: Outcome = e.error_code === null ? 'ok' : e.error_code === 50003 ? 'unknown' : 'failed';
    return {
      ...base,
      answeredAt,
      outcome,
      httpStatus: 200,
      errorCode: e.error_code,
      partition: e.partition,
      offset: e.offset,
      ...(e.error ? { message: e.error } : {}),
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return {
      ...base,
      answeredAt: performance.now(),
      outcome: 'error',
      message: e.name === 'TimeoutError' ? 'HANG (deadline passed)' : `${e.message} ${e.cause?.code ?? ''}`.trim(),
    };
  }
}

export interface Check {
  attempts: number;
  byOutcome: Record<Outcome, number>;
  acked: number;
  /** Acknowledged values not found in Kafka. Must be empty. */
  lost: string[];
  /** For (up to 10) lost values: the reported partition:offset and what Kafka holds there (and that value's outcome). */
  lostDetail: string[];
  /** Acknowledged values not at the partition/offset the gateway reported. Must be empty. */
  wrongOffset: string[];
  /** Keys whose acknowledged values appear in Kafka in another order than they were acknowledged. Must be empty. */
  orderViolations: Array<{ key: string; acked: string[]; inKafka: string[] }>;
  /** Values found more than once in Kafka, and how many extra copies in all. */
  duplicates: { values: number; extraCopies: number; examples: string[] };
  /** Per-record 50003: of those, found in Kafka or not. */
  unknown: { total: number; written: number; notWritten: number };
  /** Refused requests (nothing sent) whose value is nevertheless in Kafka. Must be empty. */
  refusedButWritten: string[];
  /** Records answered with a definite error (not 50003 "unknown") whose value is nevertheless in Kafka. Must be empty. */
  failedButWritten: string[];
  /** Records in Kafka that no attempt of this run sent. Must be 0. */
  foreign: number;
  recordsInKafka: number;
}

export function check(history: Attempt[], records: ReadRecord[]): Check {
  const byOutcome: Record<Outcome, number> = { ok: 0, unknown: 0, failed: 0, refused: 0, error: 0 };
  for (const a of history) byOutcome[a.outcome]++;
  const sent = new Set(history.map((a) => a.value));

  // What Kafka holds, in log order per partition.
  const where = new Map<string, Array<{ partition: number; offset: number }>>();
  const logByKey = new Map<string, string[]>();
  let foreign = 0;
  for (const r of records) {
    const value = parseJson(r.value);
    const key = parseJson(r.key);
    if (!sent.has(value)) {
      foreign++;
      continue;
    }
    const list = where.get(value) ?? [];
    list.push({ partition: r.partition, offset: r.offset });
    where.set(value, list);
    const l = logByKey.get(key) ?? [];
    l.push(value);
    logByKey.set(key, l);
  }

  const acked = history.filter((a) => a.outcome === 'ok');
  const lost = acked.filter((a) => !where.has(a.value)).map((a) => a.value);
  const at = new Map<string, string>();
  for (const r of records) at.set(`${r.partition}:${r.offset}`, parseJson(r.value));
  const outcomeOf = new Map(history.map((a) => [a.value, a.outcome]));
  const lostDetail = acked
    .filter((a) => !where.has(a.value))
    .slice(0, 10)
    .map((a) => {
      const held = at.get(`${a.partition}:${a.offset}`);
      return `${a.value} acked at ${a.partition}:${a.offset}, which holds ${held === undefined ? 'nothing' : `${held} (${outcomeOf.get(held) ?? 'not ours'})`}`;
    });
  const wrongOffset = acked
    .filter(
      (a) =>
        where.has(a.value) && !where.get(a.value)!.some((p) => p.partition === a.partition && p.offset === a.offset),
    )
    .map((a) => a.value);

  const orderViolations: Check['orderViolations'] = [];
  const ackedByKey = new Map<string, Attempt[]>();
  for (const a of acked) ackedByKey.set(a.key, [...(ackedByKey.get(a.key) ?? []), a]);
  for (const [key, list] of ackedByKey) {
    const order = list.sort((x, y) => x.answeredAt - y.answeredAt).map((a) => a.value);
    const ackedSet = new Set(order);
    const seen = new Set<string>();
    const inKafka: string[] = [];
    for (const v of logByKey.get(key) ?? []) {
      if (!ackedSet.has(v) || seen.has(v)) continue;
      seen.add(v);
      inKafka.push(v);
    }
    const present = order.filter((v) => seen.has(v));
    if (present.join('\n') !== inKafka.join('\n')) orderViolations.push({ key, acked: present, inKafka });
  }

  let dupValues = 0;
  let extra = 0;
  const examples: string[] = [];
  for (const [v, list] of where) {
    if (list.length > 1) {
      dupValues++;
      extra += list.length - 1;
      if (examples.length < 5) examples.push(`${v} @ ${list.map((p) => `${p.partition}:${p.offset}`).join(',')}`);
    }
  }
  const unknown = history.filter((a) => a.outcome === 'unknown');
  const unknownWritten = unknown.filter((a) => where.has(a.value)).length;
  const refusedButWritten = history.filter((a) => a.outcome === 'refused' && where.has(a.value)).map((a) => a.value);
  const failedButWritten = history.filter((a) => a.outcome === 'failed' && where.has(a.value)).map((a) => a.value);

  return {
    attempts: history.length,
    byOutcome,
    acked: acked.length,
    lost,
    lostDetail,
    wrongOffset,
    orderViolations,
    duplicates: { values: dupValues, extraCopies: extra, examples },
    unknown: { total: unknown.length, written: unknownWritten, notWritten: unknown.length - unknownWritten },
    refusedButWritten,
    failedButWritten,
    foreign,
    recordsInKafka: records.length,
  };
}

function parseJson(b: Buffer | null): string {
  if (b === null) return '';
  try {
    return String(JSON.parse(b.toString('utf8')));
  } catch {
    return b.toString('utf8');
  }
}

/** p50/p95/max of answer latencies (ms) of some attempts. */
export function latency(attempts: Attempt[]): { n: number; p50: number; p95: number; max: number } {
  const ms = attempts.map((a) => a.answeredAt - a.sentAt).sort((x, y) => x - y);
  const at = (q: number) => (ms.length ? Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!) : 0);
  return { n: ms.length, p50: at(0.5), p95: at(0.95), max: ms.length ? Math.round(ms[ms.length - 1]!) : 0 };
}

/** Per phase: outcome counts and latency. */
export function phases(history: Attempt[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of [...new Set(history.map((a) => a.phase))]) {
    const list = history.filter((a) => a.phase === p);
    const counts: Record<string, number> = {};
    for (const a of list) counts[a.outcome] = (counts[a.outcome] ?? 0) + 1;
    out[p] = { ...counts, latencyMs: latency(list) };
  }
  return out;
}

/**
 * One extra Kafka cluster at a time across test files (vitest runs files in parallel workers): a lock directory
 * in the temp folder holding the owner's pid. A lock whose owner died is taken over. Resolves with the release.
 */
export async function clusterLock(timeoutMs = 300_000): Promise<() => void> {
  const dir = path.join(os.tmpdir(), 'kafka-gateway-extra-cluster.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      /* being created or removed */
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) fs.rmSync(dir, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`another test holds ${dir} (pid ${owner}) for over ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `cond` every 100 ms until true; throws with `what` (and `detail()`) after timeoutMs. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<number> {
  const start = performance.now();
  const attempt = async () => {
    try {
      return await cond();
    } catch {
      return false; // a broker in transition answers errors: "not yet"
    }
  };
  if (!(await eventually(attempt, Boolean, { timeoutMs, intervalMs: 100 })))
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`);
  return performance.now() - start;
}
