/**
 * WebSocket clients for W1–W4, in a process of their own (their CPU is measured apart from the gateway's, and a
 * run can spread 10,000 sockets over several processes). Driven over stdin/stdout, one JSON object per line:
 *
 *   node --import tsx load/lib/ws-client-worker.ts '<WsClientJob JSON>'
 *   → {"type":"ready",...}                          every socket is open and subscribed
 *   ← {"cmd":"measure","from":<epoch ms>}           count frames of records produced at/after `from` (latency mode)
 *   ← {"cmd":"until","t":<epoch ms>}                ... and before `t`
 *   ← {"cmd":"report"}  → {"type":"report",...}     counters and the latency histogram so far
 *   ← {"cmd":"resume"}                              stall mode: every socket reads again (and finds its close frame)
 *   ← {"cmd":"stop"}    → {"type":"report",...}     then closes every socket and exits
 *   → {"type":"done",...}                           group mode: every expected record arrived
 *
 * latency mode: records carry their produce time as `"t":<epoch ms>` in a string value (format=string); frames
 * are not fully parsed (the client looks for that field only) so the load generator stays cheap.
 * group mode: frames are parsed (as a real client would), `record` and batched `records` frames alike, each
 * (partition, offset) is counted once, and the client acks cumulatively per partition every `ackEvery` records
 * (with batches: the last offset of the frame that reaches it).
 * stall mode (W4b's lagging crowd): each socket subscribes, then stops reading from its TCP socket for good (until
 * `resume`): what the gateway sends piles up in the kernel's buffers, then in the gateway's. Close codes are counted
 * as the sockets see them, which for a socket that does not read is only after `resume`.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { Histogram } from './histogram.js';
import { RecordFrameReader } from './record-frame-reader.js';

export interface WsClientJob {
  /** ws://host:port/ws[?shortcut] */
  url: string;
  sockets: number;
  /** Sockets opening at once. */
  connectConcurrency?: number;
  /** Frames each socket sends once open (ids made unique per socket by the caller's choice); none = the URL's shortcut. */
  subscribe?: Record<string, unknown>[];
  mode: 'latency' | 'group' | 'stall';
  /** group: ack every this many records per partition (cumulative). */
  ackEvery?: number;
  /** group: partition → [low, high) of the records to expect. */
  expect?: Record<string, [number, number]>;
  /**
   * group: pause every subscription at once (a `pause` right behind the `subscribe`), and resume them all together
   * when the sockets' assignments cover this many partitions, every socket holding some: the measured window then
   * starts on a settled group, not in the middle of its first rebalances.
   */
  holdUntilPartitions?: number;
}

