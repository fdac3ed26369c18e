// k6 version of docs/performance.md's P1–P4 (produce over HTTP), for users who have k6. The same scenarios run here
// with `npm run load -- P1` (autocannon) and side by side with their baselines in `npm run bench`.
//
//   k6 run -e SCENARIO=P1 -e BASE_URL=http://127.0.0.1:8080 -e TOPIC=bench-p1 load/k6/produce.js
//   k6 run -e SCENARIO=P4 -e TOKEN=<jwt> ... load/k6/produce.js        (AUTH_MODE=jwt: a token with produce rights)
//
// Env: SCENARIO (P1|P2|P3|P4, default P1), BASE_URL, TOPIC (must exist), DURATION (default 20s), TOKEN.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const SCENARIOS = {
  P1: { records: 100, valueBytes: 100, vus: 16 },
  P2: { records: 100, valueBytes: 1024, vus: 16 },
  P3: { records: 1, valueBytes: 100, vus: 64 },
  P4: { records: 1, valueBytes: 100, rate: 200 },
};

const id = (__ENV.SCENARIO || 'P1').toUpperCase();
const spec = SCENARIOS[id];
if (!spec) throw new Error(`SCENARIO must be one of ${Object.keys(SCENARIOS).join(', ')}`);
const baseUrl = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const topic = __ENV.TOPIC || `bench-${id.toLowerCase()}`;
const duration = __ENV.DURATION || '20s';

/** A compact JSON object whose text is exactly `bytes` long: {"i":0,"p":"xxxx"}. */
function jsonValue(bytes, seed) {
  const head = `{"i":${seed},"p":"`;
  return `${head + 'x'.repeat(bytes - head.length - 2)}"}`;
}
const values = [];
for (let i = 0; i < spec.records; i++) values.push(`{"value":${jsonValue(spec.valueBytes, i % 10)}}`);
const body = `{"records":[${values.join(',')}]}`;
const headers = {
  'Content-Type': 'application/vnd.kafka.json.v2+json',
  Accept: 'application/vnd.kafka.v2+json',
  ...(__ENV.TOKEN ? { Authorization: `Bearer ${__ENV.TOKEN}` } : {}),
};

const records = new Counter('records_produced');

export const options = {
  scenarios: {
    [id]: spec.rate
      ? {
          executor: 'constant-arrival-rate',
          rate: spec.rate,
          timeUnit: '1s',
          duration,
          preAllocatedVUs: 16,
          maxVUs: 64,
        }
      : { executor: 'constant-vus', vus: spec.vus, duration },
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'max'],
  thresholds: { http_req_failed: ['rate<0.01'] },
};

export default function () {
  const res = http.post(`${baseUrl}/topics/${topic}`, body, { headers });
  const ok = check(res, {
    'status 200': (r) => r.status === 200,
    'every record written': (r) => r.status === 200 && r.json('offsets').every((o) => o.error_code === null),
  });
  if (ok) records.add(spec.records);
}
