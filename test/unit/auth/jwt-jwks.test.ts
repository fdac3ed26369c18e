/**
 * JWKS key source: attacks that need a key set (unknown kid, jku/x5u, kid injection, HMAC confusion), rotation
 * with short cache/cooldown settings, and outages (→ 503 50303, never 401). Servers run on 127.0.0.1:0.
 */
import { errors as joseErrors, exportJWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier } from '../../../src/auth/jwt.js';
import { isGatewayError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/observability/logger.js';
import {
  appFor,
  call,
  expect401,
  jwksServer,
  keyPair,
  localServer,
  sign,
  testConfig,
  type KeyPair,
  type LocalServer,
} from './helpers.js';

let keyA: KeyPair;
let keyB: KeyPair;
let attacker: KeyPair;
const servers: LocalServer[] = [];

beforeAll(async () => {
  [keyA, keyB, attacker] = await Promise.all([keyPair('a'), keyPair('b', 'ES256'), keyPair('evil')]);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(env: Record<string, string> = {}, keys = [keyA.publicJwk], verifier?: { jwksTimeoutMs: number }) {
  const jwks = await jwksServer(keys);
  servers.push(jwks);
  const t = appFor(testConfig({ AUTH_JWKS_URL: jwks.url, ...env }), verifier ? { verifier } : {});
  return { jwks, ...t };
}

const tokenFor = (k: KeyPair, opts: Parameters<typeof sign>[1] = {}) =>
  sign(k.privateKey, { alg: k.alg, kid: k.kid, ...opts });

describe('lazy JWKS', () => {
  it('is not fetched at start-up, fetched once at the first token, then served from cache', async () => {
    const { jwks, app } = await setup();
    expect(jwks.hits()).toBe(0);
    expect((await call(app, await tokenFor(keyA))).status).toBe(200);
    expect((await call(app, await tokenFor(keyA))).status).toBe(200);
    expect(jwks.hits()).toBe(1);
  });
});

describe('attack: unknown kid', () => {
  it('a token naming a kid the key set does not hold → 401 "no matching key"', async () => {
    const { app, handlerRuns } = await setup();
    await expect401(await call(app, await tokenFor(attacker)), expect, /no matching key/);
    expect(handlerRuns()).toBe(0);
  });

  it('kid injection: a path/URL in kid is only compared as a string; nothing but the JWKS URL is requested', async () => {
    const { jwks, app } = await setup();
    const paths: string[] = [];
    jwks.handle((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [keyA.publicJwk] }));
    });
    for (const kid of ['../../../etc/passwd', 'http://127.0.0.1:1/x', "a' OR '1'='1"])
      await expect401(await call(app, await sign(attacker.privateKey, { kid })), expect, /no matching key/);
    expect(new Set(paths)).toEqual(new Set(['/.well-known/jwks.json']));
  });
});

describe('attack: HS256 signed with the RSA public key as secret (JWKS)', () => {
  it('an HMAC token keyed with the published JWK → 401 "algorithm not allowed", the JWKS never consulted', async () => {
    const { jwks, app } = await setup();
    const forged = await new SignJWT({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'a' })
      .sign(new TextEncoder().encode(JSON.stringify(keyA.publicJwk)));
    await expect401(await call(app, forged), expect, /algorithm not allowed/);
    expect(jwks.hits()).toBe(0);
  });
});

describe('attack: jku header pointing elsewhere', () => {
  it('the jku URL is never fetched; the token is checked against the configured key set only', async () => {
    const { app } = await setup();
    // The attacker's server would gladly serve the attacker's key.
    const evil = await jwksServer([attacker.publicJwk]);
    servers.push(evil);
    const forged = await tokenFor(attacker, { header: { jku: evil.url } });
    await expect401(await call(app, forged), expect, /no matching key/);
    // A genuine token with a jku header still verifies against our keys — and still fetches nothing else.
    const genuine = await tokenFor(keyA, { header: { jku: evil.url } });
    expect((await call(app, genuine)).status).toBe(200);
    expect(evil.hits()).toBe(0);
  });
});

