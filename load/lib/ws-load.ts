/**
 * WebSocket broadcast load (W1/W2): N sockets subscribe to one topic through the gateway's URL shortcut, a direct
 * kafkajs producer writes R records/s carrying their send time, and every socket measures produce → receive
 * latency (same machine, same clock). Frames are not fully parsed: the client looks for the `"t":` field only,
 * so that a 2-core machine spends its CPU on the gateway rather than on the load client.
 */
import kafkajs from 'kafkajs';
import WebSocket from 'ws';
import { Samples, summarize, type LatencySummary } from './stats.js';

const { Kafka, logLevel } = kafkajs;

export interface WsBroadcastOptions {
  /** http(s) base URL of the gateway. */
  gatewayUrl: string;
  brokers: string;
  topic: string;
  sockets: number;
  ratePerS: number;
  durationS: number;
  /** Sockets opening at once. */
  connectConcurrency?: number;
  /** Value size in bytes (≥ 40). */
  valueBytes?: number;
  log?: (msg: string) => void;
}

export interface WsBroadcastResult {
  socketsOpen: number;
  socketsDropped: number;
  produced: number;
  framesExpected: number;
  framesReceived: number;
  framesPerS: number;
  connectS: number;
  latencyMs: LatencySummary;
}

const now = () => performance.timeOrigin + performance.now();

export async function wsBroadcast(o: WsBroadcastOptions): Promise<WsBroadcastResult> {
  const wsUrl = `${o.gatewayUrl.replace(/^http/, 'ws')}/ws?topic=${encodeURIComponent(o.topic)}&format=string`;
  const latencies = new Samples();
  let framesReceived = 0;
  let dropped = 0;
  let closing = false;
  const sockets: WebSocket[] = [];

  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, 'kgw.v1', { perMessageDeflate: false });
      let subscribed = false;
      ws.on('message', (data: Buffer) => {
        const s = data.toString('latin1');
        if (!subscribed) {
          if (s.includes('"subscribed"')) {
            subscribed = true;
            resolve(ws);
          } else if (s.includes('"error"')) reject(new Error(`subscribe refused: ${s.slice(0, 200)}`));
          return;
        }
        // The value is a string (format=string) holding {"t":<ms>,...}: escaped quotes inside the frame.
        const i = s.indexOf('t\\":');
        if (i < 0) return;
        framesReceived++;
        latencies.push(now() - parseFloat(s.slice(i + 4, i + 24)));
      });
      ws.on('error', (e) => {
        if (!subscribed) reject(e);
      });
      ws.on('close', () => {
        if (subscribed && !closing) dropped++;
      });
    });

  const t0 = performance.now();
  const batch = o.connectConcurrency ?? 200;
  for (let i = 0; i < o.sockets; i += batch) {
    const n = Math.min(batch, o.sockets - i);
    sockets.push(...(await Promise.all(Array.from({ length: n }, open))));
    if (o.sockets > 1000 && (i / batch) % 10 === 0) o.log?.(`ws: ${sockets.length}/${o.sockets} sockets subscribed`);
  }
  const connectS = (performance.now() - t0) / 1000;

  const kafka = new Kafka({ clientId: 'bench-ws-producer', brokers: o.brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const pad = 'x'.repeat(Math.max(0, (o.valueBytes ?? 100) - 40));
  let produced = 0;
  const tickMs = 10;
  const perTick = o.ratePerS / (1000 / tickMs);
  let owed = 0;
  const end = performance.now() + o.durationS * 1000;
  // One send in flight at a time; records owed meanwhile go together in the next one, stamped when sent, so a
  // slow broker round trip never queues records inside the client (that wait is not the gateway's).
  let inflight: Promise<unknown> | undefined;
  let next = performance.now();
  while (performance.now() < end) {
    owed += perTick;
    const n = Math.floor(owed);
    if (n > 0 && !inflight) {
      owed -= n;
      const t = now().toFixed(3);
      const messages = Array.from({ length: n }, () => ({ value: `{"t":${t},"s":${produced++},"p":"${pad}"}` }));
      inflight = producer.send({ topic: o.topic, acks: -1, messages }).finally(() => {
        inflight = undefined;
      });
    }
    next += tickMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await inflight;
  const framesExpected = produced * sockets.length;
  const grace = performance.now() + 5000;
  while (framesReceived < framesExpected - dropped * produced && performance.now() < grace) await new Promise((r) => setTimeout(r, 50));
  const window = (performance.now() - (end - o.durationS * 1000)) / 1000;
  closing = true;
  await producer.disconnect();
  for (const ws of sockets) ws.terminate();
  return {
    socketsOpen: sockets.length,
    socketsDropped: dropped,
    produced,
    framesExpected,
    framesReceived,
    framesPerS: framesReceived / window,
    connectS,
    latencyMs: summarize(latencies.values()),
  };
}
