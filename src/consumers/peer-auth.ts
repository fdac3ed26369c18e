/**
 * Replica-to-replica authentication: every request a replica sends to a peer, and every lookup answer, carries an
 * HMAC-SHA256 under a key derived (HKDF) from PEER_SECRET, over a timestamp and what the request is. A peer checks
 * it before trusting anything the request says; a signature older or newer than MAX_SKEW_MS is refused (replays).
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const PEER_TIME_HEADER = 'kgw-peer-time';
export const PEER_SIGNATURE_HEADER = 'kgw-peer-signature';
/** How far a peer's clock (and the request's transit) may be off. */
export const MAX_SKEW_MS = 30_000;

export interface SignedParts {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The caller's Authorization header (forwarded as is), or ''. */
  authorization: string;
  body: Uint8Array;
}

export class PeerAuth {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (Buffer.byteLength(secret) < 32) throw new TypeError('PeerAuth: the secret must be at least 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'kgw peer requests v1', 32));
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  private static text(p: SignedParts, time: string): string {
    const body = createHash('sha256').update(p.body).digest('hex');
    return `v1\n${time}\n${p.method.toUpperCase()}\n${p.path}\n${p.authorization}\n${body}`;
  }

  /** The two headers to add to a request to a peer. */
  sign(p: SignedParts, now = Date.now()): Record<string, string> {
    const time = String(now);
    return { [PEER_TIME_HEADER]: time, [PEER_SIGNATURE_HEADER]: this.mac(PeerAuth.text(p, time)) };
  }

  /** Did a peer send this request (within MAX_SKEW_MS)? */
  verify(p: SignedParts, time: string | undefined, signature: string | undefined, now = Date.now()): boolean {
    if (!time || !signature || !/^\d{1,16}$/.test(time)) return false;
    if (Math.abs(now - Number(time)) > MAX_SKEW_MS) return false;
    return safeEqual(this.mac(PeerAuth.text(p, time)), signature);
  }

  /** A lookup answer, bound to the request it answers (its signature). */
  signAnswer(requestSignature: string, answer: string): string {
    return this.mac(`answer\n${requestSignature}\n${answer}`);
  }

  verifyAnswer(requestSignature: string, answer: string, signature: unknown): boolean {
    return typeof signature === 'string' && safeEqual(this.signAnswer(requestSignature, answer), signature);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
