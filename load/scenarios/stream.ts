/**
 * P6: v3 streaming produce. 16 connections, each a chunked `POST .../records` carrying one record per JSON object
 * (100 B JSON values, as P1) while it reads the reports (full duplex); a connection starts a new stream every
 * STREAM_ROTATE_S so no request outlives the gateway's REQUEST_TIMEOUT_MS. Counted: reports with error_code 200
 * that arrived in the measured window. Compared with P1 (v2, 100 records per request) of the same run.
 */
import http from 'node:http';
import { jsonValue } from '../lib/payload.js';
import { watchProcesses } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { cpuPerRecordsRow, cpuRow, med } from './common.js';
import type { BenchContext, Measured, Row, Scenario } from './types.js';

const topic = 'bench-p6';
const CONNECTIONS = 16;
const STREAM_ROTATE_S = 10;
/** Records written per chunk: one JSON object each, one after another. */
const RECORDS_PER_WRITE = 50;
const OK = '"error_code":200';

interface StreamRun {
  ok: number;
  failed: number;
}

/** One connection's streams until `deadline` (epoch ms); counts reports that arrive while `counting()`. */
async function streamConnection(url: string, deadline: number, counting: () => boolean, run: StreamRun) {
  let seq = 0;
  while (Date.now() < deadline) {
    const end = Math.min(deadline, Date.now() + STREAM_ROTATE_S * 1000);
    await new Promise<void>((resolve) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        agent: false,
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.setEncoding('utf8');
        let tail = '';
        res.on('data', (d: string) => {
          const text = tail + d;
          const cut = text.lastIndexOf('\r\n');
          if (cut < 0) {
            tail = text;
            return;
          }
          tail = text.slice(cut + 2);
          if (!counting()) return;
          // Count without parsing: every report is one line, a written one starts with error_code 200.
          const lines = text.slice(0, cut).split('\r\n');
          for (const line of lines) {
            if (line.startsWith(OK, 1)) run.ok++;
            else if (line.trim()) run.failed++;
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      const pump = () => {
        while (Date.now() < end) {
          let chunk = '';
          for (let i = 0; i < RECORDS_PER_WRITE; i++)
            chunk += `{"value":{"type":"JSON","data":${jsonValue(100, seq++ % 10)}}}`;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
  }
}

async function streamSide(ctx: BenchContext): Promise<Measured> {
  const clusters = (await (await fetch(`${ctx.gatewayUrl}/v3/clusters`)).json()) as {
    data: { cluster_id: string }[];
  };
  const url = `${ctx.gatewayUrl}/v3/clusters/${clusters.data[0]!.cluster_id}/topics/${topic}/records`;
  const run: StreamRun = { ok: 0, failed: 0 };
  const start = Date.now();
  const measureFrom = start + ctx.warmupS * 1000;
  const measureTo = measureFrom + ctx.durationS * 1000;
  let watch: ReturnType<typeof watchProcesses> | undefined;
  const timer = setTimeout(
    () => {
      watch = watchProcesses({ gateway: ctx.pids.gateway, broker: ctx.pids.broker, loadgen: process.pid });
    },
    Math.max(0, measureFrom - Date.now()),
  );
  let usage: ReturnType<ReturnType<typeof watchProcesses>['stop']> | undefined;
  const stopTimer = setTimeout(() => (usage = watch?.stop()), Math.max(0, measureTo - Date.now()));
  const counting = () => {
    const now = Date.now();
    return now >= measureFrom && now < measureTo;
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, () => streamConnection(url, measureTo, counting, run)));
  clearTimeout(timer);
  clearTimeout(stopTimer);
  usage ??= watch?.stop();
  return {
    durationS: ctx.durationS,
    records: run.ok,
    recordsPerS: run.ok / ctx.durationS,
    errors: run.failed,
    ...(usage ? { cpuPct: usage.cpuPct, rssMaxMb: usage.rssMaxMb } : {}),
  };
}

export const P6: Scenario = {
  id: 'P6',
  title: `v3 streaming, 1 record per JSON object, 100 B JSON values, ${CONNECTIONS} connections`,
  topics: { [topic]: 3 },
  round: async (ctx) => ({ gateway: await streamSide(ctx) }),
  summarize(rounds, all): Row[] {
    const rate = med(rounds, 'gateway', (m) => m.recordsPerS);
    const rows: Row[] = [
      {
        id: 'P6',
        metric: 'records/s through v3 streams',
        unit: 'records/s',
        ...(rate !== undefined ? { gateway: rate } : {}),
        target: 'report',
        note: `${med(rounds, 'gateway', (m) => m.errors) ?? 0} error reports per round (median)`,
      },
      cpuRow('P6', rounds),
      cpuPerRecordsRow('P6', rounds),
    ];
    const p1 = all.get('P1');
    if (p1) {
      // Per-round ratios (same round = same machine state), then the median.
      const xs = rounds
        .map((r, i) => (r.gateway?.recordsPerS ?? Number.NaN) / (p1[i]?.gateway?.recordsPerS ?? Number.NaN))
        .filter(Number.isFinite);
      if (xs.length)
        rows.push({
          id: 'P6',
          metric: 'P6 streaming ÷ P1 batched v2 (gateway records/s)',
          unit: '×',
          ratio: median(xs),
          target: 'report',
        });
    }
    return rows;
  },
};
