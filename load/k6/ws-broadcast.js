// k6 version of docs/performance.md's W1/W2 (WebSocket broadcast), for users who have k6. Each VU holds one socket
// subscribed through the URL shortcut; a second scenario produces through the gateway's HTTP API at a steady
// rate, each record carrying its send time, and sockets report produce → receive latency (ws_latency_ms).
//
//   k6 run -e SCENARIO=W2 -e BASE_URL=http://127.0.0.1:8080 -e TOPIC=bench-w2 load/k6/ws-broadcast.js
//
// Env: SCENARIO (W1: 10,000 sockets at 10 records/s; W2: 100 sockets at 1,000 records/s), SOCKETS, RATE,
// BASE_URL, TOPIC (must exist), DURATION (default 20s), TOKEN (AUTH_MODE=jwt: produce + consume rights).
// The here-runnable equivalent is `npm run load -- W2`.
import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const SCENARIOS = { W1: { sockets: 10000, rate: 10 }, W2: { sockets: 100, rate: 1000 } };
const id = (__ENV.SCENARIO || 'W2').toUpperCase();
const spec = SCENARIOS[id];
if (!spec) throw new Error(`SCENARIO must be W1 or W2`);
const sockets = Number(__ENV.SOCKETS || spec.sockets);
const rate = Number(__ENV.RATE || spec.rate);
const baseUrl = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const topic = __ENV.TOPIC || `bench-${id.toLowerCase()}`;
const duration = __ENV.DURATION || '20s';
const durationMs = Number(duration.replace(/s$/, '')) * 1000;
const connectWindow = `${Math.max(10, Math.ceil(sockets / 500))}s`;
const token = __ENV.TOKEN;

// Produce in requests of up to 100 records, as many per second as needed for `rate`.
const perRequest = Math.min(100, rate);
const requestsPerS = Math.max(1, Math.round(rate / perRequest));

const latency = new Trend('ws_latency_ms', true);
const frames = new Counter('ws_frames');
const dropped = new Counter('ws_sockets_dropped');

export const options = {
  scenarios: {
    sockets: {
      executor: 'per-vu-iterations',
      vus: sockets,
      iterations: 1,
      maxDuration: `${durationMs / 1000 + 60}s`,
      exec: 'subscriber',
    },
    producer: {
      executor: 'constant-arrival-rate',
      rate: requestsPerS,
      timeUnit: '1s',
      duration,
      startTime: connectWindow,
      preAllocatedVUs: 8,
      exec: 'producer',
    },
  },
  summaryTrendStats: ['med', 'p(90)', 'p(99)', 'max'],
  thresholds: { ws_latency_ms: ['p(99)<100'], ws_sockets_dropped: ['count<1'] },
};

export function producer() {
  const records = [];
  for (let i = 0; i < perRequest; i++) records.push(`{"value":{"t":${Date.now()}}}`);
  const res = http.post(`${baseUrl}/topics/${topic}`, `{"records":[${records.join(',')}]}`, {
    headers: {
      'Content-Type': 'application/vnd.kafka.json.v2+json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
  });
  check(res, { produced: (r) => r.status === 200 });
}

export function subscriber() {
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws?topic=${encodeURIComponent(topic)}&format=json`;
  const params = { headers: token ? { Authorization: `Bearer ${token}` } : {}, tags: { scenario: id } };
  // Stay until the producer is done (connect window + duration) plus a grace period.
  const stayMs = Number(connectWindow.replace(/s$/, '')) * 1000 + durationMs + 5000;
  let closedByUs = false;
  const res = ws.connect(url, params, (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data);
      if (frame.type !== 'record' || !frame.value || typeof frame.value.t !== 'number') return;
      frames.add(1);
      latency.add(Date.now() - frame.value.t);
    });
    socket.on('close', () => {
      if (!closedByUs) dropped.add(1);
    });
    socket.setTimeout(() => {
      closedByUs = true;
      socket.close();
    }, stayMs);
  });
  check(res, { 'upgraded (101)': (r) => r && r.status === 101 });
}
