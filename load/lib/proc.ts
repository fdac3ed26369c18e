/**
 * CPU and memory of processes from /proc (Linux): each side of a benchmark is a separate process, so the
 * gateway's, the broker's, the load generator's and the baseline's costs are reported apart.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // getconf CLK_TCK on Linux

/** user+system CPU seconds so far, or NaN when the process is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size in MiB, or NaN when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Resident memory of `pid` by kind, MiB (NaN when the process is gone): `anon` is the process's own memory (heap,
 * malloc arenas, stacks), `file` the pages of mapped files (the node binary and its shared libraries: shared with
 * any other process running the same binary, and dropped under memory pressure without swapping), `shmem` shared
 * memory. RSS is their sum.
 */
export function rssPartsMb(pid: number): { anon: number; file: number; shmem: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => {
      const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status);
      return m ? Number(m[1]) / 1024 : Number.NaN;
    };
    return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return { anon: Number.NaN, file: Number.NaN, shmem: Number.NaN };
  }
}

/**
 * `pid` and every process below it: a gateway started with WORKERS > 1 is a primary and its workers, and its cost
 * is theirs together.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [pid];
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

const sumOver = (pids: number[], f: (pid: number) => number) =>
  pids.map(f).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);

/** CPU seconds of `pid` and its descendants (NaN when `pid` is gone). */
export function treeCpuSeconds(pid: number): number {
  return Number.isFinite(cpuSeconds(pid)) ? sumOver(processTree(pid), cpuSeconds) : Number.NaN;
}

/** RSS of `pid` and its descendants, MiB (NaN when `pid` is gone). */
export function treeRssMb(pid: number): number {
  return Number.isFinite(rssMb(pid)) ? sumOver(processTree(pid), rssMb) : Number.NaN;
}

export interface ProcUsage {
  /** Average CPU over the window, in % of one core (200% = both cores of this machine). */
  cpuPct: Record<string, number>;
  /** Highest RSS seen in the window, MiB. */
  rssMaxMb: Record<string, number>;
  /** RSS at the end of the window, MiB. */
  rssEndMb: Record<string, number>;
}

/**
 * Samples RSS every `intervalMs` and CPU at both ends, for named pids, until stop(). The names in `trees` count
 * their descendants too (the gateway: a primary and its workers with WORKERS > 1).
 */
export function watchProcesses(
  pids: Record<string, number | undefined>,
  intervalMs = 250,
  trees: readonly string[] = ['gateway'],
): { stop(): ProcUsage } {
  const named = Object.entries(pids).filter((e): e is [string, number] => typeof e[1] === 'number');
  const cpuSeconds = (n: string, pid: number) => (trees.includes(n) ? treeCpuSeconds(pid) : ownCpuSeconds(pid));
  const rssMb = (n: string, pid: number) => (trees.includes(n) ? treeRssMb(pid) : ownRssMb(pid));
  const t0 = performance.now();
  const cpu0 = new Map(named.map(([n, pid]) => [n, cpuSeconds(n, pid)]));
  const rssMax = new Map(named.map(([n, pid]) => [n, rssMb(n, pid)]));
  // A process that exits before stop() (e.g. ProducerPerformance) keeps its last CPU reading.
  const cpuLast = new Map(cpu0);
  const timer = setInterval(() => {
    for (const [n, pid] of named) {
      rssMax.set(n, Math.max(rssMax.get(n) ?? 0, rssMb(n, pid)));
      const c = cpuSeconds(n, pid);
      if (Number.isFinite(c)) cpuLast.set(n, c);
    }
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      const usage: ProcUsage = { cpuPct: {}, rssMaxMb: {}, rssEndMb: {} };
      for (const [n, pid] of named) {
        const c = cpuSeconds(n, pid);
        usage.cpuPct[n] = (((Number.isFinite(c) ? c : cpuLast.get(n)!) - cpu0.get(n)!) / wall) * 100;
        const end = rssMb(n, pid);
        usage.rssEndMb[n] = end;
        usage.rssMaxMb[n] = Math.max(rssMax.get(n) ?? 0, end);
      }
      return usage;
    },
  };
}

const ownCpuSeconds = cpuSeconds;
const ownRssMb = rssMb;

/** 1-minute load average and core count (context for noisy-machine results). */
export function machineLoad(): { load1: number; cores: number } {
  try {
    return {
      load1: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      cores: Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0),
    };
  } catch {
    return { load1: Number.NaN, cores: 0 };
  }
}