export interface WsClientReport {
  type: 'report';
  sockets: number;
  /** Sockets closed by the other side after they were ready. */
  dropped: number;
  closeCodes: Record<string, number>;
  frames: number;
  errors: number;
  latency: ReturnType<Histogram['toSparse']>;
  /** From the record's Kafka timestamp (broker append time with LogAppendTime topics) to receipt. */
  appendLatency: ReturnType<Histogram['toSparse']>;
  unique?: number;
  duplicates?: number;
  acks?: number;
  firstAt?: number;
  lastAt?: number;
  /** holdUntilPartitions: when the subscriptions were resumed, and the records first seen after that. */
  startAt?: number;
  uniqueAfterStart?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as WsClientJob;
const now = () => performance.timeOrigin + performance.now();
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const hist = new Histogram();
const appendHist = new Histogram();
const sockets: WebSocket[] = [];
let frames = 0;
let errors = 0;
let dropped = 0;
let stopping = false;
let measureFrom = Number.POSITIVE_INFINITY;
let measureUntil = Number.POSITIVE_INFINITY;
const closeCodes: Record<string, number> = {};

// group mode
const seen = new Map<number, { low: number; bits: Uint8Array }>();
let expected = 0;
let unique = 0;
let duplicates = 0;
let acks = 0;
let firstAt: number | undefined;
let lastAt: number | undefined;
let startAt: number | undefined;
let uniqueAfterStart = 0;
let done = false;
/** holdUntilPartitions: each held socket's current partition count, and how to resume it. */
const held = new Map<WebSocket, { partitions: number; resume: () => void }>();

function maybeStart(): void {
  if (startAt !== undefined || job.holdUntilPartitions === undefined || held.size < job.sockets) return;
  const counts = [...held.values()].map((h) => h.partitions);
  if (counts.some((c) => c === 0) || counts.reduce((a, b) => a + b, 0) !== job.holdUntilPartitions) return;
  startAt = now();
  for (const h of held.values()) h.resume();
  out({ type: 'started', startAt });
}
for (const [p, [low, high]] of Object.entries(job.expect ?? {})) {
  seen.set(Number(p), { low, bits: new Uint8Array(Math.max(0, high - low)) });
  expected += Math.max(0, high - low);
}

/**
 * The frames received outside a window, newest last (a ring): on a starved client process a `measure` command can
 * be read after the first frames of its window arrived; those are counted from here when it is, not lost.
 */
const RECENT = 1 << 17;
const recentT = new Float64Array(RECENT);
const recentReceived = new Float64Array(RECENT);
const recentAppend = new Float64Array(RECENT);
let recentNext = 0;
let recentSize = 0;

function onLatencyFrame(s: string): void {
  // The value is a JSON string holding {"t":<ms>,...}: its quotes are escaped inside the frame.
  const i = s.indexOf('t\\":');
  if (i < 0) return;
  const t = parseFloat(s.slice(i + 4, i + 24));
  const received = now();
  // The record's Kafka timestamp (the broker's append time when the topic says LogAppendTime; whole ms).
  const j = s.indexOf('"timestamp":');
  const appended = j >= 0 ? parseInt(s.slice(j + 12, j + 28), 10) : Number.NaN;
  // Before the first window, or newer than the window just closed: it may belong to the next one.
  if (measureFrom === Number.POSITIVE_INFINITY || t >= measureUntil) {
    recentT[recentNext] = t;
    recentReceived[recentNext] = received;
    recentAppend[recentNext] = appended;
    recentNext = (recentNext + 1) % RECENT;
    recentSize = Math.min(RECENT, recentSize + 1);
    return;
  }
  countFrame(t, received, appended);
}

function countFrame(t: number, received: number, appended: number): void {
  if (!(t >= measureFrom && t < measureUntil)) return;
  frames++;
  hist.record(received - t);
  if (!Number.isNaN(appended)) appendHist.record(received - appended);
}

/** A window starts: count what already arrived of it (see RECENT), then forget the ring. */
function replayRecent(): void {
  for (let k = recentSize; k > 0; k--) {
    const at = (recentNext - k + RECENT) % RECENT;
    countFrame(recentT[at]!, recentReceived[at]!, recentAppend[at]!);
  }
  recentSize = 0;
}

type Frame = {
  type: string;
  id?: string;
  partition?: number;
  offset?: number;
  topic?: string;
  assignment?: unknown[];
  current?: unknown[];
  /** `records` (batch) frames. */
  records?: { offset: number }[];
};

/** group: a socket's handling of its frames (`record` frames read through RecordFrameReader, the rest parsed). */
interface GroupClient {
  frame(data: Buffer): void;
  parsed(f: Frame): void;
}

function groupClient(ws: WebSocket): GroupClient {
  /** Records of each partition since its last ack. */
  const sinceAck: number[] = [];
  const ackEvery = job.ackEvery ?? 1;
  /** One reader per (subscription, topic) of this socket: a `record` frame of any of them skips JSON.parse. */
  const readers = (job.subscribe ?? []).flatMap((s) =>
    Array.isArray(s.topics) && typeof s.id === 'string'
      ? (s.topics as unknown[])
          .filter((t) => typeof t === 'string')
          .map((t) => new RecordFrameReader(s.id as string, t))
      : [],
  );
  /**
   * One record of partition `p` arrived: counted once per (partition, offset). The clock is read for the first
   * record, every 64th new one and the one that completes the set (the end of the measured window), not per frame.
   */
  const took = (p: number, o: number) => {
    frames++;
    const part = seen.get(p);
    if (part && o >= part.low && o - part.low < part.bits.length) {
      if (part.bits[o - part.low]) duplicates++;
      else {
        part.bits[o - part.low] = 1;
        unique++;
        if (startAt !== undefined) uniqueAfterStart++;
        if ((unique & 63) === 0 || unique === expected || lastAt === undefined) lastAt = now();
      }
    }
  };
  /** `n` records of `p` came in one frame, the last at `last`: a cumulative ack once ackEvery came since the last. */
  const maybeAck = (id: string | undefined, topic: string | undefined, p: number, last: number, n: number) => {
    const since = (sinceAck[p] ?? 0) + n;
    if (since >= ackEvery) {
      ws.send(
        `{"type":"ack","id":${JSON.stringify(id)},"topic":${JSON.stringify(topic)},"partition":${p},"offset":${last}}`,
      );
      acks++;
      sinceAck[p] = 0;
    } else sinceAck[p] = since;
    if (!done && expected > 0 && unique >= expected) {
      done = true;
      out({ type: 'done', unique, duplicates, firstAt, lastAt, acks, startAt, uniqueAfterStart });
    }
  };
  const parsed = (f: Frame) => {
    if (f.type === 'subscribed' || f.type === 'assignment') {
      const h = held.get(ws);
      if (h) {
        h.partitions = (f.type === 'subscribed' ? f.assignment : f.current)?.length ?? 0;
        maybeStart();
      }
      return;
    }
    if (f.type !== 'record' && f.type !== 'records') return;
    firstAt ??= now();
    const p = f.partition!;
    if (f.type === 'record') {
      took(p, f.offset!);
      maybeAck(f.id, f.topic, p, f.offset!, 1);
      return;
    }
    const records = f.records!;
    if (records.length === 0) return;
    for (const r of records) took(p, r.offset);
    maybeAck(f.id, f.topic, p, records[records.length - 1]!.offset, records.length);
  };
  return {
    parsed,
    frame(data) {
      for (const r of readers)
        if (r.read(data)) {
          firstAt ??= now();
          took(r.partition, r.offset);
          maybeAck(r.id, r.topic, r.partition, r.offset, 1);
          return;
        }
      const s = data.toString('utf8');
      if (s.includes('"type":"error"')) errors++;
      else parsed(JSON.parse(s) as Frame);
    },
  };
}

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(job.url, 'kgw.v1', { perMessageDeflate: false });
    const want = job.subscribe?.length ?? 1;
    let subscribed = 0;
    const group = job.mode === 'group' ? groupClient(ws) : undefined;
    ws.on('open', () => {
      for (const f of job.subscribe ?? []) {
        ws.send(JSON.stringify(f));
        if (job.holdUntilPartitions !== undefined) {
          ws.send(JSON.stringify({ type: 'pause', id: f.id }));
          held.set(ws, { partitions: 0, resume: () => ws.send(JSON.stringify({ type: 'resume', id: f.id })) });
        }
      }
    });
    ws.on('message', (data: Buffer) => {
      if (subscribed < want) {
        const s = data.toString('utf8');
        if (s.includes('"type":"subscribed"')) {
          group?.parsed(JSON.parse(s) as Frame);
          if (++subscribed === want) {
            // Never read again (until `resume`): the kernel buffers fill, then the gateway's.
            if (job.mode === 'stall') ws.pause();
            resolve(ws);
          }
        } else if (s.includes('"type":"error"')) reject(new Error(`subscribe refused: ${s.slice(0, 300)}`));
        else if (group) group.parsed(JSON.parse(s) as Frame);
        return;
      }
      if (group) {
        group.frame(data);
        return;
      }
      if (job.mode === 'latency') onLatencyFrame(data.toString('latin1'));
    });
    ws.on('error', (e) => {
      if (subscribed < want) reject(e);
    });
    ws.on('close', (code) => {
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      if (subscribed >= want && !stopping) dropped++;
    });
  });
}

