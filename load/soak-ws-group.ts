/**
 * A soak of WebSocket group subscriptions (manual acks) with churn: three gateways (the bundle as it ships) behind
 * the tests' round-robin balancer, which tunnels the upgrades; several sockets in one group on a topic of six
 * partitions, records produced all along, and for the whole run:
 *   - sockets that close and come back (a new socket, the same group), as a browser tab does;
 *   - a replica stopped and started again every few seconds, alternately SIGTERM (graceful: 1001) and SIGKILL
 *     (the socket just drops); each socket then opens again.
 *
 * What it checks, and prints (exit code 1 on any violation):
 *   - every record in Kafka reached some socket (at least once);
 *   - a socket never gets the same record twice while it keeps the partition (WS_PROTOCOL.md, decided 2026-12-02);
 *   - records of a partition reach a socket in offset order;
 *   - no `error` frame but KAFKA_UNAVAILABLE (documented for a replica that cannot reach Kafka; the client opens a
 *     new socket, and the run counts it as `unavailable`), and no close code other than 1000 (ours), 1001 (shutdown)
 *     and 1006 (a killed replica). A replica listens only once its first probe of Kafka concluded, so a restarted
 *     one no longer answers it before it asked a broker (it did until 2026-12-05: the balancer has no readiness
 *     check).
 * Duplicates across sockets (acknowledged less than 200 ms before a rebalance, or not at all) are counted.
 *
 *   npx tsx load/soak-ws-group.ts [--minutes 5] [--sockets 5] [--partitions 6] [--restart-every-s 20] [--seed 1]
 *   (wrap in `flock /tmp/kgw-bench.lock` on a shared machine)
 */
import WebSocket from 'ws';
import { kafkaClient } from '../test/helpers/kafka.js';
import { args, drain, MINUTES, PARTITIONS, progress, random, sleep, startSoakBed } from './lib/soak-bed.js';

const SOCKETS = args.num('sockets', 5);
const TOPIC = 'soak-ws-group';
const GROUP = `soak-ws-${Date.now()}`;

interface Seen {
  value: string;
  partition: number;
  offset: number;
}

