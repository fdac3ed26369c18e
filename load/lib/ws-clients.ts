/**
 * The parent side of ws-client-worker.ts: spreads N sockets over P client processes, steers them (measure /
 * report / stop) and merges their counters and latency histograms. Plus the small process helpers W1–W4 share:
 * raising a process's open-file limit (a 10,000-socket run needs more than the usual 1,024 descriptors) and
 * sampling the gateway's RSS over a window (to see whether it stays flat).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './env.js';
import { Histogram } from './histogram.js';
import { treeRssMb } from './proc.js';
import type { WsClientJob, WsClientReport } from './ws-client-worker.js';

export interface MergedReport {
  sockets: number;
  dropped: number;
  closeCodes: Record<string, number>;
  frames: number;
  errors: number;
  latency: Histogram;
  /** Record's Kafka timestamp (broker append time on LogAppendTime topics) → receipt. */
  appendLatency: Histogram;
  unique: number;
  duplicates: number;
  acks: number;
  firstAt?: number;
  lastAt?: number;
  startAt?: number;
  uniqueAfterStart: number;
}

interface Worker {
  child: ChildProcess;
  waiters: Array<(msg: Record<string, unknown>) => void>;
  done?: Promise<Record<string, unknown>>;
  started?: Promise<void>;
  ready: Promise<{ sockets: number; connectS: number }>;
  exited: Promise<void>;
}

export class WsClients {
  private constructor(
    private readonly workers: Worker[],
    readonly connectS: number,
  ) {}

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** Starts `processes` workers sharing `sockets` sockets; resolves once every socket is open and subscribed. */
  static async start(
    job: Omit<WsClientJob, 'sockets'>,
    sockets: number,
    processes: number,
    log?: (m: string) => void,
  ): Promise<WsClients> {
    const n = Math.max(1, Math.min(processes, sockets));
    const per = Array.from({ length: n }, (_, i) => Math.floor(sockets / n) + (i < sockets % n ? 1 : 0));
    const t0 = performance.now();
    const workers = per.map((count) => spawnWorker({ ...job, sockets: count }));
    try {
      const ready = await Promise.all(workers.map((w) => w.ready));
      const connectS = (performance.now() - t0) / 1000;
      log?.(
        `ws clients: ${ready.reduce((a, r) => a + r.sockets, 0)} sockets in ${n} process(es) ready in ${connectS.toFixed(1)} s`,
      );
      return new WsClients(workers, connectS);
    } catch (e) {
      for (const w of workers) w.child.kill('SIGKILL');
      throw e;
    }
  }

  measure(from: number): void {
    this.send({ cmd: 'measure', from });
  }

  until(t: number): void {
    this.send({ cmd: 'until', t });
  }

  /** stall mode: every socket reads again (and so finds the close frame the gateway may have sent it). */
  resume(): void {
    this.send({ cmd: 'resume' });
  }

  async report(): Promise<MergedReport> {
    return merge(await Promise.all(this.workers.map((w) => ask(w, { cmd: 'report' }))));
  }

  /** group mode: resolves when every worker saw all of its expected records (rejects after `timeoutMs`). */
  done(timeoutMs: number): Promise<void> {
    return within(
      Promise.all(this.workers.map((w) => w.done)).then(() => {}),
      timeoutMs,
      'not every expected record arrived',
    );
  }

  /** group mode with holdUntilPartitions: resolves when every worker resumed its settled subscriptions. */
  started(timeoutMs: number): Promise<void> {
    return within(
      Promise.all(this.workers.map((w) => w.started)).then(() => {}),
      timeoutMs,
      'the group did not settle',
    );
  }

  async stop(): Promise<MergedReport> {
    const reports = await Promise.all(this.workers.map((w) => ask(w, { cmd: 'stop' })));
    await Promise.race([Promise.all(this.workers.map((w) => w.exited)), new Promise((r) => setTimeout(r, 10_000))]);
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    return merge(reports);
  }

  kill(): void {
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }

  private send(cmd: object): void {
    for (const w of this.workers) w.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }
}

