#!/usr/bin/env node
// Signs a test JWT for the gateway and prints it (development and docs; never a production issuer).
//   node scripts/make-token.mjs --secret "$AUTH_HS256_SECRET" --sub alice --scope "kafka:produce:orders.*"
//   node scripts/make-token.mjs --key private.pem --kid k1 --sub svc --claim '{"produce":["orders.*"]}' --exp 15m
// Options:
//   --secret S | --key FILE   HS256 secret (≥ 32 bytes), or a PKCS#8 PEM private key (RSA, EC P-256/384/521, Ed25519)
//   --alg ALG                 default: HS256 for --secret; RS256 / ES256|ES384|ES512 / EdDSA from the key type
//   --sub SUB                 default "dev"
//   --scope "a b c"           space-separated scope entries (kafka:produce:<glob>, kafka:consume:, kafka:group:, kafka:admin)
//   --claim JSON              the permissions claim object, e.g. '{"produce":["t"],"consume":["t"],"groups":["g-*"],"admin":false}'
//   --claim-name NAME         default "kafka" (AUTH_CLAIM)
//   --iss ISS --aud AUD       issuer / audience (AUTH_ISSUER / AUTH_AUDIENCE)
//   --kid KID                 key id header (JWKS)
//   --exp DURATION            lifetime, jose syntax: 30s, 15m, 1h, 2d (default 1h)
//   --jwks                    with --key: print the public key as a JWKS (for a local AUTH_JWKS_URL) instead of a token
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK, SignJWT } from 'jose';

const { values: o } = parseArgs({
  options: {
    secret: { type: 'string' },
    key: { type: 'string' },
    alg: { type: 'string' },
    sub: { type: 'string', default: 'dev' },
    scope: { type: 'string' },
    claim: { type: 'string' },
    'claim-name': { type: 'string', default: 'kafka' },
    iss: { type: 'string' },
    aud: { type: 'string' },
    kid: { type: 'string' },
    exp: { type: 'string', default: '1h' },
    jwks: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

function fail(message) {
  process.stderr.write(`make-token: ${message}\n(see the header of scripts/make-token.mjs for usage)\n`);
  process.exit(2);
}

if (o.help) {
  process.stdout.write(
    `${readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .join('\n')}\n`,
  );
  process.exit(0);
}
if (Boolean(o.secret) === Boolean(o.key)) fail('give exactly one of --secret or --key');

let key;
let alg = o.alg;
if (o.secret) {
  key = new TextEncoder().encode(o.secret);
  if (key.byteLength < 32) fail('--secret must be at least 32 bytes (the gateway refuses shorter ones)');
  alg ??= 'HS256';
} else {
  key = createPrivateKey(readFileSync(o.key));
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const inferred =
    { rsa: 'RS256', 'rsa-pss': 'PS256', ed25519: 'EdDSA' }[type] ??
    (type === 'ec' ? { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[curve] : undefined);
  alg ??= inferred;
  if (!alg) fail(`cannot infer an algorithm for a ${type} key; pass --alg`);
}

if (o.jwks) {
  if (!o.key) fail('--jwks needs --key');
  const jwk = await exportJWK(createPublicKey(key)); // the public half only
  const pub = { ...jwk, alg, use: 'sig', ...(o.kid ? { kid: o.kid } : {}) };
  process.stdout.write(`${JSON.stringify({ keys: [pub] }, null, 2)}\n`);
  process.exit(0);
}

const payload = { sub: o.sub };
if (o.scope) payload.scope = o.scope;
if (o.claim) {
  try {
    payload[o['claim-name']] = JSON.parse(o.claim);
  } catch {
    fail('--claim must be JSON');
  }
}

let jwt = new SignJWT(payload)
  .setProtectedHeader({ alg, typ: 'JWT', ...(o.kid ? { kid: o.kid } : {}) })
  .setIssuedAt()
  .setExpirationTime(o.exp);
if (o.iss) jwt = jwt.setIssuer(o.iss);
if (o.aud) jwt = jwt.setAudience(o.aud);
process.stdout.write(`${await jwt.sign(key)}\n`);