describe('attack: x5u header pointing elsewhere', () => {
  it('the x5u URL is never fetched', async () => {
    const { app } = await setup();
    const evil = await localServer((_q, r) => r.end('-----BEGIN CERTIFICATE-----'));
    servers.push(evil);
    await expect401(await call(app, await tokenFor(attacker, { header: { x5u: evil.url } })), expect);
    expect(evil.hits()).toBe(0);
  });
});

describe('key removed from the JWKS after cache age passed', () => {
  it('a token whose key was rotated out is refused once the cached set is older than AUTH_JWKS_CACHE_MAX_AGE_MS', async () => {
    const { jwks, app } = await setup({ AUTH_JWKS_CACHE_MAX_AGE_MS: '300', AUTH_JWKS_COOLDOWN_MS: '100' }, [
      keyA.publicJwk,
      keyB.publicJwk,
    ]);
    // The key set's age is Date-based (jose): only Date is faked, so the sockets and their timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const oldToken = await tokenFor(keyA);
      expect((await call(app, oldToken)).status).toBe(200);
      jwks.setKeys([keyB.publicJwk]); // key A revoked at the IdP
      vi.setSystemTime(Date.now() + 299);
      expect((await call(app, oldToken)).status).toBe(200); // still inside the cache age
      expect(jwks.hits()).toBe(1);
      vi.setSystemTime(Date.now() + 101);
      await expect401(await call(app, oldToken), expect, /no matching key/);
      expect((await call(app, await tokenFor(keyB))).status).toBe(200);
      expect(jwks.hits()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('new key accepted without restart', () => {
  it('an unknown kid refetches the key set (after the cooldown) and a newly published key works', async () => {
    const { jwks, app } = await setup({ AUTH_JWKS_CACHE_MAX_AGE_MS: '600000', AUTH_JWKS_COOLDOWN_MS: '100' });
    vi.useFakeTimers({ toFake: ['Date'] }); // the cooldown is Date-based (jose); sockets stay real
    try {
      expect((await call(app, await tokenFor(keyA))).status).toBe(200);
      jwks.setKeys([keyA.publicJwk, keyB.publicJwk]); // the IdP publishes key B
      vi.setSystemTime(Date.now() + 101);
      expect((await call(app, await tokenFor(keyB))).status).toBe(200);
      expect(jwks.hits()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('inside the cooldown an unknown kid does not refetch (no JWKS hammering from random kids)', async () => {
    const { jwks, app } = await setup({ AUTH_JWKS_COOLDOWN_MS: '60000' });
    expect((await call(app, await tokenFor(keyA))).status).toBe(200);
    for (let i = 0; i < 5; i++) await expect401(await call(app, await tokenFor(attacker)), expect);
    expect(jwks.hits()).toBe(1);
  });
});

describe('several keys without kid', () => {
  it('a kid-less token is tried against each matching key: the right one passes, a foreign one fails', async () => {
    const second = await keyPair('x');
    const { app } = await setup({}, [
      { ...keyA.publicJwk, kid: undefined },
      { ...second.publicJwk, kid: undefined },
    ]);
    expect((await call(app, await sign(second.privateKey))).status).toBe(200);
    await expect401(await call(app, await sign(attacker.privateKey)), expect, /signature verification failed/);
  });
});

describe('JWKS unreachable → 503 50303 (not 401)', () => {
  async function expect503(res: Response, handlerRuns: () => number) {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.headers.get('www-authenticate')).toBeNull();
    const body = (await res.json()) as { error_code: number; message: string };
    expect(body.error_code).toBe(50303);
    expect(handlerRuns()).toBe(0);
  }

  it('connection refused', async () => {
    const gone = await localServer();
    await gone.close();
    const t = appFor(testConfig({ AUTH_JWKS_URL: gone.url }));
    await expect503(await call(t.app, await tokenFor(keyA)), t.handlerRuns);
  });

  it('HTTP 500 from the JWKS endpoint', async () => {
    const { jwks, app, handlerRuns } = await setup();
    jwks.handle((_q, r) => r.writeHead(500).end('oops'));
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
  });

  it('a redirect (jose does not follow it)', async () => {
    const { jwks, app, handlerRuns } = await setup();
    jwks.handle((_q, r) => r.writeHead(302, { location: 'http://127.0.0.1:1/' }).end());
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
  });

  it('a body that is not a key set, or not JSON', async () => {
    const { jwks, app, handlerRuns } = await setup();
    jwks.handle((_q, r) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"nope": true}'));
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
    jwks.handle((_q, r) => r.writeHead(200).end('<html>'));
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
  });

  it('a JWKS that does not answer within the timeout', async () => {
    const { jwks, app, handlerRuns } = await setup({}, [keyA.publicJwk], { jwksTimeoutMs: 200 });
    jwks.handle(() => {}); // never answers
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
  });

  it('recovers without restart once the JWKS is back', async () => {
    const { jwks, app, handlerRuns } = await setup();
    jwks.handle((_q, r) => r.writeHead(503).end());
    await expect503(await call(app, await tokenFor(keyA)), handlerRuns);
    jwks.handle((_q, r) =>
      r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [keyA.publicJwk] })),
    );
    expect((await call(app, await tokenFor(keyA))).status).toBe(200);
  });
});

describe('what jose 6 throws for each JWKS failure (pinned: a jose upgrade that changes it must fail here)', () => {
  async function causeOf(handler: Parameters<LocalServer['handle']>[0] | 'refused', timeoutMs = 5_000) {
    let url: string;
    if (handler === 'refused') {
      const gone = await localServer();
      await gone.close();
      url = gone.url;
    } else {
      const s = await localServer(handler);
      servers.push(s);
      url = s.url;
    }
    const v = createTokenVerifier(testConfig({ AUTH_JWKS_URL: url }), silentLogger, { jwksTimeoutMs: timeoutMs });
    const err = await v.verify(await tokenFor(keyA)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGatewayError(err) && err.errorCode).toBe(50303);
    return (err as Error).cause as { name: string; code?: string; cause?: { code?: string } };
  }

  it('connection refused: undici TypeError "fetch failed" (not a JOSEError), cause.code ECONNREFUSED', async () => {
    const cause = await causeOf('refused');
    expect(cause).toBeInstanceOf(TypeError);
    expect(cause).not.toBeInstanceOf(joseErrors.JOSEError);
    expect(cause.cause?.code).toBe('ECONNREFUSED');
  });

  it('non-200: a plain JOSEError, code ERR_JOSE_GENERIC', async () => {
    const cause = await causeOf((_q, r) => r.writeHead(404).end());
    expect(cause.constructor).toBe(joseErrors.JOSEError);
    expect(cause.code).toBe('ERR_JOSE_GENERIC');
  });

  it('timeout: JWKSTimeout, code ERR_JWKS_TIMEOUT', async () => {
    expect((await causeOf(() => {}, 100)).code).toBe('ERR_JWKS_TIMEOUT');
  });

  it('200 but not a key set: JWKSInvalid, code ERR_JWKS_INVALID', async () => {
    expect((await causeOf((_q, r) => r.end('{"keys": 1}'))).code).toBe('ERR_JWKS_INVALID');
  });
});

describe('an ES256 key in the JWKS', () => {
  it('verifies ES256 tokens; the exported JWK carries no private part', async () => {
    const { app } = await setup({}, [keyB.publicJwk]);
    expect(keyB.publicJwk.d).toBeUndefined();
    expect((await call(app, await tokenFor(keyB))).status).toBe(200);
    expect(await exportJWK(keyB.privateKey)).toHaveProperty('d');
  });
});