async function within(p: Promise<void>, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function spawnWorker(job: WsClientJob): Worker {
  const child = spawn(
    process.execPath,
    [
      // A CPU profile of each client process (the load client's own cost per frame, docs/performance.md).
      ...(process.env.BENCH_WS_CLIENT_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WS_CLIENT_CPU_PROF}`]
        : []),
      '--import',
      'tsx',
      path.join(ROOT, 'load/lib/ws-client-worker.ts'),
      JSON.stringify(job),
    ],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const w: Partial<Worker> & { waiters: Worker['waiters'] } = { child, waiters: [] };
  let resolveReady!: (v: { sockets: number; connectS: number }) => void;
  let rejectReady!: (e: Error) => void;
  let resolveDone!: (v: Record<string, unknown>) => void;
  let resolveStarted!: () => void;
  w.started = new Promise((res) => (resolveStarted = res));
  w.ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
  w.done = new Promise((res) => (resolveDone = res));
  w.exited = new Promise((res) => child.once('exit', () => res()));
  void w.exited.then(() =>
    rejectReady(new Error(`ws client process exited with ${child.exitCode} before it was ready`)),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      process.stderr.write(`[bench] ws client process ${child.pid}: unreadable line (${line.length} bytes)\n`);
      return;
    }
    if (msg.type === 'ready') resolveReady(msg as unknown as { sockets: number; connectS: number });
    else if (msg.type === 'done') resolveDone(msg);
    else if (msg.type === 'started') resolveStarted();
    else if (msg.type === 'report') w.waiters.shift()?.(msg);
  });
  return w as Worker;
}

function ask(w: Worker, cmd: object): Promise<WsClientReport> {
  return new Promise((resolve, reject) => {
    if (w.child.exitCode !== null) return reject(new Error('ws client process is gone'));
    w.waiters.push((m) => resolve(m as unknown as WsClientReport));
    w.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  });
}

function merge(reports: WsClientReport[]): MergedReport {
  const latency = new Histogram();
  const appendLatency = new Histogram();
  const m: MergedReport = {
    sockets: 0,
    dropped: 0,
    closeCodes: {},
    frames: 0,
    errors: 0,
    latency,
    appendLatency,
    unique: 0,
    duplicates: 0,
    acks: 0,
    uniqueAfterStart: 0,
  };
  for (const r of reports) {
    m.sockets += r.sockets;
    m.dropped += r.dropped;
    m.frames += r.frames;
    m.errors += r.errors;
    m.unique += r.unique ?? 0;
    m.duplicates += r.duplicates ?? 0;
    m.acks += r.acks ?? 0;
    m.uniqueAfterStart += r.uniqueAfterStart ?? 0;
    if (r.startAt !== undefined) m.startAt = Math.max(m.startAt ?? 0, r.startAt);
    for (const [c, n] of Object.entries(r.closeCodes)) m.closeCodes[c] = (m.closeCodes[c] ?? 0) + n;
    latency.add(r.latency);
    appendLatency.add(r.appendLatency);
    if (r.firstAt !== undefined) m.firstAt = Math.min(m.firstAt ?? Infinity, r.firstAt);
    if (r.lastAt !== undefined) m.lastAt = Math.max(m.lastAt ?? 0, r.lastAt);
  }
  return m;
}

/** The soft open-file limit of a process (NaN when unknown). */
export function openFileLimit(pid: number): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Raises a running process's open-file limit to at least `need` (util-linux prlimit); says what it did. */
export function ensureOpenFiles(pid: number, need: number, log: (m: string) => void): void {
  const have = openFileLimit(pid);
  if (!(have < need)) return;
  const r = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${need}:${need}`], { encoding: 'utf8' });
  const after = openFileLimit(pid);
  log(
    `open-file limit of pid ${pid}: ${have} → ${after}${r.status === 0 ? '' : ` (prlimit: ${(r.stderr || r.error?.message || '').trim()})`}`,
  );
  if (!(after >= need)) throw new Error(`pid ${pid} may open only ${after} files, ${need} needed (raise ulimit -n)`);
}

/** Samples a process's RSS every `intervalMs` until stop(): first, last, peak, and the series. */
export function rssSeries(
  pid: number | undefined,
  intervalMs = 500,
): { stop(): { startMb: number; endMb: number; maxMb: number; samples: number[] } } {
  // The process and its children (a gateway with WORKERS > 1).
  const samples: number[] = pid === undefined ? [] : [treeRssMb(pid)];
  const timer = pid === undefined ? undefined : setInterval(() => samples.push(treeRssMb(pid)), intervalMs);
  timer?.unref();
  return {
    stop() {
      if (timer) clearInterval(timer);
      if (pid !== undefined) samples.push(treeRssMb(pid));
      const ok = samples.filter(Number.isFinite);
      return {
        startMb: ok[0] ?? Number.NaN,
        endMb: ok.at(-1) ?? Number.NaN,
        maxMb: ok.length ? Math.max(...ok) : Number.NaN,
        samples: ok,
      };
    },
  };
}
