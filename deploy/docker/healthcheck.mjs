// Container HEALTHCHECK: GET /healthz on the gateway's own port (HTTP, or HTTPS when TLS_CERT_FILE is set).
// Liveness only (the process answers); Kafka reachability is /readyz, which orchestrators use for traffic.
import http from 'node:http';
import https from 'node:https';

const tls = Boolean(process.env.TLS_CERT_FILE);
const port = Number(process.env.PORT || 8080);
const client = tls ? https : http;
const req = client.get(
  { host: '127.0.0.1', port, path: '/healthz', timeout: 2500, rejectUnauthorized: false },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