function report(): WsClientReport {
  return {
    type: 'report',
    sockets: sockets.length,
    dropped,
    closeCodes,
    frames,
    errors,
    latency: hist.toSparse(),
    appendLatency: appendHist.toSparse(),
    ...(job.mode === 'group'
      ? {
          unique,
          duplicates,
          acks,
          uniqueAfterStart,
          ...(firstAt !== undefined ? { firstAt } : {}),
          ...(lastAt !== undefined ? { lastAt } : {}),
          ...(startAt !== undefined ? { startAt } : {}),
        }
      : {}),
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const batch = job.connectConcurrency ?? 200;
  for (let i = 0; i < job.sockets; i += batch) {
    const n = Math.min(batch, job.sockets - i);
    sockets.push(...(await Promise.all(Array.from({ length: n }, open))));
  }
  out({ type: 'ready', sockets: sockets.length, connectS: (performance.now() - t0) / 1000 });

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as { cmd: string; from?: number; t?: number };
    if (cmd.cmd === 'measure') {
      measureFrom = cmd.from ?? now();
      measureUntil = Number.POSITIVE_INFINITY;
      frames = 0;
      hist.reset();
      appendHist.reset();
      replayRecent();
    } else if (cmd.cmd === 'until') measureUntil = cmd.t ?? now();
    else if (cmd.cmd === 'report') out(report());
    else if (cmd.cmd === 'resume') for (const ws of sockets) ws.resume();
    else if (cmd.cmd === 'stop') break;
  }
  stopping = true;
  for (const ws of sockets) ws.terminate();
  // Exit only once the report is written (a pipe may take a large line in several writes).
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(report())}\n`, () => resolve()));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`ws clients failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
