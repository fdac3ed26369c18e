import { describe, expect, it } from 'vitest';
import {
  authMiddleware,
  bearerToken,
  publicPathMatcher,
  tokenFromCookie,
  tokenFromUpgrade,
} from '../../../src/auth/middleware.js';
import { isGatewayError, type GatewayError } from '../../../src/errors.js';
import { appFor, call, expect401, SECRET, sign, testConfig } from './helpers.js';

const hs = () => sign(new TextEncoder().encode(SECRET), { alg: 'HS256' });

describe('authMiddleware', () => {
  it('is a named function and needs an explicit verifier (null = AUTH_MODE=none)', () => {
    expect(authMiddleware({ verifier: null }).name).toBe('auth');
    expect(() => authMiddleware({} as never)).toThrow(/verifier/);
    expect(() => authMiddleware({ verifier: null, maxTokenBytes: 0 })).toThrow(/maxTokenBytes/);
  });

  it('AUTH_MODE=none: no token needed, the handler sees the anonymous principal', async () => {
    const { app } = appFor(testConfig({ AUTH_MODE: 'none' }));
    const res = await call(app);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: null });
  });

  it('public paths pass without a token; everything else needs one', async () => {
    const { app, handlerRuns } = appFor(testConfig({ AUTH_HS256_SECRET: SECRET }));
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/metrics')).status).toBe(200);
    expect((await app.request('/docs/index.html')).status).toBe(200);
    await expect401(await app.request('/protected'), expect);
    expect(handlerRuns()).toBe(0);
    expect((await call(app, await hs())).status).toBe(200);
    expect(handlerRuns()).toBe(1);
  });

  it('/metrics and docs close when AUTH_PUBLIC_METRICS / AUTH_PUBLIC_DOCS are false', async () => {
    const { app } = appFor(
      testConfig({ AUTH_HS256_SECRET: SECRET, AUTH_PUBLIC_METRICS: 'false', AUTH_PUBLIC_DOCS: 'false' }),
    );
    await expect401(await app.request('/metrics'), expect);
    await expect401(await app.request('/docs/index.html'), expect);
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('a dot-segment path cannot borrow a public prefix', async () => {
    const { app, handlerRuns } = appFor(testConfig({ AUTH_HS256_SECRET: SECRET }));
    await expect401(await app.request('/docs/../protected'), expect);
    await expect401(await app.request('/docs/%2e%2e/protected'), expect);
    expect(handlerRuns()).toBe(0);
  });
});

describe('publicPathMatcher', () => {
  it('health always; metrics and docs by setting; whole segments only', () => {
    const open = publicPathMatcher({ AUTH_PUBLIC_METRICS: true, AUTH_PUBLIC_DOCS: true });
    for (const p of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/',
      '/openapi.json',
      '/openapi.yaml',
      '/docs',
      '/docs/',
      '/docs/a.js',
      '/ui',
      '/ui/tail',
    ])
      expect(open(p), p).toBe(true);
    for (const p of [
      '//',
      '/index.html',
      '/topics',
      '/docsX',
      '/uiadmin',
      '/healthz/x',
      '/metrics/x',
      '/v3/clusters',
      '/ws',
    ])
      expect(open(p), p).toBe(false);
    const closed = publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: false });
    for (const p of ['/', '/metrics', '/openapi.json', '/docs', '/ui/x']) expect(closed(p), p).toBe(false);
    expect(closed('/readyz')).toBe(true);
  });
});

describe('bearerToken', () => {
  it('takes the token after a case-insensitive Bearer', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('BEARER   abc.def.ghi')).toBe('abc.def.ghi');
  });

  it('missing, other schemes, junk and two tokens → 401', () => {
    for (const h of [
      undefined,
      '',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer a b',
      'Bearer a.b.c, Bearer d.e.f',
      'Bearer <script>',
    ]) {
      let err: unknown;
      try {
        bearerToken(h);
      } catch (e) {
        err = e;
      }
      expect(isGatewayError(err), String(h)).toBe(true);
      expect((err as GatewayError).status).toBe(401);
      expect((err as GatewayError).headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
    }
  });
});

describe('tokenFromUpgrade', () => {
  const cfg = { WS_QUERY_TOKEN: false };

  it('prefers the bearer.<jwt> subprotocol and leaves it out of offeredProtocols', () => {
    const r = tokenFromUpgrade(
      {
        headers: { 'sec-websocket-protocol': 'kgw.v1, bearer.aaa.bbb.ccc', authorization: 'Bearer other' },
        url: '/ws',
      },
      cfg,
    );
    expect(r).toEqual({ token: 'aaa.bbb.ccc', offeredProtocols: ['kgw.v1'] });
  });

  it('falls back to Authorization: Bearer', () => {
    expect(tokenFromUpgrade({ headers: { authorization: 'bearer x.y.z' }, url: '/ws' }, cfg)).toEqual({
      token: 'x.y.z',
      offeredProtocols: [],
    });
  });

  it('?access_token= only when WS_QUERY_TOKEN', () => {
    const req = { headers: {}, url: '/ws?topic=t&access_token=q.r.s' };
    expect(tokenFromUpgrade(req, cfg)).toEqual({ offeredProtocols: [] });
    expect(tokenFromUpgrade(req, { WS_QUERY_TOKEN: true })).toEqual({ token: 'q.r.s', offeredProtocols: [] });
  });

  it('no token anywhere → token undefined; other protocols are reported', () => {
    const r = tokenFromUpgrade({ headers: { 'sec-websocket-protocol': ['chat', 'kgw.v1'] } }, cfg);
    expect(r.token).toBeUndefined();
    expect(r.offeredProtocols).toEqual(['chat', 'kgw.v1']);
  });

  it('an empty bearer. entry is not a token', () => {
    expect(tokenFromUpgrade({ headers: { 'sec-websocket-protocol': 'kgw.v1, bearer.' } }, cfg).token).toBeUndefined();
  });
});

describe('tokenFromCookie', () => {
  it('finds the named cookie among others, unquoted, first one winning', () => {
    expect(tokenFromCookie('a=1; kgw_token=aa.bb.cc; b=2', 'kgw_token')).toBe('aa.bb.cc');
    expect(tokenFromCookie('kgw_token="aa.bb.cc"', 'kgw_token')).toBe('aa.bb.cc');
    expect(tokenFromCookie('kgw_token=first; kgw_token=second', 'kgw_token')).toBe('first');
    expect(tokenFromCookie(['x=1', 'kgw_token=t2'], 'kgw_token')).toBe('t2');
  });

  it('no cookie of exactly that name: undefined (a prefix, another case, an empty value do not count)', () => {
    expect(tokenFromCookie(undefined, 'kgw_token')).toBeUndefined();
    expect(tokenFromCookie('', 'kgw_token')).toBeUndefined();
    expect(tokenFromCookie('kgw_token_old=t; KGW_TOKEN=t', 'kgw_token')).toBeUndefined();
    expect(tokenFromCookie('x_kgw_token=t', 'kgw_token')).toBeUndefined();
    expect(tokenFromCookie('kgw_token=', 'kgw_token')).toBeUndefined();
    expect(tokenFromCookie('kgw_token', 'kgw_token')).toBeUndefined();
  });
});
