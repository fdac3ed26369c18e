// The readiness reasons for TLS/SASL/OAuth failures (availability.ts) and the OAUTHBEARER token provider (oauth.ts).
// The same failures against real listeners: test/integration/security-broker.test.ts.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Availability } from '../../../src/kafka/availability.js';
import { explainKafkaError } from '../../../src/kafka/errors.js';
import { createOAuthTokenProvider, MIN_REMAINING_MS } from '../../../src/kafka/oauth.js';

const err = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);

describe('explainKafkaError', () => {
  it('names SASL failures with the mechanism and the settings to check', () => {
    const p = explainKafkaError(
      err(
        'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials',
      ),
    );
    expect(p).toMatchObject({ kind: 'sasl', rank: 2 });
    expect(p.reason).toMatch(
      /^SASL authentication failed \(SCRAM-SHA-256\): Authentication failed .* check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD$/,
    );
    expect(explainKafkaError(err('SASL PLAIN authentication failed: Invalid username or password')).reason).toMatch(
      /\(PLAIN\)/,
    );
  });

  it('finds the cause inside kafkajs wrappers (retries exceeded → connection error)', () => {
    const inner = err('Connection error: unable to verify the first certificate', {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    const outer = err('Failed to connect to seed broker', { originalError: inner });
    const p = explainKafkaError(err('retries exceeded', { cause: outer }));
    expect(p.kind).toBe('tls-untrusted');
    expect(p.reason).toBe(
      "TLS: unable to verify the first certificate — the broker's certificate is not trusted — set KAFKA_SSL_CA_FILE to the CA that signed it",
    );
  });

  it('tells a refused client certificate apart from an untrusted broker', () => {
    const p = explainKafkaError(
      err(
        'Connection error: 80:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../ssl/rec.c:1601:SSL alert number 42\n',
        {
          code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
        },
      ),
    );
    expect(p.kind).toBe('tls-client-cert');
    expect(p.reason).toContain('(sslv3 alert bad certificate)');
    expect(p.reason).not.toContain('SSL routines');
    expect(explainKafkaError(err('x', { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' })).kind).toBe(
      'tls-client-cert',
    );
  });

  it('host name mismatch, network errors, closed connections, anything else', () => {
    expect(
      explainKafkaError(
        err("Hostname/IP does not match certificate's altnames", { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      ).reason,
    ).toMatch(/does not name the host/);
    expect(
      explainKafkaError(err('Connection error: connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })),
    ).toMatchObject({ kind: 'network', rank: 1 });
    expect(explainKafkaError('Closed connection')).toMatchObject({ kind: 'closed', rank: 0 });
    expect(explainKafkaError(err('something odd'))).toEqual({ kind: 'other', rank: 0, reason: 'something odd' });
  });

  it('keeps our OAuth messages as they are', () => {
    const m =
      'OAuth token request failed: http://idp/token answered HTTP 401 (invalid_client) — check KAFKA_OAUTH_CLIENT_ID';
    expect(explainKafkaError(err(m))).toEqual({ kind: 'oauth', rank: 2, reason: m });
  });
});

describe('Availability: one line per outage cause', () => {
  it('a follow-up symptom does not replace the cause; recovery resets it', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l).msg) });
    const failures: unknown[] = [
      err('OAuth token request failed: x answered HTTP 401 — check'),
      err('Request is not valid given the current SASL state'),
      err('OAuth token request failed: x answered HTTP 401 — check'),
    ];
    let i = 0;
    const a = new Availability({
      logger,
      intervalMs: 5,
      probe: async () => {
        if (i < failures.length) throw failures[i++];
      },
    });
    await a.start();
    await new Promise<void>((r) => a.once('up', r));
    a.close();
    expect(lines).toEqual([
      'Kafka unreachable: OAuth token request failed: x answered HTTP 401 — check; refusing requests with 503 until it answers',
      'Kafka reachable',
    ]);
  });
});

describe('OAuth client-credentials provider', () => {
  function endpoint(answers: Array<{ status?: number; body?: unknown } | Error>) {
    const calls: Array<{ auth: string | null; body: string }> = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      calls.push({ auth: new Headers(init.headers).get('authorization'), body: String(init.body) });
      const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return new Response(JSON.stringify(a.body ?? {}), { status: a.status ?? 200 });
    }) as unknown as typeof fetch;
    return { fetchFn, calls };
  }

  it('caches the token and refreshes it before it expires, never handing out one with under MIN_REMAINING_MS left', async () => {
    let t = 0;
    const { fetchFn, calls } = endpoint([
      { body: { access_token: 'a', expires_in: 3600 } },
      { body: { access_token: 'b', expires_in: 60 } },
      { body: { access_token: 'c', expires_in: 60 } },
    ]);
    const get = createOAuthTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'id:x',
      clientSecret: 's&cret',
      scope: 'kafka',
      fetch: fetchFn,
      now: () => t,
    });
    expect(await get()).toBe('a');
    expect(calls[0]!.auth).toBe(`Basic ${Buffer.from('id%3Ax:s%26cret').toString('base64')}`);
    expect(calls[0]!.body).toBe('grant_type=client_credentials&scope=kafka');
    t = 2_879_000; // just under 80 % of an hour
    expect(await get()).toBe('a');
    t = 2_881_000;
    expect(await get()).toBe('b'); // a 60 s token: refreshed when 15 s are left, not at 48 s
    t += 60_000 - MIN_REMAINING_MS - 1_000;
    expect(await get()).toBe('b');
    t += 2_000;
    expect(await get()).toBe('c');
    expect(calls).toHaveLength(3);
  });

  it('keeps a still-valid token when a refresh fails; fails clearly once it cannot', async () => {
    let t = 0;
    const { fetchFn } = endpoint([{ body: { access_token: 'a', expires_in: 100 } }, { status: 503 }]);
    const get = createOAuthTokenProvider({
      tokenUrl: 'http://user:pw@idp/token?x=1',
      clientId: 'id',
      clientSecret: 'sec',
      fetch: fetchFn,
      now: () => t,
    });
    expect(await get()).toBe('a');
    t = 90_000;
    expect(await get()).toBe('a');
    t = 99_500;
    await expect(get()).rejects.toThrow(
      /^OAuth token request failed: http:\/\/idp\/token answered HTTP 503 — the token endpoint is failing$/,
    );
  });

  it('says which setting to check, never the secret', async () => {
    const bad = createOAuthTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'id',
      clientSecret: 'sekrit',
      fetch: endpoint([{ status: 401, body: { error: 'invalid_client', error_description: 'sekrit is wrong' } }])
        .fetchFn,
    });
    const e = await bad().catch((x: Error) => x);
    expect(String(e)).toMatch(/HTTP 401 \(invalid_client\) — check KAFKA_OAUTH_CLIENT_ID, KAFKA_OAUTH_CLIENT_SECRET/);
    expect(String(e)).not.toContain('sekrit');
    const down = createOAuthTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'id',
      clientSecret: 's',
      fetch: endpoint([Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })]).fetchFn,
    });
    await expect(down()).rejects.toThrow(/unreachable \(ECONNREFUSED\) — check KAFKA_OAUTH_TOKEN_URL/);
    const odd = createOAuthTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'id',
      clientSecret: 's',
      fetch: endpoint([{ body: { token: 'x' } }]).fetchFn,
    });
    await expect(odd()).rejects.toThrow(/without an access_token/);
  });
});
