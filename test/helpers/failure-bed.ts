// The set-up the failure tests share (broker-restart, failover): their own cluster (one extra cluster at a time,
// clusterLock), a topic on it, and an in-process gateway with a short PRODUCE_TIMEOUT_MS whose log is captured.
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { ready, testKafkaClientEnv } from './gateway.js';
import { captureLog, type CapturedLog } from './log-capture.js';
import {
  createTopic,
  kafkaClient,
  readAll,
  startKafka,
  type CreateTopicOptions,
  type LocalKafka,
  type ReadRecord,
} from './kafka.js';
import { check, clusterLock, phases, type Attempt, type Check } from './produce-history.js';

export interface FailureBed {
  kafka: LocalKafka;
  gw: Gateway;
  logs: CapturedLog;
  /** Stops the gateway and the cluster, then frees the cluster lock. */
  close(): Promise<void>;
}

export interface FailureBedOptions {
  nodes: 1 | 3;
  topic: string;
  partitions: number;
  topicOptions?: CreateTopicOptions;
  produceTimeoutMs: number;
}

export async function startFailureBed(o: FailureBedOptions): Promise<FailureBed> {
  const release = await clusterLock();
  let kafka: LocalKafka | undefined;
  let gw: Gateway | undefined;
  const close = async () => {
    await gw?.close().catch(() => {});
    await kafka?.stop().catch(() => {});
    release();
  };
  try {
    kafka = await startKafka({ nodes: o.nodes, log: () => {} });
    await createTopic(kafka.bootstrap.PLAINTEXT, o.topic, o.partitions, o.topicOptions);
    const logs = captureLog('info');
    gw = await startGateway(
      loadConfig(
        {
          KAFKA_BROKERS: kafka.bootstrap.PLAINTEXT,
          PORT: '0',
          HOST: '127.0.0.1',
          AUTH_MODE: 'none',
          PRODUCE_TIMEOUT_MS: String(o.produceTimeoutMs),
          ...testKafkaClientEnv(),
        },
        'prod',
      ),
      { logger: logs.logger },
    );
    await ready(gw, 60_000);
    return { kafka, gw, logs, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** How many records a topic holds (high minus low watermark, summed over its partitions). */
export async function recordsIn(brokers: string, topic: string): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Reads the whole topic back from Kafka and checks the workload's history against it. */
export async function readBack(
  brokers: string,
  topic: string,
  history: Attempt[],
): Promise<{ total: number; records: ReadRecord[]; result: Check }> {
  const total = await recordsIn(brokers, topic);
  const records = await readAll(brokers, topic, total, 60_000, { settleMs: 500 });
  return { total, records, result: check(history, records) };
}

/** What both failure tests report of a run: phases, producer renewals and the history check's counts. */
export function historyReport(bed: FailureBed, history: Attempt[], result: Check): Record<string, unknown> {
  return {
    phases: phases(history),
    producerRenewals: bed.logs.lines.filter((l) => l.msg.startsWith('new idempotent producer')).length,
    acked: result.acked,
    lost: result.lost.length,
    lostDetail: result.lostDetail,
    wrongOffset: result.wrongOffset.length,
    orderViolations: result.orderViolations.length,
    duplicates: result.duplicates,
    unknown: result.unknown,
    byOutcome: result.byOutcome,
    refusedButWritten: result.refusedButWritten.length,
    failedButWritten: result.failedButWritten.length,
    foreign: result.foreign,
    recordsInKafka: result.recordsInKafka,
  };
}
