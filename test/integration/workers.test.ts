// WORKERS=2 (docs/workers.md): one gateway process forks two workers on one port. HTTP consumer lifecycles whose
// calls land on both workers (a new connection per call, so the cluster's round robin spreads them; the `kgw-worker`
// header says who answered) read every record, with calls for an instance held by the other worker forwarded over
// its loopback door; a peer lookup from another pod (signed with PEER_SECRET) finds an instance whichever worker it
// lands on; WebSocket and SSE deliver; /metrics answers for both workers; a SIGKILLed worker is restarted; SIGTERM
// closes every WebSocket with 1001 and ends both workers and the primary with exit code 0 within the timeout. Then two
// such pods behind a round-robin balancer serve consumer lifecycles across pods and workers.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PeerAuth } from '../../src/consumers/peer-auth.js';
import { LOOKUP_PATH } from '../../src/consumers/peers.js';
import { type Answer, request } from '../helpers/consumers.js';
import { testKafkaClientEnv } from '../helpers/gateway.js';
import { createTopic, deleteTopics, produce, uniqueTopic } from '../helpers/kafka.js';
import { portsToListenOnLater } from '../helpers/ports.js';
import {
  type Replica,
  type RoundRobinProxy,
  roundRobinProxy,
  spawnReplica,
  spawnReplicas,
} from '../helpers/replicas.js';
import { SseClient } from '../helpers/sse.js';
import { eventually, waitFor } from '../helpers/wait.js';
import { FAST_CONSUMERS, WsClient, wsUrl } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
const topic = uniqueTopic('workers');
const RECORDS = 120;
const SHUTDOWN_TIMEOUT_MS = 15_000;
const SECRET = 'workers-test-peer-secret-of-at-least-32-bytes';
const BINARY = 'application/vnd.kafka.binary.v2+json';
let gw: Replica;

/** Which worker answered each call. */
const servedBy = new Map<string, number>();

/** One call on a fresh connection (Connection: close), so the cluster may hand it to either worker. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const a = await request(gw.url, method, path, body, { connection: 'close', ...headers });
  const w = a.headers['kgw-worker'];
  if (typeof w === 'string') servedBy.set(w, (servedBy.get(w) ?? 0) + 1);
  return a;
}

/** Pids of the workers that logged `gateway listening`, by worker id (the newest per id). */
function workerPids(): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of gw.logs)
    if (l.msg === 'gateway listening' && typeof l.worker === 'number') out.set(l.worker, l.pid as number);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function dump(): string {
  return gw.logs
    .slice(-40)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  gw = await spawnReplica({
    ...FAST_CONSUMERS,
    KAFKA_BROKERS: brokers,
    AUTH_MODE: 'none',
    WORKERS: '2',
    PEER_SECRET: SECRET,
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  });
  await waitFor('both workers listening', () => workerPids().size === 2, { timeoutMs: 60_000 });
  await waitFor('the primary to see both workers ready', () => gw.logs.some((l) => l.msg === 'all workers listening'));
  await produce(
    brokers,
    topic,
    Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  );
}, 120_000);