async function main() {
  const bed = await startSoakBed(TOPIC, {});
  const { brokers, proxy } = bed;
  const wsBase = proxy.url.replace('http', 'ws');

  const reads: Seen[] = [];
  const violations: string[] = [];
  const unexpected: string[] = [];
  const closes = new Map<number, number>();
  const counts = { opened: 0, closedByUs: 0, refusedOpen: 0, unavailable: 0 };
  let stop = false;
  let producing = true;

  async function producer() {
    const p = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true });
    await p.connect();
    let n = 0;
    try {
      while (producing) {
        await p.send({
          topic: TOPIC,
          messages: Array.from({ length: 10 }, () => ({ key: `k${n}`, value: `v${n++}` })),
        });
        await sleep(20);
      }
    } finally {
      await p.disconnect();
    }
  }

  /** One socket's life: open, subscribe, read and ack, until it closes (by us, or the replica). */
  function session(slot: number): Promise<void> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${wsBase}/ws`, ['kgw.v1'], { perMessageDeflate: false });
      /** Per partition: the next offset this socket expects, while it holds the partition. */
      const next = new Map<number, number>();
      /** Per partition: offsets this socket got since it was last assigned the partition. */
      const got = new Map<number, Set<number>>();
      let closeTimer: NodeJS.Timeout | undefined;
      const ackLater = new Map<number, number>();
      const acker = setInterval(() => {
        for (const [partition, offset] of ackLater)
          ws.send(JSON.stringify({ type: 'ack', id: 's', topic: TOPIC, partition, offset }));
        ackLater.clear();
      }, 50);
      ws.on('open', () => {
        counts.opened++;
        ws.send(
          JSON.stringify({
            type: 'subscribe',
            id: 's',
            mode: 'group',
            topics: [TOPIC],
            group: GROUP,
            from: 'earliest',
            format: 'string',
            ack: 'manual',
            window: 200,
          }),
        );
        if (producing && random() < 0.5) {
          closeTimer = setTimeout(
            () => {
              counts.closedByUs++;
              ws.close(1000);
            },
            2000 + random() * 15_000,
          );
        }
      });
      const assigned = (tps: { partition: number }[]) => {
        const now = new Set(tps.map((t) => t.partition));
        for (const p of [...next.keys()]) if (!now.has(p)) next.delete(p), got.delete(p);
        for (const p of now) if (!got.has(p)) got.set(p, new Set());
      };
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'subscribed') assigned(f.assignment);
        else if (f.type === 'assignment') assigned(f.current);
        else if (f.type === 'error' && f.code === 'KAFKA_UNAVAILABLE') {
          // No subscription was made: try again on a new socket (the balancer picks the next replica).
          counts.unavailable++;
          ws.close(1000);
        } else if (f.type === 'error') unexpected.push(`slot ${slot}: error frame ${JSON.stringify(f)}`);
        else if (f.type === 'record') {
          const { partition, offset } = f as { partition: number; offset: number };
          const set = got.get(partition);
          if (!set) violations.push(`slot ${slot}: p${partition}@${offset} on a partition it does not hold`);
          else if (set.has(offset))
            violations.push(`slot ${slot}: p${partition}@${offset} twice while it held p${partition}`);
          else set.add(offset);
          const expect = next.get(partition);
          if (expect !== undefined && offset < expect)
            violations.push(`slot ${slot}: p${partition}@${offset} after @${expect - 1} (out of order)`);
          next.set(partition, offset + 1);
          reads.push({ value: f.value, partition, offset });
          ackLater.set(partition, offset);
        }
      });
      ws.on('unexpected-response', (_req, res) => {
        counts.refusedOpen++;
        if (res.statusCode !== 502 && res.statusCode !== 503)
          unexpected.push(`slot ${slot}: upgrade ${res.statusCode}`);
      });
      ws.on('error', () => {});
      ws.on('close', (code) => {
        clearInterval(acker);
        clearTimeout(closeTimer);
        closes.set(code, (closes.get(code) ?? 0) + 1);
        if (![1000, 1001, 1006, 1005].includes(code)) unexpected.push(`slot ${slot}: close ${code}`);
        resolve();
      });
    });
  }

  async function socketSlot(slot: number) {
    while (!stop) {
      await session(slot);
      if (!stop) await sleep(100 + random() * 500);
    }
  }

  const t0 = Date.now();
  const slots = Array.from({ length: SOCKETS }, (_, s) =>
    socketSlot(s).catch((e: unknown) => unexpected.push(`slot ${s} threw: ${(e as Error).stack}`)),
  );
  const produced = producer();
  const stopProgress = progress(
    t0,
    () =>
      `reads ${reads.length}, ${JSON.stringify({ ...counts, restarts: bed.restarts })}, closes ` +
      `${JSON.stringify([...closes])}, violations ${violations.length}, unexpected ${unexpected.length}`,
  );
  try {
    await bed.chaos(t0 + MINUTES * 60_000);
    producing = false;
    await produced;
    const { inKafka, unread } = await drain(brokers, TOPIC, () => reads.map((r) => r.value));
    stop = true;
    const seen = new Set(reads.map((r) => r.value));
    console.log(
      JSON.stringify(
        {
          minutes: MINUTES,
          sockets: SOCKETS,
          partitions: PARTITIONS,
          inKafka: inKafka.length,
          reads: reads.length,
          duplicates: reads.length - seen.size,
          ...counts,
          restarts: bed.restarts,
          closes: Object.fromEntries(closes),
          unread: unread.slice(0, 50).map((r) => `p${r.partition}@${r.offset}`),
          unreadCount: unread.length,
          violations: violations.slice(0, 50),
          violationCount: violations.length,
          unexpected: unexpected.slice(0, 30),
        },
        null,
        2,
      ),
    );
    process.exitCode = unread.length + violations.length + unexpected.length > 0 ? 1 : 0;
  } finally {
    stopProgress();
    stop = true;
    producing = false;
    await Promise.allSettled(bed.replicas.map((r) => r?.stop()));
    await Promise.race([Promise.allSettled(slots), sleep(10_000)]);
    await bed.stop();
  }
}

await main();
