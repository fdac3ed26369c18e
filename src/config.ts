/**
 * Every setting, parsed once at start-up from environment variables by one zod schema (names: docs/configuration.md).
 * A bad value stops the process with one line naming the variable and what it expects.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const MiB = 1024 * 1024;
/** More worker processes than this is a typo, not a pod. */
export const MAX_WORKERS = 256;

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = Number(v.trim());
      if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got '${v}'` });
        return z.NEVER;
      }
      return n;
    });

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** WORKERS: a whole number of processes, or `auto` = as many as the CPUs this process may run on. */
const workers = z
  .string()
  .default('1')
  .transform((v, ctx) => {
    const t = v.trim().toLowerCase();
    if (t === 'auto') return availableParallelism();
    const n = Number(t);
    if (!/^\d+$/.test(t) || n < 1 || n > MAX_WORKERS) {
      ctx.addIssue({
        code: 'custom',
        message: `expected 'auto' or a whole number from 1 to ${MAX_WORKERS}, got '${v}'`,
      });
      return z.NEVER;
    }
    return n;
  });

const hostPort = /^[^\s,:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

export const envSchema = z.object({
  // Server
  HOST: z.string().default('0.0.0.0'),
  PORT: int(8080, 0, 65535),
  TLS_CERT_FILE: optional,
  TLS_KEY_FILE: optional,
  MAX_BODY_BYTES: int(8 * MiB, 1024),
  /** Request line + headers (Node's maxHeaderSize; over it → 431). Room for an 8 KiB token and the usual headers. */
  MAX_HEADER_BYTES: int(16 * 1024, 1024, 1 * MiB),
  MAX_RECORDS_PER_REQUEST: int(10000, 1),
  REQUEST_TIMEOUT_MS: int(30000, 1000),
  HEADERS_TIMEOUT_MS: int(15000, 1000),
  KEEP_ALIVE_TIMEOUT_MS: int(65000, 1000),
  PRODUCE_TIMEOUT_MS: int(15000, 100),
  MAX_INFLIGHT_PRODUCE_BYTES: int(64 * MiB, 1024),
  // After an answer given before the request was fully received (413, 431, 401, 415, …): read and discard the rest
  // up to these bounds before closing, so the answer reaches a client that writes everything before reading.
  REFUSAL_DRAIN_BYTES: int(64 * MiB, 0),
  REFUSAL_DRAIN_MS: int(10000, 0, 300000),
  SHUTDOWN_TIMEOUT_MS: int(20000, 0),
  /** Gateway processes per pod (node:cluster, docs/workers.md); 1 = one process, no cluster code at all. */
  WORKERS: workers,
  CORS_ORIGINS: list,
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),

  // Kafka
  KAFKA_BROKERS: z
    .string({ error: 'required: a comma list of host:port' })
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((l) => l.length > 0 && l.every((b) => hostPort.test(b)), 'expected a comma list of host:port'),
  KAFKA_CLIENT_ID: z.string().min(1).default('kafka-gateway'),
  /** Which client library the Kafka side runs on (docs/performance.md, "The Kafka client"): the faster one by default. */
  KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('platformatic'),
  KAFKA_SSL: bool(false),
  KAFKA_SSL_CA_FILE: optional,
  KAFKA_SSL_CERT_FILE: optional,
  KAFKA_SSL_KEY_FILE: optional,
  KAFKA_SSL_KEY_PASSWORD: optional,
  KAFKA_SSL_REJECT_UNAUTHORIZED: bool(true),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer']).optional(),
  KAFKA_SASL_USERNAME: optional,
  KAFKA_SASL_PASSWORD: optional,
  KAFKA_OAUTH_TOKEN_URL: z.url({ error: 'expected a URL' }).optional(),
  KAFKA_OAUTH_CLIENT_ID: optional,
  KAFKA_OAUTH_CLIENT_SECRET: optional,
  KAFKA_OAUTH_SCOPE: optional,
  KAFKA_PRODUCER_ACKS: z.enum(['all', '-1', '1', '0']).default('all'),
  KAFKA_PRODUCER_IDEMPOTENT: bool(true),
  KAFKA_PRODUCER_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  KAFKA_PRODUCER_LINGER_MS: int(0, 0, 1000),
  KAFKA_CONNECTION_TIMEOUT_MS: int(3000, 100),
  KAFKA_REQUEST_TIMEOUT_MS: int(30000, 100),
  METADATA_CACHE_MS: int(5000, 0),
  // Consumers behind WebSocket sessions (group members, assign/broadcast readers).
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS: int(30000, 1000),
  KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: int(3000, 100),
  KAFKA_CONSUMER_MAX_WAIT_MS: int(500, 10, 30000),
  KAFKA_CONSUMER_FETCH_MAX_BYTES: int(1 * MiB, 1024),

  // Callers (JWT)
  AUTH_MODE: z.enum(['jwt', 'none']).default('jwt'),
  AUTH_JWKS_URL: z.url({ error: 'expected a URL' }).optional(),
  AUTH_PUBLIC_KEY_FILE: optional,
  AUTH_HS256_SECRET: optional,
  AUTH_ALGORITHMS: list,
  AUTH_ISSUER: optional,
  AUTH_AUDIENCE: optional,
  AUTH_CLOCK_TOLERANCE_S: int(30, 0, 60),
  AUTH_MAX_TOKEN_BYTES: int(8192, 256),
  AUTH_JWKS_CACHE_MAX_AGE_MS: int(600000, 0),
  AUTH_JWKS_COOLDOWN_MS: int(30000, 0),
  AUTH_CLAIM: z.string().min(1).default('kafka'),
  AUTH_SCOPE_PREFIX: z.string().default('kafka:'),
  AUTH_PUBLIC_METRICS: bool(true),
  AUTH_PUBLIC_DOCS: bool(true),
  AUTH_PRINCIPAL_HEADER: optional,
  /** GET /sse also reads the JWT from this cookie (unset: cookies are ignored); an RFC 6265 cookie name. */
  AUTH_COOKIE_NAME: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
    .refine((v) => v === undefined || /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/.test(v), {
      message: "expected a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
    }),
  RATE_LIMIT_RECORDS_PER_S: int(0, 0),

  // WebSocket
  WS_ALLOWED_ORIGINS: list,
  WS_QUERY_TOKEN: bool(false),
  WS_MAX_FRAME_BYTES: int(65536, 128),
  WS_MAX_SUBSCRIPTIONS: int(16, 1),
  WS_SEND_HIGH_WATER_BYTES: int(1 * MiB, 1024),
  WS_SLOW_CLIENT_MS: int(10000, 100),
  WS_SEND_BUDGET_BYTES: int(256 * MiB, 1024),
  WS_PING_INTERVAL_MS: int(30000, 100),

  // HTTP consumers (the v2 consumer API, docs/consuming-over-http.md)
  /** Idle time after which an instance is closed, when its creator did not ask for `consumer.instance.timeout.ms`. */
  CONSUMER_INSTANCE_TIMEOUT_MS: int(300000, 1000),
  /** The most a creator may ask for as `consumer.instance.timeout.ms` (larger requests are lowered to it). */
  CONSUMER_INSTANCE_TIMEOUT_MAX_MS: int(3600000, 1000),
  /** Instances one replica holds at most (over it: 503 50301 with Retry-After). */
  CONSUMER_MAX_INSTANCES: int(1000, 1),
  /** Instances one caller (`sub`) holds at most on one replica (over it: 429 with Retry-After). */
  CONSUMER_MAX_INSTANCES_PER_CALLER: int(50, 1),
  /** `GET records?max_bytes=` cap, and its value when absent. */
  CONSUMER_MAX_RESPONSE_BYTES: int(4 * MiB, 1024),
  /** `GET records?timeout=` cap. */
  CONSUMER_MAX_REQUEST_TIMEOUT_MS: int(30000, 0, 300000),
  /** Records fetched ahead per instance, waiting for its next `GET records` (fetching pauses above it). */
  CONSUMER_BUFFER_BYTES: int(4 * MiB, 1024),
  /** The public URL clients use (e.g. https://kafka.example.com); `base_uri` is built from it when set. */
  PUBLIC_BASE_URL: z
    .url({ error: 'expected an http(s) URL' })
    .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Believe X-Forwarded-Proto / X-Forwarded-Host (only behind a proxy that sets them). */
  TRUST_PROXY: bool(false),
  /**
   * The replicas, for serving any consumer instance from any replica: a comma list of http(s) base URLs; a host
   * name stands for every address it resolves to (a Kubernetes headless service). Empty: a single replica.
   */
  PEER_URLS: list.refine(
    (l) => l.every((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol)),
    'expected a comma list of http(s) URLs',
  ),
  /** Shared secret replicas sign their requests to each other with (HMAC); required with PEER_URLS. */
  PEER_SECRET: optional,
  /** How long a replica waits for a peer's answer (lookups; forwarded calls get this on top of their own wait). */
  PEER_TIMEOUT_MS: int(5000, 100, 120000),
  // Server-Sent Events (GET /sse)
  /** A `: keep-alive` comment this often, so proxies do not close an idle stream. */
  SSE_HEARTBEAT_MS: int(15000, 100, 3_600_000),
  /** The `retry:` sent once per stream: how long a browser's EventSource waits before reconnecting. */
  SSE_RETRY_MS: int(2000, 0, 600_000),
  /** Open streams per replica; more → 503 50301. */
  SSE_MAX_STREAMS: int(2000, 1),
  /** Of those, streams with a Kafka reader of their own (a start in the past, a resume behind the end); more → 503 50301. */
  SSE_MAX_READERS: int(200, 1),
  /** Bytes of events queued for one stream above which its Kafka reader pauses (resumes at half). */
  SSE_SEND_HIGH_WATER_BYTES: int(1 * MiB, 1024),
  /** A stream that stays over its high water this long is closed (the client resumes with Last-Event-ID). */
  SSE_SLOW_CLIENT_MS: int(10000, 100),
});

export type Env = z.infer<typeof envSchema>;

/** Settings that hold secrets: each also accepts `<NAME>_FILE` (Kubernetes secrets). */
export const SECRET_SETTINGS = [
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_OAUTH_CLIENT_ID',
  'KAFKA_OAUTH_CLIENT_SECRET',
  'AUTH_HS256_SECRET',
  'PEER_SECRET',
] as const;

export interface Config extends Env {
  /** `dev` = started by `npm run dev` (other defaults, see docs/configuration.md). */
  profile: 'dev' | 'prod';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Defaults that differ under `npm run dev`; anything set in the environment still wins. */
export const DEV_DEFAULTS: Record<string, string> = {
  HOST: '127.0.0.1',
  LOG_FORMAT: 'pretty',
  AUTH_MODE: 'none',
};

export function loadConfig(
  source: NodeJS.ProcessEnv = process.env,
  profile: 'dev' | 'prod' = source.GATEWAY_PROFILE === 'dev' ? 'dev' : 'prod',
): Config {
  const env: Record<string, string | undefined> = profile === 'dev' ? { ...DEV_DEFAULTS } : {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined) env[k] = v;
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    if (file && env[name] === undefined) {
      try {
        env[name] = readFileSync(file, 'utf8').trim();
      } catch (e) {
        throw new ConfigError(`${name}_FILE: cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
  }
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'config');
    const message = issue.code === 'invalid_type' && env[name] === undefined ? 'is required' : issue.message;
    throw new ConfigError(`${name}: ${message}`);
  }
  const config: Config = { ...parsed.data, profile };
  checkCombinations(config);
  return config;
}

