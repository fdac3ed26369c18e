/**
 * A soak of the v2 consumer API from any replica, with churn: three gateways (the bundle as it ships) behind the
 * tests' non-sticky round-robin balancer, one group of several HTTP clients on a topic of six partitions, records
 * produced through the balancer all along, and for the whole run:
 *   - clients that delete their instance and make a new one, or walk away from it (it expires);
 *   - a replica stopped and started again every few seconds, alternately SIGTERM (graceful) and SIGKILL.
 * Each client follows docs/consuming-over-http.md: after a call cut without an answer it goes back to the committed
 * offsets; on 40403 it makes a new instance.
 *
 * What it checks, and prints (exit code 1 on any violation):
 *   - every acknowledged produce is in Kafka, at the partition and offset the answer named;
 *   - every record in Kafka was read by some client (at least once);
 *   - no record is read again after a commit of its partition past it was answered 200 before the read was asked;
 *   - no answer other than those the docs name (200/204, 40403 for a lost instance, 409 40903 for a commit the
 *     group no longer holds, 503 from a replica shutting down) reaches a client.
 * Duplicates (read, not committed, then read again by the partition's next owner) are counted, not failed.
 *
 *   npx tsx load/soak-consumers.ts [--minutes 5] [--clients 4] [--partitions 6] [--restart-every-s 20] [--seed 1]
 *   (wrap in `flock /tmp/kgw-bench.lock` on a shared machine)
 */
import { type Answer, request } from '../test/helpers/consumers.js';
import { args, drain, MINUTES, PARTITIONS, progress, random, sleep, startSoakBed } from './lib/soak-bed.js';

const CLIENTS = args.num('clients', 4);
const TOPIC = 'soak-consumers';
const GROUP = `soak-${Date.now()}`;
const BINARY = 'application/vnd.kafka.binary.v2+json';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';

interface Read {
  value: string;
  partition: number;
  offset: number;
  instance: string;
}

