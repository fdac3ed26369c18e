/**
 * Verifies a caller's JWT with jose's `jwtVerify`, as docs/security.md's table says: an explicit algorithm allowlist
 * per key source, `exp` (and `sub`) required, issuer/audience when configured, a capped clock tolerance, and a
 * size cap before any parsing. Keys only ever come from configuration: no decodeJwt/decodeProtectedHeader, no
 * EmbeddedJWK, and `jku`/`x5u` headers are ignored (jose never fetches them).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { ConfigError, type Config } from '../config.js';
import { ErrorCodes, GatewayError, errors } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { principalFromClaims } from './permissions.js';
import type { Principal } from './principal.js';

export interface TokenVerifier {
  /** Resolves to the caller's Principal; rejects with a GatewayError (401 40101, or 503 50303). */
  verify(token: string): Promise<Principal>;
}

export type AuthConfig = Pick<
  Config,
  | 'AUTH_JWKS_URL'
  | 'AUTH_PUBLIC_KEY_FILE'
  | 'AUTH_HS256_SECRET'
  | 'AUTH_ALGORITHMS'
  | 'AUTH_ISSUER'
  | 'AUTH_AUDIENCE'
  | 'AUTH_CLOCK_TOLERANCE_S'
  | 'AUTH_MAX_TOKEN_BYTES'
  | 'AUTH_JWKS_CACHE_MAX_AGE_MS'
  | 'AUTH_JWKS_COOLDOWN_MS'
  | 'AUTH_CLAIM'
  | 'AUTH_SCOPE_PREFIX'
>;

export interface TokenVerifierOptions {
  /** How long one JWKS fetch may take before it counts as a JWKS outage (jose's default). */
  jwksTimeoutMs?: number;
}

export const JWKS_TIMEOUT_MS = 5_000;
/** Retry-After on a 503 50303: a JWKS outage is usually short-lived (a restart, a blip). */
export const JWKS_RETRY_AFTER_S = 5;
/** The shortest HS256 secret we accept (RFC 7518 §3.2: at least the hash size). */
export const HS256_MIN_SECRET_BYTES = 32;
/** Our cap on AUTH_CLOCK_TOLERANCE_S (docs/configuration.md); config.ts caps it too, this guards other callers. */
const MAX_CLOCK_TOLERANCE_S = 60;
/** During a JWKS outage every request fails: warn once per interval, debug in between. */
export const JWKS_WARN_INTERVAL_MS = 10_000;

/** Asymmetric algorithms a JWKS may use; never an HMAC one (the "HS256 with the RSA public key" attack). */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** A PEM key's type (and curve) → the algorithms it can verify. */
const PEM_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  rsa: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'rsa-pss': ['PS256', 'PS384', 'PS512'],
  'ec:prime256v1': ['ES256'],
  'ec:secp384r1': ['ES384'],
  'ec:secp521r1': ['ES512'],
  ed25519: ['EdDSA', 'Ed25519'],
};
const MIN_RSA_BITS = 2048;

/** jose error code → the short reason a caller sees (never the token, never jose's wording). */
const REASONS: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: 'token expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm not allowed',
  ERR_JOSE_NOT_SUPPORTED: 'algorithm not allowed',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature verification failed',
  ERR_JWKS_NO_MATCHING_KEY: 'no matching key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'no matching key',
  ERR_JWS_INVALID: 'malformed token',
  ERR_JWT_INVALID: 'malformed token',
};
/** JWTClaimValidationFailed's `claim` → reason. */
const CLAIM_REASONS: Readonly<Record<string, string>> = {
  nbf: 'token not yet valid',
  iss: 'unexpected issuer',
  aud: 'unexpected audience',
  exp: 'token expired',
};

/** Raised inside the key resolver when the JWKS could not be fetched or read: our dependency, not the caller. */
class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
}

interface KeySource {
  key: KeyObject | Uint8Array | JWTVerifyGetKey;
  algorithms: string[];
  kind: 'jwks' | 'pem' | 'hs256';
}

