/**
 * The verifier validates its key material and algorithm allowlist when it is built, so a bad setting stops the
 * process at start-up rather than at the first request.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { createTokenVerifier, JWKS_ALGORITHMS, type AuthConfig } from '../../../src/auth/jwt.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { appFor, call, expect401, nowS, SECRET, sign, testConfig } from './helpers.js';

let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-auth-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config object as loadConfig would give, bypassing its own checks (to prove the verifier's). */
function raw(overrides: Partial<AuthConfig>): AuthConfig {
  return {
    AUTH_JWKS_URL: undefined,
    AUTH_PUBLIC_KEY_FILE: undefined,
    AUTH_HS256_SECRET: undefined,
    AUTH_ALGORITHMS: [],
    AUTH_ISSUER: undefined,
    AUTH_AUDIENCE: undefined,
    AUTH_CLOCK_TOLERANCE_S: 30,
    AUTH_MAX_TOKEN_BYTES: 8192,
    AUTH_JWKS_CACHE_MAX_AGE_MS: 600000,
    AUTH_JWKS_COOLDOWN_MS: 30000,
    AUTH_CLAIM: 'kafka',
    AUTH_SCOPE_PREFIX: 'kafka:',
    ...overrides,
  };
}
const build = (overrides: Partial<AuthConfig>) => () => createTokenVerifier(raw(overrides), silentLogger);

describe('key sources', () => {
  it('exactly one key source is required', () => {
    expect(build({})).toThrow(ConfigError);
    expect(build({ AUTH_HS256_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example.test/jwks' })).toThrow(/exactly one/);
  });

  it('an HS256 secret under 32 bytes fails at start-up', () => {
    expect(build({ AUTH_HS256_SECRET: 'short' })).toThrow(/at least 32 bytes/);
    expect(build({ AUTH_HS256_SECRET: 'x'.repeat(32) })).not.toThrow();
  });

  it('a missing, unparsable or private-key PEM file fails at start-up', () => {
    expect(build({ AUTH_PUBLIC_KEY_FILE: join(dir, 'nope.pem') })).toThrow(/cannot read/);
    expect(build({ AUTH_PUBLIC_KEY_FILE: file('junk.pem', 'hello') })).toThrow(/not a PEM public key/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = file('private.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(build({ AUTH_PUBLIC_KEY_FILE: priv })).toThrow(/private key/);
  });

  it('an RSA public key under 2048 bits fails at start-up', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p = file('rsa1024.pem', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(build({ AUTH_PUBLIC_KEY_FILE: p })).toThrow(/2048/);
  });

  it('a JWKS URL must be http(s) and is not fetched when the verifier is built', () => {
    expect(build({ AUTH_JWKS_URL: 'file:///etc/passwd' })).toThrow(/http/);
    expect(build({ AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' })).not.toThrow();
  });
});

describe('algorithm allowlist per key source', () => {
  it('AUTH_ALGORITHMS may narrow but never widen: no HMAC for a JWKS or a public key, no RSA for HS256', () => {
    expect(build({ AUTH_JWKS_URL: 'https://idp.example.test/jwks', AUTH_ALGORITHMS: ['HS256'] })).toThrow(/HS256/);
    expect(build({ AUTH_JWKS_URL: 'https://idp.example.test/jwks', AUTH_ALGORITHMS: ['none'] })).toThrow(ConfigError);
    expect(build({ AUTH_HS256_SECRET: SECRET, AUTH_ALGORITHMS: ['RS256'] })).toThrow(/RS256/);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = file('rsa.pem', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(build({ AUTH_PUBLIC_KEY_FILE: p, AUTH_ALGORITHMS: ['ES256'] })).toThrow(/ES256/);
    expect(build({ AUTH_PUBLIC_KEY_FILE: p, AUTH_ALGORITHMS: ['PS256'] })).not.toThrow();
  });

  it('the JWKS default list is asymmetric only', () => {
    expect((JWKS_ALGORITHMS as readonly string[]).some((a) => a.startsWith('HS') || a === 'none')).toBe(false);
  });

  it('an EC P-256 PEM infers ES256: an ES256 token passes, an RS256 one is refused', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = file('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { app } = appFor(testConfig({ AUTH_PUBLIC_KEY_FILE: p }));
    expect((await call(app, await sign(ec.privateKey, { alg: 'ES256' }))).status).toBe(200);
    await expect401(await call(app, await sign(rsa.privateKey, { alg: 'RS256' })), expect, /algorithm not allowed/);
  });

  it('an Ed25519 PEM infers EdDSA', async () => {
    const ed = generateKeyPairSync('ed25519');
    const p = file('ed.pem', ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { app } = appFor(testConfig({ AUTH_PUBLIC_KEY_FILE: p }));
    expect((await call(app, await sign(ed.privateKey, { alg: 'EdDSA' }))).status).toBe(200);
  });

  it('an HS256 secret accepts HS256 only (HS512 with the same secret is refused)', async () => {
    const { app } = appFor(testConfig({ AUTH_HS256_SECRET: SECRET }));
    const key = new TextEncoder().encode(SECRET);
    expect((await call(app, await sign(key, { alg: 'HS256' }))).status).toBe(200);
    const hs512 = await new SignJWT({ sub: 'a', exp: nowS() + 60 }).setProtectedHeader({ alg: 'HS512' }).sign(key);
    await expect401(await call(app, hs512), expect, /algorithm not allowed/);
  });

  it('narrowing a PEM RSA key to PS256 refuses RS256 tokens from the same key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = file('rsa-ps.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { app } = appFor(testConfig({ AUTH_PUBLIC_KEY_FILE: p, AUTH_ALGORITHMS: 'PS256' }));
    expect((await call(app, await sign(rsa.privateKey, { alg: 'PS256' }))).status).toBe(200);
    await expect401(await call(app, await sign(rsa.privateKey, { alg: 'RS256' })), expect, /algorithm not allowed/);
  });
});

describe('principal from a verified token', () => {
  it('carries sub, expiresAt = exp * 1000 and the rights of both claim forms', async () => {
    const v = createTokenVerifier(raw({ AUTH_HS256_SECRET: SECRET }), silentLogger);
    const exp = nowS() + 120;
    const token = await sign(new TextEncoder().encode(SECRET), {
      alg: 'HS256',
      claims: { sub: 'svc-orders', exp, kafka: { produce: ['orders.*'] }, scope: 'openid kafka:consume:audit' },
    });
    const p = await v.verify(token);
    expect(p.sub).toBe('svc-orders');
    expect(p.expiresAt).toBe(exp * 1000);
    expect(p.admin).toBe(false);
    expect(p.can('produce', 'orders.eu')).toBe(true);
    expect(p.can('consume', 'audit')).toBe(true);
    expect(p.can('consume', 'orders.eu')).toBe(false);
  });
});
