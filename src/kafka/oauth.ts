/**
 * OAUTHBEARER to the brokers: an access token from an OAuth 2 client-credentials endpoint (RFC 6749 §4.4, client
 * authentication with HTTP Basic, §2.3.1), cached and refreshed before it expires (at 80 % of its lifetime, or
 * earlier so that a token handed out always has MIN_REMAINING_MS left), shared
 * by every connection of the process. kafkajs asks for it at each (re-)authentication; brokers with
 * `connections.max.reauth.ms` make connections re-authenticate before the token's `exp`.
 *
 * Failures are errors whose message starts with "OAuth token request failed" and says which setting to check
 * (the availability tracker reports it as the reason /readyz fails); the secret and tokens are never in them.
 */
export interface OAuthOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** For tests. */
  fetch?: typeof fetch;
  now?: () => number;
  /** How long one token request may take. Default 10 s. */
  timeoutMs?: number;
}

/** Fraction of a token's lifetime after which it is refreshed (long-lived tokens). */
export const REFRESH_AT = 0.8;
/**
 * kafkajs re-authenticates a connection once its broker session (at most the token's remaining lifetime) has less
 * than its `reauthenticationThreshold` (10 s) left. A token handed out with less than that left makes kafkajs
 * re-authenticate at every request, which the broker refuses (at most one re-authentication a second:
 * ILLEGAL_SASL_STATE). So a cached token is only handed out while it has at least this long to live.
 */
export const MIN_REMAINING_MS = 15_000;
/** Never refresh before this fraction of the lifetime (a token that lives under ~20 s cannot satisfy the above). */
const MIN_AGE_FRACTION = 0.25;
/** `expires_in` when the endpoint leaves it out (RFC 6749 makes it optional). */
export const DEFAULT_LIFETIME_S = 300;
/** A cached token this close to its expiry is not handed out even when a refresh failed. */
const EXPIRY_MARGIN_MS = 1_000;

export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
}

export function createOAuthTokenProvider(opts: OAuthOptions): () => Promise<string> {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const where = safeUrl(opts.tokenUrl);
  let cached: { token: string; refreshAt: number; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  const fail = (why: string, hint: string) =>
    new OAuthTokenError(`OAuth token request failed: ${where} ${why} — ${hint}`);

  async function fetchToken(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (opts.scope) body.set('scope', opts.scope);
    const basic = Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString(
      'base64',
    );
    let res: Response;
    try {
      res = await doFetch(opts.tokenUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${basic}`,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const err = e as { name?: string; cause?: { code?: string; message?: string }; message?: string };
      const why =
        err.name === 'TimeoutError'
          ? `did not answer within ${timeoutMs} ms`
          : `is unreachable (${err.cause?.code ?? err.cause?.message ?? err.message ?? 'error'})`;
      throw fail(why, 'check KAFKA_OAUTH_TOKEN_URL');
    }
    const text = await res.text().catch(() => '');
    let json: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // Not JSON: reported below by status or missing access_token.
    }
    if (!res.ok) {
      // RFC 6749 §5.2 error codes are short ASCII words: safe to repeat; the description might not be.
      const code = typeof json.error === 'string' && /^[\w.-]{1,40}$/.test(json.error) ? ` (${json.error})` : '';
      const hint =
        res.status === 400 || res.status === 401 || res.status === 403
          ? 'check KAFKA_OAUTH_CLIENT_ID, KAFKA_OAUTH_CLIENT_SECRET and KAFKA_OAUTH_SCOPE'
          : 'the token endpoint is failing';
      throw fail(`answered HTTP ${res.status}${code}`, hint);
    }
    if (typeof json.access_token !== 'string' || json.access_token === '')
      throw fail('answered without an access_token', 'is KAFKA_OAUTH_TOKEN_URL a client-credentials token endpoint?');
    const expiresIn = typeof json.expires_in === 'string' ? Number(json.expires_in) : json.expires_in;
    const lifetimeMs =
      (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S) *
      1000;
    const t = now();
    const refreshAfter = Math.max(
      lifetimeMs * MIN_AGE_FRACTION,
      Math.min(lifetimeMs * REFRESH_AT, lifetimeMs - MIN_REMAINING_MS),
    );
    cached = { token: json.access_token, refreshAt: t + refreshAfter, expiresAt: t + lifetimeMs };
    return json.access_token;
  }

  return async () => {
    const t = now();
    if (cached && t < cached.refreshAt) return cached.token;
    inflight ??= fetchToken().finally(() => {
      inflight = undefined;
    });
    try {
      return await inflight;
    } catch (e) {
      // A failed refresh while the old token is still good: keep using it, try again at the next request.
      if (cached && now() < cached.expiresAt - EXPIRY_MARGIN_MS) return cached.token;
      throw e;
    }
  };
}

/** The token URL without credentials or query (for messages). */
function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'KAFKA_OAUTH_TOKEN_URL';
  }
}
