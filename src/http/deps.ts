import type { Config } from '../config.js';
import type { KafkaGateway } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import type { Principal } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/jwt.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import type { InstanceRegistry } from '../consumers/registry.js';

/** What the HTTP layer is built from; tests pass their own. */
export interface AppDeps {
  config: Config;
  kafka: KafkaGateway;
  logger: Logger;
  /** JWT verification; null/absent = AUTH_MODE=none (every caller is the anonymous admin). */
  verifier?: TokenVerifier | null;
  /** Per-caller record rate limit (RATE_LIMIT_RECORDS_PER_S); absent = off. */
  rateLimiter?: RateLimiter;
  /** Set to false while shutting down: /readyz answers 503. */
  accepting?: () => boolean;
  /** Prometheus metrics: absent → no `/metrics` route and no request counting. */
  metrics?: Metrics;
  /** Tracing: a span per request only when `enabled`. */
  tracing?: Tracing;
  /** HTTP consumer instances (closed by the shutdown before Kafka); the routes make their own when absent. */
  consumerInstances?: InstanceRegistry;
  /**
   * With WORKERS > 1: the loopback URLs of this worker's siblings, asked and forwarded to like peer replicas
   * (docs/workers.md). Absent: a single process.
   */
  siblings?: () => readonly string[];
}

export type AppEnv = {
  Variables: {
    principal: Principal;
    requestId: string;
  };
};
