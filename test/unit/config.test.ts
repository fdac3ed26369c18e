// loadConfig: docs/configuration.md's names and defaults, one ConfigError naming the variable for each bad value, *_FILE
// secrets, the dev profile, and the checks across settings.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, SECRET_SETTINGS, loadConfig, redactConfig } from '../../src/config.js';

const MiB = 1024 * 1024;
const BASE = { KAFKA_BROKERS: 'kafka:9092', AUTH_MODE: 'none' };
const SECRET = 'x'.repeat(32);

/** The ConfigError thrown for env (prod profile unless given). */
function configError(env: Record<string, string>, profile: 'dev' | 'prod' = 'prod'): ConfigError {
  try {
    loadConfig(env, profile);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('defaults (docs/configuration.md)', () => {
  const c = loadConfig(BASE, 'prod');

  it('server settings', () => {
    expect(c).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 8080,
      MAX_BODY_BYTES: 8 * MiB,
      MAX_RECORDS_PER_REQUEST: 10000,
      REQUEST_TIMEOUT_MS: 30000,
      PRODUCE_TIMEOUT_MS: 15000,
      MAX_INFLIGHT_PRODUCE_BYTES: 64 * MiB,
      REFUSAL_DRAIN_BYTES: 64 * MiB,
      REFUSAL_DRAIN_MS: 10000,
      CORS_ORIGINS: [],
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      profile: 'prod',
    });
    expect(c.TLS_CERT_FILE).toBeUndefined();
    expect(c.TLS_KEY_FILE).toBeUndefined();
  });

  it('kafka settings', () => {
    expect(c).toMatchObject({
      KAFKA_BROKERS: ['kafka:9092'],
      KAFKA_CLIENT_ID: 'kafka-gateway',
      KAFKA_SSL: false,
      KAFKA_SSL_REJECT_UNAUTHORIZED: true,
      KAFKA_PRODUCER_ACKS: 'all',
      KAFKA_PRODUCER_IDEMPOTENT: true,
      KAFKA_PRODUCER_COMPRESSION: 'none',
      METADATA_CACHE_MS: 5000,
    });
    // 0: a lone request is sent at once; under load batches still form while a send is in flight.
    expect(c.KAFKA_PRODUCER_LINGER_MS).toBe(0);
    expect(c.KAFKA_SASL_MECHANISM).toBeUndefined();
  });

  it('auth and websocket settings', () => {
    expect(c).toMatchObject({
      AUTH_CLOCK_TOLERANCE_S: 30,
      AUTH_MAX_TOKEN_BYTES: 8192,
      AUTH_JWKS_CACHE_MAX_AGE_MS: 600000,
      AUTH_JWKS_COOLDOWN_MS: 30000,
      AUTH_CLAIM: 'kafka',
      AUTH_SCOPE_PREFIX: 'kafka:',
      AUTH_PUBLIC_METRICS: true,
      AUTH_PUBLIC_DOCS: true,
      RATE_LIMIT_RECORDS_PER_S: 0,
      WS_ALLOWED_ORIGINS: [],
      WS_QUERY_TOKEN: false,
      WS_MAX_FRAME_BYTES: 65536,
      WS_MAX_SUBSCRIPTIONS: 16,
      WS_SEND_HIGH_WATER_BYTES: 1 * MiB,
      WS_SLOW_CLIENT_MS: 10000,
      WS_PING_INTERVAL_MS: 30000,
    });
    expect(c.AUTH_PRINCIPAL_HEADER).toBeUndefined();
  });

  it('AUTH_MODE defaults to jwt, so a prod start without a key source is refused', () => {
    expect(configError({ KAFKA_BROKERS: 'k:1' }).message).toMatch(/^AUTH_MODE: /);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', AUTH_HS256_SECRET: SECRET }, 'prod').AUTH_MODE).toBe('jwt');
  });

  it('reads process.env when given no source', () => {
    const saved = { ...process.env };
    try {
      process.env.KAFKA_BROKERS = 'from-env:1234';
      process.env.AUTH_MODE = 'none';
      process.env.PORT = '4321';
      const fromEnv = loadConfig();
      expect(fromEnv.KAFKA_BROKERS).toEqual(['from-env:1234']);
      expect(fromEnv.PORT).toBe(4321);
    } finally {
      for (const k of ['KAFKA_BROKERS', 'AUTH_MODE', 'PORT']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});

describe('parsing of good values', () => {
  it('trims and splits comma lists, dropping empty entries', () => {
    const c = loadConfig({
      ...BASE,
      KAFKA_BROKERS: ' a:1 , b:2,,[::1]:9093 ',
      CORS_ORIGINS: 'https://a.example, https://b.example,',
    });
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2', '[::1]:9093']);
    expect(c.CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads the boolean %j as %s', (v, expected) => {
    expect(loadConfig({ ...BASE, KAFKA_SSL: v }).KAFKA_SSL).toBe(expected);
  });

  it('reads whole numbers, including the bounds', () => {
    expect(loadConfig({ ...BASE, PORT: '0' }).PORT).toBe(0);
    expect(loadConfig({ ...BASE, PORT: '65535' }).PORT).toBe(65535);
    expect(loadConfig({ ...BASE, MAX_BODY_BYTES: ' 2048 ' }).MAX_BODY_BYTES).toBe(2048);
    expect(loadConfig({ ...BASE, AUTH_CLOCK_TOLERANCE_S: '60' }).AUTH_CLOCK_TOLERANCE_S).toBe(60);
  });

  it('AUTH_COOKIE_NAME: unset by default (cookies ignored), a cookie name when set', () => {
    expect(loadConfig(BASE).AUTH_COOKIE_NAME).toBeUndefined();
    expect(loadConfig({ ...BASE, AUTH_COOKIE_NAME: ' ' }).AUTH_COOKIE_NAME).toBeUndefined();
    expect(loadConfig({ ...BASE, AUTH_COOKIE_NAME: '__Host-kgw_token' }).AUTH_COOKIE_NAME).toBe('__Host-kgw_token');
  });

  it('treats an empty optional setting as unset', () => {
    const c = loadConfig({ ...BASE, TLS_CERT_FILE: '', TLS_KEY_FILE: ' ', KAFKA_SASL_USERNAME: '' });
    expect(c.TLS_CERT_FILE).toBeUndefined();
    expect(c.TLS_KEY_FILE).toBeUndefined();
    expect(c.KAFKA_SASL_USERNAME).toBeUndefined();
  });

  it('accepts acks 1 and 0 with idempotence off', () => {
    expect(
      loadConfig({ ...BASE, KAFKA_PRODUCER_ACKS: '1', KAFKA_PRODUCER_IDEMPOTENT: 'false' }).KAFKA_PRODUCER_ACKS,
    ).toBe('1');
    expect(loadConfig({ ...BASE, KAFKA_PRODUCER_ACKS: '0', KAFKA_PRODUCER_IDEMPOTENT: 'no' }).KAFKA_PRODUCER_ACKS).toBe(
      '0',
    );
  });
});

describe('WORKERS', () => {
  it('is 1 by default (one process, no cluster), a whole number, or auto = the CPUs this process may use', () => {
    expect(loadConfig(BASE).WORKERS).toBe(1);
    expect(loadConfig({ ...BASE, WORKERS: '4' }).WORKERS).toBe(4);
    expect(loadConfig({ ...BASE, WORKERS: ' 256 ' }).WORKERS).toBe(256);
    expect(loadConfig({ ...BASE, WORKERS: 'auto' }).WORKERS).toBe(availableParallelism());
    expect(loadConfig({ ...BASE, WORKERS: 'AUTO' }).WORKERS).toBe(availableParallelism());
  });
});

describe('bad values → ConfigError naming the variable', () => {
  it.each([
    ['KAFKA_BROKERS', undefined, /is required/],
    ['KAFKA_BROKERS', '', /host:port/],
    ['KAFKA_BROKERS', 'kafka', /host:port/],
    ['KAFKA_BROKERS', 'a:1,b', /host:port/],
    ['KAFKA_BROKERS', 'a:port', /host:port/],
    ['KAFKA_BROKERS', 'a b:1', /host:port/],
    ['PORT', 'abc', /whole number/],
    ['PORT', '70000', /0 to 65535/],
    ['PORT', '-1', /whole number/],
    ['PORT', '80.5', /whole number/],
    ['PORT', '', /whole number/],
    ['MAX_BODY_BYTES', '8MiB', /whole number/],
    ['MAX_BODY_BYTES', '100', /1024/],
    ['MAX_RECORDS_PER_REQUEST', '0', /whole number/],
    ['REQUEST_TIMEOUT_MS', '5', /whole number/],
    ['PRODUCE_TIMEOUT_MS', '1e4', /whole number/],
    ['MAX_INFLIGHT_PRODUCE_BYTES', '99999999999999999999', /whole number/],
    ['REFUSAL_DRAIN_BYTES', '64MiB', /whole number/],
    ['REFUSAL_DRAIN_BYTES', '-1', /whole number/],
    ['REFUSAL_DRAIN_MS', '300001', /0 to 300000/],
    ['LOG_LEVEL', 'loud', /./],
    ['LOG_FORMAT', 'xml', /./],
    ['KAFKA_SSL', 'maybe', /true or false/],
    ['KAFKA_SSL_REJECT_UNAUTHORIZED', 'TRUE!', /true or false/],
    ['KAFKA_SASL_MECHANISM', 'gssapi', /./],
    ['KAFKA_PRODUCER_ACKS', '2', /./],
    ['KAFKA_PRODUCER_COMPRESSION', 'snappy', /./],
    ['KAFKA_PRODUCER_LINGER_MS', '5000', /0 to 1000/],
    ['KAFKA_OAUTH_TOKEN_URL', 'not a url', /URL/],
    ['AUTH_MODE', 'basic', /./],
    ['AUTH_JWKS_URL', 'jwks.json', /URL/],
    ['AUTH_CLOCK_TOLERANCE_S', '61', /0 to 60/],
    ['AUTH_MAX_TOKEN_BYTES', '10', /whole number/],
    ['AUTH_COOKIE_NAME', 'kgw token', /cookie name/],
    ['AUTH_COOKIE_NAME', 'a=b', /cookie name/],
    ['AUTH_COOKIE_NAME', 'a;b', /cookie name/],
    ['WS_MAX_SUBSCRIPTIONS', '0', /whole number/],
    ['WS_PING_INTERVAL_MS', 'often', /whole number/],
    ['WORKERS', '0', /'auto' or a whole number from 1 to 256/],
    ['WORKERS', '257', /1 to 256/],
    ['WORKERS', '2.5', /'auto'/],
    ['WORKERS', 'all', /'auto'/],
  ])('%s=%j', (name, value, detail) => {
    const env: Record<string, string> = { ...BASE };
    if (value === undefined) delete env[name];
    else env[name] = value;
    const e = configError(env);
    expect(e.message.startsWith(`${name}: `)).toBe(true);
    expect(e.message).toMatch(detail);
    expect(e.message).not.toContain('\n');
  });

  it('names the variable that was set, not the first one in the schema', () => {
    const e = configError({ ...BASE, WS_SLOW_CLIENT_MS: 'x' });
    expect(e.message).toMatch(/^WS_SLOW_CLIENT_MS: /);
  });
});

describe('secrets from *_FILE', () => {
  it('reads each secret setting from its file, trimming the trailing newline', () => {
    for (const name of SECRET_SETTINGS) {
      const file = join(dir, `${name}.txt`);
      const value = `${name.toLowerCase()}-value-${'s'.repeat(32)}`;
      writeFileSync(file, `${value}\n`);
      const c = loadConfig({ ...BASE, [`${name}_FILE`]: file });
      expect(c[name]).toBe(value);
    }
  });

  it('lets the variable itself win over its _FILE', () => {
    const file = join(dir, 'pw.txt');
    writeFileSync(file, 'from-file');
    const c = loadConfig({ ...BASE, KAFKA_SASL_PASSWORD: 'direct', KAFKA_SASL_PASSWORD_FILE: file });
    expect(c.KAFKA_SASL_PASSWORD).toBe('direct');
  });

  it('names the _FILE variable when the file cannot be read', () => {
    const e = configError({ ...BASE, KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing.txt') });
    expect(e.message).toMatch(/^KAFKA_SASL_PASSWORD_FILE: cannot read .*ENOENT/);
  });

  it('does not put the secret in the error when the value read is invalid', () => {
    const file = join(dir, 'short.txt');
    writeFileSync(file, 'too-short-secret');
    const e = configError({ ...BASE, AUTH_HS256_SECRET_FILE: file });
    expect(e.message).toMatch(/^AUTH_HS256_SECRET: /);
    expect(e.message).not.toContain('too-short-secret');
  });

  it('a secret from a file satisfies AUTH_MODE=jwt', () => {
    const file = join(dir, 'hs.txt');
    writeFileSync(file, `${SECRET}\n`);
    const c = loadConfig({ KAFKA_BROKERS: 'k:1', AUTH_HS256_SECRET_FILE: file });
    expect(c.AUTH_MODE).toBe('jwt');
    expect(c.AUTH_HS256_SECRET).toBe(SECRET);
  });

  it('redactConfig hides every secret and keeps the rest', () => {
    const c = loadConfig({
      ...BASE,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'hunter2',
    });
    const r = redactConfig(c);
    expect(r.KAFKA_SASL_PASSWORD).toBe('[redacted]');
    expect(r.KAFKA_SASL_USERNAME).toBe('[redacted]');
    expect(JSON.stringify(r)).not.toContain('hunter2');
    expect(r.KAFKA_BROKERS).toEqual(['kafka:9092']);
    expect(r.AUTH_HS256_SECRET).toBeUndefined();
  });
});

describe('dev profile', () => {
  it('defaults to loopback, pretty logs and no auth', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'k:1' }, 'dev');
    expect(c).toMatchObject({ profile: 'dev', HOST: '127.0.0.1', LOG_FORMAT: 'pretty', AUTH_MODE: 'none' });
  });

  it('lets the environment win over the dev defaults', () => {
    const c = loadConfig(
      { KAFKA_BROKERS: 'k:1', HOST: '0.0.0.0', LOG_FORMAT: 'json', AUTH_MODE: 'jwt', AUTH_HS256_SECRET: SECRET },
      'dev',
    );
    expect(c).toMatchObject({ HOST: '0.0.0.0', LOG_FORMAT: 'json', AUTH_MODE: 'jwt' });
  });

  it('is chosen by GATEWAY_PROFILE=dev, and only by that value', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', GATEWAY_PROFILE: 'dev' }).profile).toBe('dev');
    expect(loadConfig({ ...BASE, GATEWAY_PROFILE: 'production' }).profile).toBe('prod');
    expect(loadConfig(BASE).profile).toBe('prod');
  });

  it('changes only the dev-marked defaults', () => {
    const dev = loadConfig({ KAFKA_BROKERS: 'k:1' }, 'dev');
    const prod = loadConfig(BASE, 'prod');
    expect(dev.PORT).toBe(prod.PORT);
    expect(dev.MAX_BODY_BYTES).toBe(prod.MAX_BODY_BYTES);
    expect(dev.LOG_LEVEL).toBe(prod.LOG_LEVEL);
  });
});

describe('combination checks', () => {
  it('an idempotent producer needs acks=all', () => {
    expect(configError({ ...BASE, KAFKA_PRODUCER_ACKS: '1' }).message).toMatch(/^KAFKA_PRODUCER_ACKS: .*idempotent/);
    expect(configError({ ...BASE, KAFKA_PRODUCER_ACKS: '0' }).message).toMatch(/^KAFKA_PRODUCER_ACKS: /);
    expect(loadConfig({ ...BASE, KAFKA_PRODUCER_ACKS: '-1' }).KAFKA_PRODUCER_ACKS).toBe('-1');
  });

  it('TLS_CERT_FILE and TLS_KEY_FILE go together', () => {
    expect(configError({ ...BASE, TLS_CERT_FILE: '/c.pem' }).message).toMatch(/^TLS_CERT_FILE: /);
    expect(configError({ ...BASE, TLS_KEY_FILE: '/k.pem' }).message).toMatch(/^TLS_CERT_FILE: /);
    expect(loadConfig({ ...BASE, TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' }).TLS_KEY_FILE).toBe('/k.pem');
  });

  it('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mTLS)', () => {
    expect(configError({ ...BASE, KAFKA_SSL_CERT_FILE: '/c.pem' }).message).toMatch(/^KAFKA_SSL_CERT_FILE: /);
    expect(configError({ ...BASE, KAFKA_SSL_KEY_FILE: '/k.pem' }).message).toMatch(/^KAFKA_SSL_CERT_FILE: /);
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('SASL %s needs a username and a password', (m) => {
    expect(configError({ ...BASE, KAFKA_SASL_MECHANISM: m, KAFKA_SASL_USERNAME: 'u' }).message).toMatch(
      /^KAFKA_SASL_USERNAME: /,
    );
    expect(configError({ ...BASE, KAFKA_SASL_MECHANISM: m, KAFKA_SASL_PASSWORD: 'p' }).message).toMatch(
      /^KAFKA_SASL_USERNAME: /,
    );
    expect(
      loadConfig({ ...BASE, KAFKA_SASL_MECHANISM: m, KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })
        .KAFKA_SASL_MECHANISM,
    ).toBe(m);
  });

  it('SASL oauthbearer needs the token URL, client id and secret', () => {
    const full = {
      ...BASE,
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_OAUTH_TOKEN_URL: 'https://idp.example/token',
      KAFKA_OAUTH_CLIENT_ID: 'id',
      KAFKA_OAUTH_CLIENT_SECRET: 'secret',
    };
    expect(loadConfig(full).KAFKA_SASL_MECHANISM).toBe('oauthbearer');
    for (const missing of ['KAFKA_OAUTH_TOKEN_URL', 'KAFKA_OAUTH_CLIENT_ID', 'KAFKA_OAUTH_CLIENT_SECRET']) {
      const env: Record<string, string> = { ...full };
      delete env[missing];
      expect(configError(env).message).toMatch(/^KAFKA_OAUTH_TOKEN_URL: /);
    }
  });

  it('AUTH_MODE=jwt needs exactly one key source', () => {
    const jwt = { KAFKA_BROKERS: 'k:1', AUTH_MODE: 'jwt' };
    expect(configError(jwt).message).toMatch(/^AUTH_MODE: .*exactly one/);
    expect(
      configError({ ...jwt, AUTH_HS256_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks' }).message,
    ).toMatch(/^AUTH_MODE: /);
    expect(
      configError({ ...jwt, AUTH_PUBLIC_KEY_FILE: '/k.pem', AUTH_JWKS_URL: 'https://idp.example/jwks' }).message,
    ).toMatch(/^AUTH_MODE: /);
    expect(loadConfig({ ...jwt, AUTH_JWKS_URL: 'https://idp.example/jwks' }).AUTH_JWKS_URL).toBe(
      'https://idp.example/jwks',
    );
    expect(loadConfig({ ...jwt, AUTH_PUBLIC_KEY_FILE: '/k.pem' }).AUTH_PUBLIC_KEY_FILE).toBe('/k.pem');
  });

  it('AUTH_HS256_SECRET must be at least 32 bytes (UTF-8 bytes, not characters)', () => {
    expect(configError({ ...BASE, AUTH_HS256_SECRET: 'x'.repeat(31) }).message).toMatch(
      /^AUTH_HS256_SECRET: .*32 bytes/,
    );
    expect(loadConfig({ ...BASE, AUTH_HS256_SECRET: 'x'.repeat(32) }).AUTH_HS256_SECRET).toHaveLength(32);
    // 16 two-byte characters = 32 bytes.
    expect(loadConfig({ ...BASE, AUTH_HS256_SECRET: 'é'.repeat(16) }).AUTH_HS256_SECRET).toBe('é'.repeat(16));
  });
});