async function main() {
  const bed = await startSoakBed(TOPIC, { CONSUMER_INSTANCE_TIMEOUT_MS: '4000' });
  const { brokers, proxy } = bed;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    request(proxy.url, method, path, body, headers);

  const acked = new Map<string, { partition: number; offset: number }>();
  const refusedProduce: string[] = [];
  const reads: Read[] = [];
  /** Per partition, the commits answered 200 with the time of the answer. */
  const commitLog = new Map<number, { at: number; upTo: number }[]>();
  const violations: string[] = [];
  /** Where each violation sits in its partition's trace. */
  const violationAt: { partition: number; index: number }[] = [];
  const unexpected: string[] = [];
  const counts = { cut: 0, lost: 0, refusedCommit: 0, deleted: 0, abandoned: 0, unavailable: 0 };
  let stop = false;
  let producing = true;
  /** Per partition, what happened to it (for a violation's printout): time, instance, event. */
  const trace = new Map<number, string[]>();
  const t00 = Date.now();
  const traced = (partition: number, what: string) => {
    const l = trace.get(partition) ?? [];
    l.push(`${((Date.now() - t00) / 1000).toFixed(3)} ${what}`);
    trace.set(partition, l);
  };

  const committedAt = (partition: number, t: number) =>
    Math.max(0, ...(commitLog.get(partition) ?? []).filter((c) => c.at <= t).map((c) => c.upTo));
  const note = (what: string, a: Answer) => {
    if (a.status === 503) counts.unavailable++;
    else unexpected.push(`${what}: ${a.status} ${a.text.slice(0, 200)}`);
  };

  async function producer() {
    let n = 0;
    while (producing) {
      const values = Array.from({ length: 5 }, () => `v${n++}`);
      const body = { records: values.map((value, i) => ({ key: `k${n + i}`, value })) };
      try {
        const a = await api('POST', `/topics/${TOPIC}`, body, { 'content-type': JSON_V2 });
        if (a.status === 200) {
          (a.body.offsets as { partition: number; offset: number; error_code?: number }[]).forEach((o, i) => {
            if (o.error_code == null) acked.set(`"${values[i]}"`, { partition: o.partition, offset: o.offset });
            else refusedProduce.push(`"${values[i]}"`);
          });
        } else if (a.status >= 500) for (const v of values) refusedProduce.push(`"${v}"`);
        else note('produce', a);
      } catch {
        // cut: unknown fate, not counted either way
      }
      await sleep(20);
    }
  }

  let generation = 0;
  async function newInstance(): Promise<string | undefined> {
    const name = `c${generation++}`;
    try {
      const c = await api('POST', `/consumers/${GROUP}`, {
        name,
        format: 'binary',
        'auto.offset.reset': 'earliest',
        'auto.commit.enable': 'false',
      });
      if (c.status !== 200) {
        note('create', c);
        return undefined;
      }
      const s = await api('POST', `/consumers/${GROUP}/instances/${name}/subscription`, { topics: [TOPIC] });
      if (s.status !== 204) {
        if (s.status !== 404) note('subscribe', s);
        return undefined;
      }
      return name;
    } catch {
      return undefined;
    }
  }

  /** Back to the committed offsets after a call cut without an answer; tried until the instance answers. */
  async function rewind(name: string) {
    counts.cut++;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const a = await api('GET', `/consumers/${GROUP}/instances/${name}/assignments`);
        if (a.status === 404) return; // gone: its next instance starts from the commits
        if (a.status === 200) {
          const offsets = (a.body.partitions as { partition: number }[]).map(({ partition }) => ({
            topic: TOPIC,
            partition,
            offset: committedAt(partition, Date.now()),
          }));
          if (offsets.length === 0) return;
          const p = await api('POST', `/consumers/${GROUP}/instances/${name}/positions`, { offsets });
          for (const o of offsets) traced(o.partition, `${name} rewound to ${o.offset}: ${p.status}`);
          if (p.status === 204 || p.status === 404) return;
        }
      } catch {
        // cut again: try again
      }
      await sleep(200);
    }
    unexpected.push(`${name}: could not go back to the committed offsets after a cut call`);
  }

  /** Each client's instance now (for the printout of a partition left unread). */
  const current: (string | undefined)[] = [];
  async function client(slot: number) {
    let name: string | undefined;
    while (!stop) {
      current[slot] = name;
      if (!name) {
        name = await newInstance();
        if (!name) await sleep(100);
        continue;
      }
      // Churn, while records still come: leave properly, or walk away (the instance expires).
      if (producing && random() < 0.01) {
        counts.deleted++;
        await api('DELETE', `/consumers/${GROUP}/instances/${name}`).catch(() => undefined);
        name = undefined;
        continue;
      }
      if (producing && random() < 0.003) {
        counts.abandoned++;
        name = undefined;
        continue;
      }
      const asked = Date.now();
      let r: Answer;
      try {
        r = await api('GET', `/consumers/${GROUP}/instances/${name}/records?timeout=300&max_bytes=8192`, undefined, {
          accept: BINARY,
        });
      } catch {
        await rewind(name);
        continue;
      }
      if (r.status === 404 && r.body?.error_code === 40403) {
        counts.lost++;
        name = undefined;
        continue;
      }
      if (r.status !== 200) {
        note(`GET records (slot ${slot})`, r);
        await sleep(50);
        continue;
      }
      const batch = (r.body as { value: string; partition: number; offset: number }[]).map((x) => ({
        value: Buffer.from(x.value, 'base64').toString(),
        partition: x.partition,
        offset: x.offset,
        instance: name!,
      }));
      const ranges = new Map<number, [number, number]>();
      for (const x of batch) {
        const r = ranges.get(x.partition);
        ranges.set(x.partition, r ? [Math.min(r[0], x.offset), Math.max(r[1], x.offset)] : [x.offset, x.offset]);
      }
      for (const [p, [lo, hi]] of ranges)
        traced(p, `${name} GET (asked at ${((asked - t00) / 1000).toFixed(3)}) read ${lo}..${hi}`);
      for (const x of batch) {
        const c = committedAt(x.partition, asked);
        if (x.offset < c) {
          violationAt.push({ partition: x.partition, index: trace.get(x.partition)?.length ?? 0 });
          violations.push(`${x.value} p${x.partition}@${x.offset} read by ${name} after a commit up to ${c}`);
        }
        reads.push(x);
      }
      if (batch.length === 0) continue;
      const last = new Map<number, number>();
      for (const x of batch) last.set(x.partition, Math.max(last.get(x.partition) ?? -1, x.offset));
      const offsets = [...last].map(([partition, offset]) => ({ topic: TOPIC, partition, offset }));
      let c: Answer;
      try {
        c = await api('POST', `/consumers/${GROUP}/instances/${name}/offsets`, { offsets });
      } catch {
        await rewind(name);
        continue;
      }
      const at = Date.now();
      for (const o of offsets)
        traced(o.partition, `${name} commit ${o.offset + 1}: ${c.status} ${c.body?.error_code ?? ''}`);
      if (c.status === 200)
        for (const o of offsets) {
          const l = commitLog.get(o.partition) ?? [];
          l.push({ at, upTo: o.offset + 1 });
          commitLog.set(o.partition, l);
        }
      else if (c.status === 404 && c.body?.error_code === 40403) {
        counts.lost++;
        name = undefined;
      } else if (c.status === 409 && c.body?.error_code === 40903) counts.refusedCommit++;
      else note('commit', c);
    }
  }

  const t0 = Date.now();
  const clients = Array.from({ length: CLIENTS }, (_, s) =>
    client(s).catch((e: unknown) => unexpected.push(`client ${s} threw: ${(e as Error).stack}`)),
  );
  const produced = producer();
  const stopProgress = progress(
    t0,
    () =>
      `acked ${acked.size}, reads ${reads.length}, ${JSON.stringify({ ...counts, restarts: bed.restarts })}, ` +
      `violations ${violations.length}, unexpected ${unexpected.length}`,
  );
  try {
    await bed.chaos(t0 + MINUTES * 60_000);
    producing = false;
    await produced;
    const { inKafka, unread } = await drain(brokers, TOPIC, () => reads.map((r) => r.value));
    // A partition left unread: who holds what now, the partition's last events, and what the replicas logged.
    const stuck = [...new Set(unread.map((r) => r.partition))];
    const diagnosis: Record<string, unknown> = {};
    if (stuck.length > 0) {
      diagnosis.holders = await Promise.all(
        current.map(async (n) =>
          n
            ? `${n}: ${(await api('GET', `/consumers/${GROUP}/instances/${n}/assignments`).catch(() => undefined))?.text}`
            : '(none)',
        ),
      );
      diagnosis.lastEvents = Object.fromEntries(stuck.map((p) => [p, (trace.get(p) ?? []).slice(-25)]));
      // Around each unread record: the reads, commits and rewinds of its partition near its offset.
      const near = (event: string, offset: number) =>
        [...event.matchAll(/(?:read |commit |rewound to )(\d+)(?:\.\.(\d+))?/g)].some(
          (m) => Number(m[1]) - 200 <= offset && offset <= Number(m[2] ?? m[1]) + 200,
        );
      diagnosis.aroundUnread = unread.slice(0, 3).map((r) => ({
        record: `p${r.partition}@${r.offset}`,
        events: (trace.get(r.partition) ?? []).filter((e) => near(e, r.offset)).slice(0, 60),
      }));
      diagnosis.replicaLogs = bed.everyReplica.flatMap(({ index, replica }) =>
        replica.logs
          .filter(
            (l) =>
              (l.level as number) >= 40 ||
              (l.msg === 'assignment changed' && JSON.stringify(l).includes(`"${TOPIC}/${stuck[0]}"`)),
          )
          .slice(-30)
          .map((l) => `replica ${index} (pid ${replica.child.pid}): ${JSON.stringify(l).slice(0, 400)}`),
      );
    }
    stop = true;
    await Promise.allSettled(clients);
    const byValue = new Map(inKafka.map((r) => [r.value!.toString(), r]));
    const lostAcks = [...acked].filter(([v, at]) => {
      const r = byValue.get(v);
      return !r || r.partition !== at.partition || Number(r.offset) !== at.offset;
    });
    const refusedButWritten = refusedProduce.filter((v) => byValue.has(v));
    const seen = new Set(reads.map((r) => r.value));
    const duplicates = reads.length - seen.size;
    console.log(
      JSON.stringify(
        {
          minutes: MINUTES,
          clients: CLIENTS,
          partitions: PARTITIONS,
          acked: acked.size,
          inKafka: inKafka.length,
          reads: reads.length,
          duplicates,
          ...counts,
          restarts: bed.restarts,
          lostAcks: lostAcks.slice(0, 20),
          refusedButWritten: refusedButWritten.slice(0, 20),
          unread: unread.slice(0, 50).map((r) => `p${r.partition}@${r.offset}`),
          unreadCount: unread.length,
          violations: violations.slice(0, 50),
          traces: violationAt.slice(0, 3).map(({ partition, index }) => ({
            partition,
            around: (trace.get(partition) ?? []).slice(Math.max(0, index - 40), index + 10),
          })),
          violationCount: violations.length,
          unexpected: unexpected.slice(0, 30),
          ...diagnosis,
        },
        null,
        2,
      ),
    );
    const failed =
      lostAcks.length + refusedButWritten.length + unread.length + violations.length + unexpected.length > 0;
    process.exitCode = failed ? 1 : 0;
  } finally {
    stopProgress();
    stop = true;
    producing = false;
    await bed.stop();
  }
}

await main();