function checkCombinations(c: Config): void {
  if (c.KAFKA_PRODUCER_IDEMPOTENT && c.KAFKA_PRODUCER_ACKS !== 'all' && c.KAFKA_PRODUCER_ACKS !== '-1')
    throw new ConfigError(
      'KAFKA_PRODUCER_ACKS: an idempotent producer needs acks=all (or set KAFKA_PRODUCER_IDEMPOTENT=false)',
    );
  if (Boolean(c.TLS_CERT_FILE) !== Boolean(c.TLS_KEY_FILE))
    throw new ConfigError('TLS_CERT_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together');
  if (Boolean(c.KAFKA_SSL_CERT_FILE) !== Boolean(c.KAFKA_SSL_KEY_FILE))
    throw new ConfigError('KAFKA_SSL_CERT_FILE: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mTLS)');
  if (c.KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS >= c.KAFKA_CONSUMER_SESSION_TIMEOUT_MS)
    throw new ConfigError(
      'KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: must be below KAFKA_CONSUMER_SESSION_TIMEOUT_MS (about a third of it)',
    );
  const m = c.KAFKA_SASL_MECHANISM;
  if (m && m !== 'oauthbearer' && (!c.KAFKA_SASL_USERNAME || !c.KAFKA_SASL_PASSWORD))
    throw new ConfigError(`KAFKA_SASL_USERNAME: ${m} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  if (m === 'oauthbearer' && (!c.KAFKA_OAUTH_TOKEN_URL || !c.KAFKA_OAUTH_CLIENT_ID || !c.KAFKA_OAUTH_CLIENT_SECRET))
    throw new ConfigError(
      'KAFKA_OAUTH_TOKEN_URL: oauthbearer needs KAFKA_OAUTH_TOKEN_URL, KAFKA_OAUTH_CLIENT_ID and KAFKA_OAUTH_CLIENT_SECRET',
    );
  if (c.AUTH_MODE === 'jwt') {
    const sources = [c.AUTH_JWKS_URL, c.AUTH_PUBLIC_KEY_FILE, c.AUTH_HS256_SECRET].filter(Boolean).length;
    if (sources !== 1)
      throw new ConfigError(
        'AUTH_MODE: jwt needs exactly one key source: AUTH_JWKS_URL, AUTH_PUBLIC_KEY_FILE or AUTH_HS256_SECRET (or AUTH_MODE=none)',
      );
  }
  if (c.PEER_URLS.length > 0 && c.PEER_SECRET === undefined)
    throw new ConfigError('PEER_SECRET: PEER_URLS needs PEER_SECRET (or PEER_SECRET_FILE), the same on every replica');
  if (c.PEER_SECRET !== undefined && Buffer.byteLength(c.PEER_SECRET) < 32)
    throw new ConfigError('PEER_SECRET: must be at least 32 bytes');
  if (c.AUTH_HS256_SECRET !== undefined && Buffer.byteLength(c.AUTH_HS256_SECRET) < 32)
    throw new ConfigError('AUTH_HS256_SECRET: must be at least 32 bytes');
}

/** Names that must never reach a log line. */
export function redactConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const k of [...SECRET_SETTINGS]) if (out[k] !== undefined) out[k] = '[redacted]';
  return out;
}