afterAll(async () => {
  await gw?.kill();
  for (const pid of gw ? workerPids().values() : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await deleteTopics(brokers, [topic]);
});

const expected = Array.from({ length: RECORDS }, (_, i) => `v${i}`);

/**
 * One consumer lifecycle through `base` with a new connection per call: create (and a second create of the same name,
 * refused), subscribe, read and commit until every record came, delete. Returns the values read.
 */
async function lifecycle(url: string, group: string): Promise<string[]> {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(url, method, path, body, { connection: 'close', ...headers }).then((a) => {
      const w = a.headers['kgw-worker'];
      if (typeof w === 'string') servedBy.set(w, (servedBy.get(w) ?? 0) + 1);
      return a;
    });
  const name = 'c1';
  const base = `/consumers/${group}/instances/${name}`;
  const ok = (a: Answer, status: number) => expect(a.status, `${a.status} ${a.text}`).toBe(status);
  ok(
    await call('POST', `/consumers/${group}`, {
      name,
      format: 'binary',
      'auto.offset.reset': 'earliest',
      'auto.commit.enable': 'false',
    }),
    200,
  );
  // The name is taken in the whole pod, whichever worker the second create lands on.
  for (let i = 0; i < 2; i++) ok(await call('POST', `/consumers/${group}`, { name, format: 'binary' }), 409);
  ok(await call('POST', `${base}/subscription`, { topics: [topic] }), 204);
  const values: string[] = [];
  const until = Date.now() + 60_000;
  while (values.length < RECORDS && Date.now() < until) {
    const r = await call('GET', `${base}/records?timeout=500`, undefined, { accept: BINARY });
    ok(r, 200);
    const batch = r.body as { value: string; partition: number; offset: number }[];
    values.push(...batch.map((x) => Buffer.from(x.value, 'base64').toString()));
    if (batch.length === 0) continue;
    const offsets = batch.map((x) => ({ topic, partition: x.partition, offset: x.offset }));
    ok(await call('POST', `${base}/offsets`, { offsets }), 200);
  }
  const committed = await call('GET', `${base}/offsets`, {
    partitions: [0, 1].map((partition) => ({ topic, partition })),
  });
  ok(committed, 200);
  ok(await call('DELETE', base), 204);
  ok(await call('DELETE', base), 404);
  return values;
}

describe('WORKERS=2', () => {
  it('serves HTTP consumer lifecycles whose calls land on either worker, every record read once', async () => {
    const groups = [`wk-a-${Date.now()}`, `wk-b-${Date.now()}`];
    const reads = await Promise.all(groups.map((g) => lifecycle(gw.url, g)));
    for (const values of reads) {
      expect(values.length, 'no record read twice').toBe(RECORDS);
      expect([...values].sort(), 'every record read').toEqual([...expected].sort());
    }
    // Both workers answered calls (so about half of them were forwarded to the worker holding the instance).
    expect([...servedBy.keys()].sort()).toEqual(['1', '2']);
    expect(Math.min(...servedBy.values())).toBeGreaterThan(5);
  }, 120_000);

  it('answers a signed lookup from another pod for an instance held by either worker', async () => {
    const group = `wk-lookup-${Date.now()}`;
    const created = await call('POST', `/consumers/${group}`, { name: 'held', format: 'binary' });
    expect(created.status, created.text).toBe(200);
    const auth = new PeerAuth(SECRET);
    const lookup = async () => {
      const body = Buffer.from(JSON.stringify({ group, name: 'held' }));
      const signed = auth.sign({ method: 'POST', path: LOOKUP_PATH, authorization: '', body });
      const a = await call('POST', LOOKUP_PATH, body.toString(), { 'content-type': 'application/json', ...signed });
      return { worker: a.headers['kgw-worker'] as string, presence: a.body?.presence as string };
    };
    // Ask until both workers answered at least once: the holder from its registry, the other through its sibling.
    const answers = await eventually(
      async () => [await lookup(), await lookup()],
      (a) => new Set(a.map((x) => x.worker)).size === 2,
      { timeoutMs: 20_000 },
    );
    expect(new Set(answers.map((x) => x.worker)).size).toBe(2);
    expect(answers.map((x) => x.presence)).toEqual(['owned', 'owned']);
    // A call forwarded by another pod (signed) reaches the instance whichever worker it lands on.
    for (let i = 0; i < 4; i++) {
      const path = `/consumers/${group}/instances/held/subscription`;
      const body = Buffer.from(JSON.stringify({ topics: [topic] }));
      const signed = auth.sign({ method: 'POST', path, authorization: '', body });
      const a = await call('POST', path, body.toString(), {
        'content-type': 'application/vnd.kafka.v2+json',
        ...signed,
      });
      expect(a.status, a.text).toBe(204);
    }
    expect((await call('DELETE', `/consumers/${group}/instances/held`)).status).toBe(204);
  }, 60_000);

  it('delivers over WebSocket and SSE, and /metrics answers for both workers', async () => {
    const sockets = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        WsClient.open(wsUrl(gw.url, `/ws?topic=${topic}&group=wk-ws-${i}-${Date.now()}&from=earliest&format=string`)),
      ),
    );
    const sse = await SseClient.open(`${gw.url}/sse?topic=${topic}&from=earliest&format=string`, {
      headers: { connection: 'close' },
    });
    try {
      expect(sse.status).toBe(200);
      for (const s of sockets) await s.until(() => s.records().length >= RECORDS, 60_000, `${RECORDS} records`);
      await waitFor(`${RECORDS} SSE records`, () => sse.records.length >= RECORDS, { timeoutMs: 60_000 });
      for (const s of sockets) expect(new Set(s.records().map((r) => r.value)).size).toBe(RECORDS);
      expect(new Set(sse.records.map((r) => r.value)).size).toBe(RECORDS);

      // Whichever worker is scraped reports the pod: both workers, and all four sockets (each worker holds some).
      const scrapes = new Map<string, string>();
      await eventually(
        async () => {
          const a = await call('GET', '/metrics');
          scrapes.set(a.headers['kgw-worker'] as string, a.text);
          return scrapes.size;
        },
        (n) => n === 2,
        { timeoutMs: 20_000 },
      );
      expect([...scrapes.keys()].sort()).toEqual(['1', '2']);
      for (const text of scrapes.values()) {
        expect(text).toMatch(/^kafka_gateway_workers 2$/m);
        expect(text).toMatch(/^kafka_gateway_ws_open_sockets 4$/m);
        expect(text).toMatch(/^kafka_gateway_kafka_up 1$/m);
        // Each series once (merged, not one copy per worker).
        expect(text.match(/^# TYPE http_requests_total counter$/gm)).toHaveLength(1);
        expect(text.match(/^process_resident_memory_bytes \d+/gm)).toHaveLength(1);
      }
    } finally {
      sse.res.destroy();
      await Promise.all(sockets.map((s) => s.close()));
    }
  }, 120_000);

  it('restarts a worker that dies', async () => {
    const before = workerPids();
    expect([...before.keys()].sort(), dump()).toEqual([1, 2]);
    process.kill(before.get(1)!, 'SIGKILL');
    await waitFor('worker 1 restarted', () => workerPids().get(1) !== before.get(1), { timeoutMs: 60_000 });
    expect(gw.logs.some((l) => l.msg === 'worker died; restarting it' && l.worker === 1)).toBe(true);
    // The new worker took connections only after its first probe found Kafka: had it listened first, the primary
    // would have handed it requests it answered 503 "no broker reachable" while its sibling served.
    const pid = workerPids().get(1);
    const at = (msg: string) => gw.logs.findIndex((l) => l.pid === pid && l.msg === msg);
    await waitFor('the new worker listening', () => at('gateway listening') >= 0, { timeoutMs: 60_000 });
    expect(at('Kafka reachable'), dump()).toBeGreaterThanOrEqual(0);
    expect(at('Kafka reachable'), dump()).toBeLessThan(at('gateway listening'));
    // Both serve again.
    const answered = new Set<string>();
    await waitFor(
      'both workers ready',
      async () => {
        const a = await call('GET', '/readyz');
        if (a.status === 200) answered.add(a.headers['kgw-worker'] as string);
        return answered.size === 2;
      },
      { timeoutMs: 60_000 },
    );
  }, 90_000);

  it('stops the pod (exit 1) when a worker cannot start, instead of restarting it forever', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: {
          ...process.env,
          ...testKafkaClientEnv(),
          KAFKA_BROKERS: brokers,
          AUTH_MODE: 'none',
          WORKERS: '2',
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_FORMAT: 'json',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, out).toBe(1);
      expect(out).toContain('worker failed to start; stopping');
    } finally {
      taken.close();
    }
  }, 60_000);

  it('SIGTERM closes the WebSockets with 1001 and ends every worker, then the primary, with exit code 0', async () => {
    const sockets = await Promise.all(
      [0, 1, 2, 3].map(() => WsClient.open(wsUrl(gw.url, `/ws?topic=${topic}&format=string`))),
    );
    const pids = [...workerPids().values()];
    expect(pids).toHaveLength(2);
    const exited = once(gw.child, 'exit') as Promise<[number | null, string | null]>;
    const t0 = Date.now();
    gw.child.kill('SIGTERM');
    const [code, signal] = await exited;
    const took = Date.now() - t0;
    expect({ code, signal }, dump()).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    for (const s of sockets) expect((await s.closed).code).toBe(1001);
    expect(pids.filter(alive), 'workers still running').toEqual([]);
    expect(gw.logs.filter((l) => l.msg === 'worker stopped').map((l) => l.code)).toEqual([0, 0]);
  }, 60_000);
});

