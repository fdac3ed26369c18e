/**
 * JWT attacks against a PEM-configured gateway (RSA public key, issuer and audience set), one describe per attack,
 * driven through the auth middleware in-process. Every refusal must be 401 40101 with
 * `WWW-Authenticate: Bearer error="invalid_token"`, and the protected handler must never run.
 * JWKS-specific attacks (unknown kid, jku, rotation, outage) live in jwt-jwks.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor, call, expect401, nowS, sign, testConfig, type TestApp } from './helpers.js';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'kafka-gateway';
const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

let dir: string;
let pem: string;
let privateKey: CryptoKey;
let otherKey: CryptoKey;
let t: TestApp;

/** A valid token for the configured key, with overridable claims/header. */
const good = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  sign(privateKey, { claims: { iss: ISSUER, aud: AUDIENCE, ...claims }, header });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kgw-auth-'));
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  pem = await exportSPKI(pair.publicKey);
  otherKey = (await generateKeyPair('RS256')).privateKey;
  writeFileSync(join(dir, 'public.pem'), pem);
  t = appFor(
    testConfig({
      AUTH_PUBLIC_KEY_FILE: join(dir, 'public.pem'),
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_CLOCK_TOLERANCE_S: '30',
      AUTH_MAX_TOKEN_BYTES: '2048',
    }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Sends `token` and asserts the 401 shape and that the handler never ran. */
async function refused(token: string | undefined, reason?: RegExp, init?: RequestInit): Promise<void> {
  const before = t.handlerRuns();
  const res = init ? await t.app.request('/protected', init) : await call(t.app, token);
  await expect401(res, expect, reason);
  expect(t.handlerRuns()).toBe(before);
}

describe('baseline: a valid token', () => {
  it('is accepted and the handler sees its sub', async () => {
    const res = await call(t.app, await good());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice' });
  });
});

describe('attack: missing token', () => {
  it('no Authorization header → 401', async () => {
    await refused(undefined, /missing bearer token/i);
  });
});

describe('attack: malformed token', () => {
  it('garbage, wrong scheme, two parts, bad base64 and non-JSON header → 401 each', async () => {
    await refused(undefined, /malformed authorization/i, { headers: { authorization: `Basic ${b64url('a:b')}` } });
    await refused(undefined, /malformed authorization/i, { headers: { authorization: 'Bearer' } });
    await refused(undefined, undefined, { headers: { authorization: 'Bearer a.b c' } });
    await refused('not-a-jwt', /malformed token/);
    await refused('aaa.bbb', /malformed token/);
    await refused(`${b64url('{not json')}.${b64url({ sub: 'x' })}.sig`, /malformed token/);
    await refused(`${b64url({ alg: 'RS256' })}.!!!.sig`, /malformed/i);
    // The signature is checked before the payload is parsed: an unsigned junk payload never reaches JSON.parse.
    await refused(`${b64url({ alg: 'RS256' })}.${b64url('not json')}.c2ln`, /signature verification failed/);
  });

  it('the scheme is case-insensitive (lowercase bearer is fine)', async () => {
    const res = await t.app.request('/protected', { headers: { authorization: `bearer ${await good()}` } });
    expect(res.status).toBe(200);
  });
});

describe('attack: alg none', () => {
  it('an unsigned token ("alg": "none", empty signature) → 401', async () => {
    const payload = { sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 3600, kafka: { admin: true } };
    await refused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`, /algorithm not allowed/);
    await refused(`${b64url({ alg: 'None' })}.${b64url(payload)}.`, /algorithm not allowed/);
  });
});

describe('attack: HS256 signed with the RSA public key as secret', () => {
  it('the PEM text as an HMAC secret → 401 (HS256 is not in the allowlist for a public key)', async () => {
    const forged = await new SignJWT({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 3600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(pem));
    await refused(forged, /algorithm not allowed/);
  });
});

describe('attack: wrong signature', () => {
  it('a token signed by another RSA key → 401', async () => {
    await refused(await sign(otherKey, { claims: { iss: ISSUER, aud: AUDIENCE } }), /signature verification failed/);
  });

  it("a valid token's signature swapped for another token's → 401", async () => {
    const [h, p] = (await good()).split('.');
    const [, , s] = (await sign(otherKey, { claims: { iss: ISSUER, aud: AUDIENCE } })).split('.');
    await refused(`${h}.${p}.${s}`, /signature verification failed/);
  });
});

describe('attack: tampered payload', () => {
  it('claims edited after signing (sub changed, admin added) → 401', async () => {
    const [h, p, s] = (await good()).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = b64url({ ...claims, sub: 'mallory', kafka: { admin: true } });
    await refused(`${h}.${tampered}.${s}`, /signature verification failed/);
  });
});

describe('attack: expired token', () => {
  it('exp beyond the clock tolerance → 401 "token expired"', async () => {
    await refused(await good({ exp: nowS() - 120 }), /token expired/);
  });
});

describe('attack: no exp', () => {
  it('a signed token without exp (never expires) → 401', async () => {
    await refused(await sign(privateKey, { noExp: true, claims: { iss: ISSUER, aud: AUDIENCE } }), /missing exp claim/);
  });

  it('a non-numeric exp → 401', async () => {
    await refused(await good({ exp: 'tomorrow' }), /exp/);
  });
});

describe('attack: not yet valid (nbf)', () => {
  it('nbf beyond the clock tolerance → 401', async () => {
    await refused(await good({ nbf: nowS() + 600 }), /not yet valid/);
  });
});

describe('attack: wrong issuer', () => {
  it('another issuer → 401; no issuer at all → 401', async () => {
    await refused(await good({ iss: 'https://evil.example.test/' }), /unexpected issuer/);
    await refused(await sign(privateKey, { claims: { aud: AUDIENCE } }), /missing iss claim/);
  });
});

describe('attack: wrong audience', () => {
  it('another audience → 401; no audience → 401; an array without ours → 401', async () => {
    await refused(await good({ aud: 'some-other-api' }), /unexpected audience/);
    await refused(await sign(privateKey, { claims: { iss: ISSUER } }), /missing aud claim/);
    await refused(await good({ aud: ['a', 'b'] }), /unexpected audience/);
    const res = await call(t.app, await good({ aud: ['a', AUDIENCE] }));
    expect(res.status).toBe(200);
  });
});

describe('attack: oversized token', () => {
  it('a correctly signed token over AUTH_MAX_TOKEN_BYTES is refused before parsing → 401 "too large"', async () => {
    const big = await good({ padding: 'x'.repeat(4096) }); // valid signature: only the size cap can refuse it
    await refused(big, /too large/);
  });

  it('a 1 MB Authorization header → 401 without running the regex on it', async () => {
    await refused(undefined, /too large/, { headers: { authorization: `Bearer ${'a'.repeat(1 << 20)}` } });
  });
});

describe('attack: embedded jwk header', () => {
  it('a token carrying its own key in the `jwk` header is checked against the configured key only → 401', async () => {
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    await refused(
      await sign(attacker.privateKey, { header: { jwk }, claims: { iss: ISSUER, aud: AUDIENCE } }),
      /signature verification failed/,
    );
  });
});

describe('attack: missing or empty sub', () => {
  it('a token without sub, or with a non-string sub → 401', async () => {
    await refused(await good({ sub: undefined }), /missing sub claim/);
    await refused(await good({ sub: 42 }), /sub/);
    await refused(await good({ sub: '' }), /sub/);
  });
});

describe('clock tolerance honoured', () => {
  it('exp 10 s ago and nbf 10 s ahead pass with a 30 s tolerance; 40 s ago fails', async () => {
    expect((await call(t.app, await good({ exp: nowS() - 10 }))).status).toBe(200);
    expect((await call(t.app, await good({ nbf: nowS() + 10 }))).status).toBe(200);
    await refused(await good({ exp: nowS() - 40 }), /token expired/);
  });

  it('with no tolerance, a token expired 2 s ago fails', async () => {
    const strict = appFor(testConfig({ AUTH_PUBLIC_KEY_FILE: join(dir, 'public.pem'), AUTH_CLOCK_TOLERANCE_S: '0' }));
    const res = await call(strict.app, await sign(privateKey, { claims: { exp: nowS() - 2 } }));
    await expect401(res, expect, /token expired/);
  });
});

describe('logging: the jose error code, never the token', () => {
  it('a refused token logs its code at debug and no part of the token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logged = appFor(testConfig({ AUTH_PUBLIC_KEY_FILE: join(dir, 'public.pem') }), {
      logger: pino({ level: 'debug' }, sink),
    });
    const forged = await sign(otherKey);
    await expect401(await call(logged.app, forged), expect);
    const all = lines.join('');
    expect(all).toContain('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    for (const part of forged.split('.')) expect(all).not.toContain(part);
  });
});
