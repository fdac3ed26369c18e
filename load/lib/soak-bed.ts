/**
 * What both soaks (load/soak-consumers.ts, load/soak-ws-group.ts) run on: one broker with a topic, three replicas of
 * the bundle as it ships behind the tests' round-robin balancer, a seeded choice of churn, and the restarts (a
 * replica stopped and started again every few seconds, alternately SIGTERM and SIGKILL).
 */
import { parseArgs } from './args.js';
import { BUILD_DIR, buildGateway, createTopics, gatewayEntry, startBroker } from './env.js';
import { kafkaClient, type ReadRecord, readAll } from '../../test/helpers/kafka.js';
import { portsToListenOnLater } from '../../test/helpers/ports.js';
import { type Replica, type RoundRobinProxy, roundRobinProxy, spawnReplica } from '../../test/helpers/replicas.js';

export const args = parseArgs(process.argv.slice(2));
export const MINUTES = args.num('minutes', 5);
export const PARTITIONS = args.num('partitions', 6);
const RESTART_EVERY_S = args.num('restart-every-s', 20);
let state = args.num('seed', 1) >>> 0;

/**
 * A small seeded PRNG (mulberry32: 32-bit integer steps only): a seed fixes the churn's choices (not the timings),
 * so runs can be told apart. It replaced a multiplicative generator computed in doubles, whose product overflowed
 * 2^53 and lost bits: its cycles were short (852 distinct values in 100,000 draws for seed 37), so a seed could
 * all but stop one kind of churn (seed 37: 28 instances deleted against 218 abandoned, where the odds are 10 to 3).
 */
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}

export const log = (m: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 23)} ${m}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SoakBed {
  brokers: string;
  proxy: RoundRobinProxy;
  /** The replicas now (undefined while one is restarted). */
  replicas: (Replica | undefined)[];
  /** Every replica process of the run, with its place (for the logs of one that was restarted). */
  everyReplica: { index: number; replica: Replica }[];
  restarts: number;
  /** Restarts replicas until `until` (epoch ms). */
  chaos(until: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the bed; `env` is added to every replica's settings. */
export async function startSoakBed(topic: string, env: Record<string, string>): Promise<SoakBed> {
  if (!(await buildGateway())) throw new Error('build failed');
  const entry = gatewayEntry(BUILD_DIR);
  const kafka = await startBroker();
  const brokers = kafka.bootstrap.PLAINTEXT!;
  await createTopics(brokers, { [topic]: PARTITIONS });
  const ports = await portsToListenOnLater(3);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const settings = (port: number) => ({
    KAFKA_BROKERS: brokers,
    AUTH_MODE: 'none',
    PORT: String(port),
    PEER_URLS: urls.join(','),
    PEER_SECRET: 'soak-test-secret-of-at-least-32-bytes-long',
    KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: '300',
    KAFKA_CONSUMER_MAX_WAIT_MS: '100',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // Kept in memory (spawnReplica), printed when something goes wrong: assignment changes are logged at debug.
    LOG_LEVEL: 'debug',
    ...env,
  });
  const replicas: (Replica | undefined)[] = await Promise.all(
    ports.map((p) => spawnReplica(settings(p), 60_000, entry)),
  );
  // A call cut by a dying replica reaches the client as a cut connection, as behind nginx with retries off.
  const proxy = await roundRobinProxy(urls, { retryAfterReset: false });
  const bed: SoakBed = {
    brokers,
    proxy,
    replicas,
    everyReplica: replicas.map((r, index) => ({ index, replica: r! })),
    restarts: 0,
    async chaos(until) {
      for (let i = 0; Date.now() < until; i++) {
        await sleep(RESTART_EVERY_S * 1000 * (0.5 + random()));
        if (Date.now() >= until) break;
        const k = Math.floor(random() * replicas.length);
        const kill = i % 2 === 1;
        log(`${kill ? 'SIGKILL' : 'SIGTERM'} replica ${k}`);
        await (kill ? replicas[k]!.kill() : replicas[k]!.stop());
        replicas[k] = undefined;
        await sleep(1000 + random() * 3000);
        replicas[k] = await spawnReplica(settings(ports[k]!), 60_000, entry);
        bed.everyReplica.push({ index: k, replica: replicas[k]! });
        bed.restarts++;
        log(`replica ${k} back`);
      }
    },
    async stop() {
      await Promise.allSettled(replicas.map((r) => r?.stop()));
      await proxy.close();
      await kafka.stop();
    },
  };
  return bed;
}

/** Logs `line()` every 15 s with the seconds since `t0`; returns the stop. */
export function progress(t0: number, line: () => string): () => void {
  const timer = setInterval(() => log(`${Math.round((Date.now() - t0) / 1000)} s: ${line()}`), 15_000);
  return () => clearInterval(timer);
}

/**
 * After the load: every record of `topic` as Kafka has it, waiting up to 120 s for the readers to have read each
 * (`read()`: the values they got so far); `unread` is what they never got.
 */
export async function drain(
  brokers: string,
  topic: string,
  read: () => Iterable<string>,
): Promise<{ inKafka: ReadRecord[]; unread: ReadRecord[] }> {
  log('producing stopped; draining');
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const inKafka = await readAll(
    brokers,
    topic,
    ends.reduce((n, p) => n + Number(p.high), 0),
    60_000,
  );
  const unread = () => {
    const seen = new Set(read());
    return inKafka.filter((r) => !seen.has(r.value!.toString()));
  };
  for (const until = Date.now() + 120_000; Date.now() < until && unread().length > 0; ) await sleep(500);
  return { inKafka, unread: unread() };
}
