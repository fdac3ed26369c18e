// GET /metrics through the real app: open by default (AUTH_PUBLIC_METRICS), admin-only when it is off, and the
// requests themselves are labelled by route template.
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../../src/app.js';
import { createTokenVerifier } from '../../../../src/auth/jwt.js';
import { loadConfig } from '../../../../src/config.js';
import type { KafkaGateway } from '../../../../src/kafka/index.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { createMetrics } from '../../../../src/observability/metrics.js';

const SECRET = 'metrics-test-secret-at-least-32-bytes-long';

function app(env: Record<string, string>) {
  const config = loadConfig(
    { KAFKA_BROKERS: '127.0.0.1:9092', AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET, ...env },
    'prod',
  );
  const metrics = createMetrics({ defaultMetrics: false });
  // Only /metrics is called here: the Kafka side is never touched.
  const kafka = {} as KafkaGateway;
  return {
    app: buildApp({
      config,
      kafka,
      logger: silentLogger,
      metrics,
      verifier: createTokenVerifier(config, silentLogger),
    }),
    metrics,
  };
}

const token = (claims: Record<string, unknown>) =>
  new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

describe('GET /metrics', () => {
  it('is open without a token by default, in Prometheus text format', async () => {
    const { app: a } = app({});
    const res = await a.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('# TYPE kafka_gateway_records_produced_total counter');
  });

  it('needs an admin token when AUTH_PUBLIC_METRICS=false', async () => {
    const { app: a } = app({ AUTH_PUBLIC_METRICS: 'false' });
    expect((await a.request('/metrics')).status).toBe(401);
    const user = await token({ kafka: { produce: ['*'], consume: ['*'] } });
    expect((await a.request('/metrics', { headers: { authorization: `Bearer ${user}` } })).status).toBe(403);
    const admin = await token({ kafka: { admin: true } });
    expect((await a.request('/metrics', { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
  });

  it('counts refused requests under their route template too', async () => {
    const { app: a, metrics } = app({});
    await a.request('/topics/some-topic', { method: 'POST' }); // no token → 401 from the auth middleware
    const text = await metrics.render();
    expect(text).toContain('http_requests_total{method="POST",route="/topics/:topic",status="401"} 1');
    expect(text).not.toContain('some-topic');
  });
});
