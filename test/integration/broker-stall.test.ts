// The only broker stops answering without closing anything: its JVM is SIGSTOPped (connections stay open, the
// kernel still accepts; nothing is read or answered), under a steady produce load through an in-process gateway
// and with a WebSocket subscription open. Every produce request is answered within PRODUCE_TIMEOUT_MS (50003 "the
// outcome is unknown" for records sent, "not written" for records never sent), the gateway's memory stays
// bounded (records whose callers were answered are dropped, not kept behind the stalled batch), the WebSocket stays
// open, and after SIGCONT both recover by themselves: produce acknowledges again and the subscription delivers
// records produced after the stall. Everything acknowledged is then read back from Kafka.
// Own broker (one extra cluster at a time, clusterLock). KAFKA_CLUSTER_TESTS=0 skips it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyReport, readBack, startFailureBed, type FailureBed } from '../helpers/failure-bed.js';
import { uniqueTopic } from '../helpers/kafka.js';
import { latency, phases, startWorkload, until, type Workload } from '../helpers/produce-history.js';
import { WsClient, wsUrl, type RecordFrame } from '../helpers/ws.js';

declare module 'vitest' {
  interface TaskMeta {
    brokerStall?: Record<string, unknown>;
  }
}

const PARTITIONS = 3;
const PRODUCE_TIMEOUT_MS = 3000;
/** Scheduling slack on 2 busy cores. */
const ANSWER_BOUND_MS = PRODUCE_TIMEOUT_MS + 2000;
/** How long the broker stays stopped: several produce deadlines. */
const STALL_MS = 12_000;

let bed: FailureBed | undefined;
let load: Workload | undefined;
let ws: WsClient | undefined;
let stoppedPid: number | undefined;
const topic = uniqueTopic('stall');

describe.skipIf(process.env.KAFKA_CLUSTER_TESTS === '0')('a broker that stops answering (SIGSTOP)', () => {
  beforeAll(async () => {
    bed = await startFailureBed({ nodes: 1, topic, partitions: PARTITIONS, produceTimeoutMs: PRODUCE_TIMEOUT_MS });
  }, 420_000);

  afterAll(async () => {
    if (stoppedPid !== undefined) process.kill(stoppedPid, 'SIGCONT');
    ws?.ws.terminate();
    await load?.stop().catch(() => {});
    await bed?.close();
  }, 60_000);

  it('answers every produce within PRODUCE_TIMEOUT_MS, keeps WebSockets open, recovers after SIGCONT', {
    timeout: 170_000,
  }, async ({ task }) => {
    const g = bed!.gw;
    const pid = bed!.kafka.nodes[0]!.pid!;
    ws = await WsClient.open(wsUrl(g));
    await ws.subscribe({ id: 's', mode: 'broadcast', topics: [topic] });
    const run = Math.random().toString(36).slice(2, 8);
    const w = (load = startWorkload({
      url: g.url,
      topic,
      clients: 6,
      keysPerClient: 1,
      requestDeadlineMs: 60_000,
      run,
    }));
    const detail = () => JSON.stringify(phases(w.history));
    w.phase = 'before';
    await until('100 acks before the stall', () => w.count('ok', 'before') >= 100, 60_000, detail);

    w.phase = 'stalled';
    const heapBefore = process.memoryUsage().heapUsed;
    process.kill(pid, 'SIGSTOP');
    stoppedPid = pid;
    const stoppedAt = performance.now();
    let maxInflightBytes = 0;
    await until(
      `${STALL_MS} ms of stall`,
      () => {
        maxInflightBytes = Math.max(maxInflightBytes, g.kafka.producer.inflightBytes);
        return performance.now() - stoppedAt > STALL_MS;
      },
      STALL_MS + 10_000,
    );
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    const readyzDuringStall = await fetch(`${g.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.status,
      () => 0,
    );
    const wsOpenDuringStall = ws.closeCode === undefined;

    process.kill(pid, 'SIGCONT');
    stoppedPid = undefined;
    const resumedAt = performance.now();
    w.phase = 'resumed';
    await until('100 acks after SIGCONT (no gateway restart)', () => w.count('ok', 'resumed') >= 100, 90_000, detail);
    // The subscription delivers a record acknowledged after the stall.
    const lateAck = w.history.find((a) => a.phase === 'resumed' && a.outcome === 'ok')!;
    await ws.waitFor(
      (f) => f.type === 'record' && (f as RecordFrame).value === lateAck.value,
      60_000,
      'a record produced after SIGCONT on the WebSocket',
    );
    await w.stop();
    const { total, records, result } = await readBack(bed!.kafka.bootstrap.PLAINTEXT, topic, w.history);

    const stalled = w.history.filter((a) => a.phase === 'stalled');
    const firstAck = w.history
      .filter((a) => a.phase === 'resumed' && a.outcome === 'ok')
      .reduce((m, a) => Math.min(m, a.answeredAt), Infinity);
    const summary = {
      produceTimeoutMs: PRODUCE_TIMEOUT_MS,
      stallMs: STALL_MS,
      duringStall: latency(stalled),
      stalledOutcomes: phases(stalled),
      readyzDuringStall,
      heapGrowthMb: Math.round(heapGrowthMb),
      maxInflightBytes,
      firstAckAfterSigcontMs: Number.isFinite(firstAck) ? Math.round(firstAck - resumedAt) : null,
      ...historyReport(bed!, w.history, result),
    };
    task.meta.brokerStall = summary;
    console.log(`[broker-stall] ${JSON.stringify(summary)}`);

    // Every request was answered within the deadline (no hang behind the stopped broker).
    expect(w.history.filter((a) => a.outcome === 'error').map((a) => a.message)).toEqual([]);
    expect(
      stalled.filter((a) => a.answeredAt - a.sentAt > ANSWER_BOUND_MS).map((a) => Math.round(a.answeredAt - a.sentAt)),
    ).toEqual([]);
    expect(stalled.length).toBeGreaterThan(0);
    // Bounded: what is held is what callers still wait for (≤ PRODUCE_TIMEOUT_MS of load), not the whole stall.
    expect(maxInflightBytes).toBeLessThan(1024 * 1024);
    expect(heapGrowthMb).toBeLessThan(64);
    expect(wsOpenDuringStall).toBe(true);
    expect(ws.closeCode).toBeUndefined();
    expect(records.length).toBe(total);
    expect(result.lost).toEqual([]);
    expect(result.wrongOffset).toEqual([]);
    expect(result.orderViolations).toEqual([]);
    expect(result.failedButWritten).toEqual([]);
    expect(result.refusedButWritten).toEqual([]);
    expect(result.foreign).toBe(0);
  });
});