export function createTokenVerifier(
  config: AuthConfig,
  logger: Logger,
  { jwksTimeoutMs = JWKS_TIMEOUT_MS }: TokenVerifierOptions = {},
): TokenVerifier {
  const source = keySource(config, jwksTimeoutMs);
  const options: JWTVerifyOptions = {
    algorithms: source.algorithms,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: Math.min(Math.max(config.AUTH_CLOCK_TOLERANCE_S, 0), MAX_CLOCK_TOLERANCE_S),
    ...(config.AUTH_ISSUER !== undefined ? { issuer: config.AUTH_ISSUER } : {}),
    ...(config.AUTH_AUDIENCE !== undefined ? { audience: config.AUTH_AUDIENCE } : {}),
  };
  const maxBytes = config.AUTH_MAX_TOKEN_BYTES;
  const permissions = { claim: config.AUTH_CLAIM, scopePrefix: config.AUTH_SCOPE_PREFIX };
  const log = logger.child({ component: 'auth' });
  let lastJwksWarn = -Infinity;
  const jwksLevel = (): 'warn' | 'debug' => {
    const now = Date.now();
    if (now - lastJwksWarn < JWKS_WARN_INTERVAL_MS) return 'debug';
    lastJwksWarn = now;
    return 'warn';
  };
  log.info({ keySource: source.kind, algorithms: source.algorithms }, 'JWT verification configured');

  return {
    async verify(token: string): Promise<Principal> {
      if (typeof token !== 'string' || token.length === 0) throw errors.unauthorized('Invalid token: missing.');
      // Cap before jose splits, base64-decodes or JSON-parses anything.
      if (token.length > maxBytes || Buffer.byteLength(token) > maxBytes)
        throw errors.unauthorized('Invalid token: too large.');
      let payload: JWTPayload;
      try {
        payload = await verifyWithKeys(token, source.key, options);
      } catch (err) {
        throw toGatewayError(err, log, jwksLevel);
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        log.debug({ code: 'ERR_SUB_INVALID' }, 'token refused');
        throw errors.unauthorized('Invalid token: sub must be a non-empty string.');
      }
      return principalFromClaims(payload, permissions);
    },
  };
}

/** jwtVerify, plus jose's documented loop for a kid-less token that several JWKS keys could verify. */
async function verifyWithKeys(token: string, key: KeySource['key'], options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, key, options)).payload;
  } catch (err) {
    if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err;
    for await (const candidate of err) {
      try {
        return (await jwtVerify(token, candidate, options)).payload;
      } catch (inner) {
        if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new joseErrors.JWSSignatureVerificationFailed();
  }
}

function toGatewayError(err: unknown, log: Logger, jwksLevel: () => 'warn' | 'debug'): GatewayError {
  if (err instanceof JwksUnavailable) {
    // An outage of our dependency, worth a warning (a token never reaches this line; the URL is config).
    const cause = err.cause as
      | { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } }
      | undefined;
    log[jwksLevel()](
      { code: cause?.code ?? cause?.name ?? 'unknown', detail: cause?.cause?.code ?? cause?.message },
      'JWKS unavailable: tokens cannot be verified',
    );
    return new GatewayError(
      503,
      ErrorCodes.JWKS_UNAVAILABLE,
      'The key set that verifies tokens cannot be fetched; try again later.',
      {
        retriable: true,
        headers: { 'Retry-After': String(JWKS_RETRY_AFTER_S) },
        cause: err.cause,
      },
    );
  }
  // Anything else is the token's fault, including non-jose errors (e.g. an RSA key under 2048 bits): fail closed.
  const code = err instanceof joseErrors.JOSEError ? err.code : 'ERR_NOT_JOSE';
  log.debug({ code }, 'token refused');
  let reason = REASONS[code] ?? 'invalid token';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    reason =
      err.reason === 'missing'
        ? `missing ${err.claim} claim`
        : (CLAIM_REASONS[err.claim] ?? `invalid ${err.claim} claim`);
  }
  return errors.unauthorized(`Invalid token: ${reason}.`);
}

