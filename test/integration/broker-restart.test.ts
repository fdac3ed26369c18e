// The only broker of a single-node cluster is killed (-9) and restarted (same data dir and ports) under a steady
// produce load through an in-process gateway. During the outage every request is answered — 503 50302 at once
// once the availability tracker marked the cluster down, per-record 50003 at worst for sends already under way —
// never a hang; after the restart the gateway recovers by itself (no gateway restart). Every acknowledged record
// is then read back from Kafka; duplicates and unknown outcomes are reported (console + task.meta.brokerRestart).
// Own broker (not the shared one): one extra cluster at a time (clusterLock). KAFKA_CLUSTER_TESTS=0 skips it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyReport, readBack, startFailureBed, type FailureBed } from '../helpers/failure-bed.js';
import { uniqueTopic } from '../helpers/kafka.js';
import { latency, phases, startWorkload, until, type Workload } from '../helpers/produce-history.js';

declare module 'vitest' {
  interface TaskMeta {
    brokerRestart?: Record<string, unknown>;
  }
}

const PARTITIONS = 3;
const PRODUCE_TIMEOUT_MS = 3000;
/** "Quickly": every answer during the outage within this (PRODUCE_TIMEOUT_MS + scheduling slack on 2 busy cores). */
const ANSWER_BOUND_MS = PRODUCE_TIMEOUT_MS + 2000;

let bed: FailureBed | undefined;
let load: Workload | undefined;
const topic = uniqueTopic('restart');

describe.skipIf(process.env.KAFKA_CLUSTER_TESTS === '0')('restart of the only broker', () => {
  beforeAll(async () => {
    bed = await startFailureBed({ nodes: 1, topic, partitions: PARTITIONS, produceTimeoutMs: PRODUCE_TIMEOUT_MS });
  }, 420_000);

  afterAll(async () => {
    await load?.stop().catch(() => {});
    await bed?.close();
  }, 60_000);

  it('answers 503 quickly while the broker is down, recovers by itself, loses no acknowledged record', {
    timeout: 170_000,
  }, async ({ task }) => {
    const b = bed!.kafka;
    const g = bed!.gw;
    const run = Math.random().toString(36).slice(2, 8);
    const w = (load = startWorkload({
      url: g.url,
      topic,
      clients: 4,
      keysPerClient: 2,
      requestDeadlineMs: 30_000,
      run,
    }));
    const detail = () => JSON.stringify(phases(w.history));
    const t0 = performance.now();
    const timeline: Record<string, number> = {};
    const mark = (name: string) => (timeline[name] = Math.round(performance.now() - t0));
    let downAt: number | undefined;
    let upAt: number | undefined;
    g.kafka.availability.on('down', () => (downAt ??= performance.now()));
    g.kafka.availability.on('up', () => {
      if (downAt !== undefined) upAt ??= performance.now();
    });

    w.phase = 'before';
    await until('100 acks before the kill', () => w.count('ok', 'before') >= 100, 60_000, detail);

    w.phase = 'outage';
    mark('kill');
    const killedAt = performance.now();
    await b.killNode(1, 'SIGKILL');
    mark('killed');
    await until('the gateway to mark Kafka down', () => downAt !== undefined, 30_000, detail);
    mark('marked-down');
    // Keep the broker down until the outage has been seen by clients for a while: 30 refusals and 3 s.
    await until(
      '30 refusals and 3 s of outage',
      () => w.count('refused', 'outage') >= 30 && performance.now() - killedAt > 3000,
      60_000,
      detail,
    );
    const readyzDown = await fetch(`${g.url}/readyz`).then((r) => r.status);

    w.phase = 'restarting';
    mark('restart');
    await b.startNode(1);
    mark('broker-started');
    const restartedAt = performance.now();
    w.phase = 'recovered';
    await until(
      '100 acks after the restart (no gateway restart)',
      () => w.count('ok', 'recovered') >= 100,
      60_000,
      detail,
    );
    mark('acks-after');
    await w.stop();
    mark('stopped');

    const { total: expected, records, result } = await readBack(b.bootstrap.PLAINTEXT, topic, w.history);

    // Answers to requests sent while the broker was down (or restarting).
    const during = w.history.filter((a) => a.phase === 'outage' || a.phase === 'restarting');
    const afterMarkedDown = during.filter((a) => a.sentAt >= downAt!);
    const firstAck = w.history
      .filter((a) => a.outcome === 'ok' && a.sentAt >= killedAt)
      .reduce((m, a) => Math.min(m, a.answeredAt), Infinity);
    const summary = {
      produceTimeoutMs: PRODUCE_TIMEOUT_MS,
      timelineMs: timeline,
      markedDownAfterKillMs: Math.round(downAt! - killedAt),
      trackerUpAfterBrokerStartedMs: upAt !== undefined ? Math.round(upAt - restartedAt) : null,
      firstAckAfterBrokerStartedMs: Number.isFinite(firstAck) ? Math.round(firstAck - restartedAt) : null,
      readyzWhileDown: readyzDown,
      duringOutage: latency(during),
      afterMarkedDown: latency(afterMarkedDown),
      afterMarkedDownWithin1s: afterMarkedDown.filter((a) => a.answeredAt - a.sentAt <= 1000).length,
      ...historyReport(bed!, w.history, result),
    };
    task.meta.brokerRestart = summary;
    console.log(`[broker-restart] ${JSON.stringify(summary)}`);
    const odd = w.history
      .filter(
        (a) => a.outcome === 'error' || a.outcome === 'failed' || (a.outcome === 'refused' && a.httpStatus !== 503),
      )
      .slice(0, 5);
    if (odd.length)
      console.log(
        '[broker-restart] first unexpected answers:',
        odd.map((a) => `${a.outcome} ${a.httpStatus ?? ''} ${a.message}`),
      );

    // Every request was answered, and quickly: nothing waits longer than PRODUCE_TIMEOUT_MS (+ slack).
    expect(w.history.filter((a) => a.outcome === 'error').map((a) => a.message)).toEqual([]);
    expect(
      during.filter((a) => a.answeredAt - a.sentAt > ANSWER_BOUND_MS).map((a) => Math.round(a.answeredAt - a.sentAt)),
    ).toEqual([]);
    // Refusals are 503 50302, nothing else.
    const refusals = w.history.filter((a) => a.outcome === 'refused');
    expect(
      refusals
        .filter((a) => a.httpStatus !== 503 || a.errorCode !== 50302)
        .map((a) => `${a.httpStatus} ${a.errorCode}`),
    ).toEqual([]);
    expect(readyzDown).toBe(503);
    // Once marked down, most requests are refused at once (no waiting on kafkajs retries).
    expect(afterMarkedDown.length).toBeGreaterThan(0);
    expect(
      afterMarkedDown.filter((a) => a.answeredAt - a.sentAt <= 1000).length / afterMarkedDown.length,
    ).toBeGreaterThanOrEqual(0.8);
    // Recovered without restarting the gateway; nothing acknowledged was lost.
    expect(g.kafka.ready()).toBe(true);
    expect(records.length).toBe(expected);
    expect(result.lost).toEqual([]);
    expect(result.wrongOffset).toEqual([]);
    expect(result.orderViolations).toEqual([]);
    expect(result.refusedButWritten).toEqual([]);
    expect(result.foreign).toBe(0);
  });
});