// Two pods of two workers each, told about each other by PEER_URLS, behind a round-robin balancer: a call lands on
// any of four workers; one on the other pod is forwarded there and, landing on the wrong worker, passed on to its
// sibling that holds the instance.
describe('two pods with WORKERS=2 each', () => {
  let pods: Replica[] = [];
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    const ports = await portsToListenOnLater(2);
    const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
    pods = await spawnReplicas(
      ports.map((p) => ({
        ...FAST_CONSUMERS,
        KAFKA_BROKERS: brokers,
        AUTH_MODE: 'none',
        WORKERS: '2',
        PORT: String(p),
        PEER_URLS: peers,
        PEER_SECRET: SECRET,
      })),
    );
    // /readyz answers once one worker of a pod listens: the test counts on both.
    for (const pod of pods)
      await waitFor('both workers of a pod listening', () => pod.logs.some((l) => l.msg === 'all workers listening'), {
        timeoutMs: 60_000,
      });
    proxy = await roundRobinProxy(pods.map((p) => p.url));
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.allSettled(pods.map((p) => p.stop()));
  });

  it('serves consumer lifecycles across pods and workers, every record read once', async () => {
    servedBy.clear();
    const groups = [`wk-pods-a-${Date.now()}`, `wk-pods-b-${Date.now()}`, `wk-pods-c-${Date.now()}`];
    const reads = await Promise.all(groups.map((g) => lifecycle(proxy.url, g)));
    for (const values of reads) {
      expect(values.length, 'no record read twice').toBe(RECORDS);
      expect([...values].sort(), 'every record read').toEqual([...expected].sort());
    }
    expect([...proxy.counts.values()].filter((n) => n > 5)).toHaveLength(2);
    expect([...servedBy.keys()].sort()).toEqual(['1', '2']);
  }, 120_000);
});