function keySource(config: AuthConfig, jwksTimeoutMs: number): KeySource {
  const set = [config.AUTH_JWKS_URL, config.AUTH_PUBLIC_KEY_FILE, config.AUTH_HS256_SECRET].filter(
    (v) => v !== undefined,
  );
  if (set.length !== 1)
    throw new ConfigError(
      'AUTH_MODE: jwt needs exactly one key source: AUTH_JWKS_URL, AUTH_PUBLIC_KEY_FILE or AUTH_HS256_SECRET',
    );
  if (config.AUTH_JWKS_URL !== undefined) {
    const algorithms = narrow(JWKS_ALGORITHMS, config.AUTH_ALGORITHMS, 'a JWKS');
    return { kind: 'jwks', algorithms, key: lazyRemoteJwks(config, jwksTimeoutMs) };
  }
  if (config.AUTH_PUBLIC_KEY_FILE !== undefined) {
    const key = readPublicKey(config.AUTH_PUBLIC_KEY_FILE);
    const algorithms = narrow(pemAlgorithms(key), config.AUTH_ALGORITHMS, 'this public key');
    return { kind: 'pem', algorithms, key };
  }
  const secret = new TextEncoder().encode(config.AUTH_HS256_SECRET);
  if (secret.byteLength < HS256_MIN_SECRET_BYTES)
    throw new ConfigError(`AUTH_HS256_SECRET: must be at least ${HS256_MIN_SECRET_BYTES} bytes`);
  return { kind: 'hs256', algorithms: narrow(['HS256'], config.AUTH_ALGORITHMS, 'AUTH_HS256_SECRET'), key: secret };
}

/** AUTH_ALGORITHMS may only narrow what the key source allows, never widen it. */
function narrow(allowed: readonly string[], configured: readonly string[], what: string): string[] {
  if (configured.length === 0) return [...allowed];
  const bad = configured.filter((a) => !allowed.includes(a));
  if (bad.length > 0)
    throw new ConfigError(
      `AUTH_ALGORITHMS: ${bad.join(', ')} cannot be used with ${what} (allowed: ${allowed.join(', ')})`,
    );
  return [...new Set(configured)];
}

function readPublicKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `AUTH_PUBLIC_KEY_FILE: cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  // A private key here would work (Node derives the public half) but must never sit on the gateway.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new ConfigError('AUTH_PUBLIC_KEY_FILE: holds a private key; give the gateway only the public key (SPKI PEM)');
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`AUTH_PUBLIC_KEY_FILE: '${file}' is not a PEM public key`);
  }
}

function pemAlgorithms(key: KeyObject): readonly string[] {
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  if ((type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) < MIN_RSA_BITS)
    throw new ConfigError(`AUTH_PUBLIC_KEY_FILE: RSA keys must be at least ${MIN_RSA_BITS} bits`);
  const algorithms = PEM_ALGORITHMS[type === 'ec' ? `ec:${details.namedCurve ?? ''}` : type];
  if (!algorithms)
    throw new ConfigError(
      `AUTH_PUBLIC_KEY_FILE: unsupported key type '${type}${details.namedCurve ? ` ${details.namedCurve}` : ''}'`,
    );
  return algorithms;
}

/**
 * One remote key set per verifier, created at the first token (start-up and /readyz never depend on the JWKS).
 * Errors from the set are split: "this token's key is not there" stays a token problem (401); everything else —
 * timeout, connection refused, non-200, not JSON, not a key set — is our dependency failing (503).
 */
function lazyRemoteJwks(config: AuthConfig, timeoutDuration: number): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(config.AUTH_JWKS_URL!);
  } catch {
    throw new ConfigError('AUTH_JWKS_URL: expected a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('AUTH_JWKS_URL: expected an http(s) URL');
  const options = {
    cacheMaxAge: config.AUTH_JWKS_CACHE_MAX_AGE_MS,
    cooldownDuration: config.AUTH_JWKS_COOLDOWN_MS,
    timeoutDuration,
  };
  let remote: ReturnType<typeof createRemoteJWKSet> | undefined;
  return async function jwksKey(header, token) {
    remote ??= createRemoteJWKSet(url, options);
    try {
      return await remote(header, token);
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys ||
        err instanceof joseErrors.JOSENotSupported
      )
        throw err;
      throw new JwksUnavailable('JWKS unavailable', { cause: err });
    }
  };
}
