// Replica-to-replica signatures: what a peer signs verifies; any change to what was signed, a stale or future
// timestamp, or another secret does not.
import { describe, expect, it } from 'vitest';
import { MAX_SKEW_MS, PEER_SIGNATURE_HEADER, PEER_TIME_HEADER, PeerAuth } from '../../../src/consumers/peer-auth.js';

const SECRET = 'a-shared-peer-secret-of-32-bytes-or-more';
const parts = {
  method: 'GET',
  path: '/consumers/g/instances/i/records?timeout=100',
  authorization: 'Bearer abc',
  body: Buffer.from('{"x":1}'),
};

describe('PeerAuth', () => {
  const auth = new PeerAuth(SECRET);
  const now = 1_800_000_000_000;
  const h = auth.sign(parts, now);
  const verify = (p = parts, t = h[PEER_TIME_HEADER], s = h[PEER_SIGNATURE_HEADER], at = now) =>
    auth.verify(p, t, s, at);

  it('verifies what it signed', () => {
    expect(verify()).toBe(true);
    expect(verify(parts, h[PEER_TIME_HEADER], h[PEER_SIGNATURE_HEADER], now + MAX_SKEW_MS)).toBe(true);
  });

  it.each([
    ['method', { ...parts, method: 'DELETE' }],
    ['path', { ...parts, path: '/consumers/g/instances/other/records?timeout=100' }],
    ['query', { ...parts, path: '/consumers/g/instances/i/records?timeout=101' }],
    ['authorization', { ...parts, authorization: 'Bearer xyz' }],
    ['body', { ...parts, body: Buffer.from('{"x":2}') }],
  ])('refuses a request whose %s changed', (_what, changed) => {
    expect(verify(changed)).toBe(false);
  });

  it('refuses stale, future, missing or malformed timestamps, and other secrets', () => {
    expect(verify(parts, h[PEER_TIME_HEADER], h[PEER_SIGNATURE_HEADER], now + MAX_SKEW_MS + 1)).toBe(false);
    expect(verify(parts, h[PEER_TIME_HEADER], h[PEER_SIGNATURE_HEADER], now - MAX_SKEW_MS - 1)).toBe(false);
    expect(verify(parts, String(now + 1))).toBe(false);
    expect(auth.verify(parts, undefined, h[PEER_SIGNATURE_HEADER], now)).toBe(false);
    expect(verify(parts, '1e12')).toBe(false);
    expect(auth.verify(parts, h[PEER_TIME_HEADER], undefined, now)).toBe(false);
    expect(new PeerAuth(`${SECRET}!`).verify(parts, h[PEER_TIME_HEADER], h[PEER_SIGNATURE_HEADER], now)).toBe(false);
  });

  it('binds a lookup answer to its request', () => {
    const sig = h[PEER_SIGNATURE_HEADER]!;
    const answer = auth.signAnswer(sig, 'owned');
    expect(auth.verifyAnswer(sig, 'owned', answer)).toBe(true);
    expect(auth.verifyAnswer(sig, 'none', answer)).toBe(false);
    expect(auth.verifyAnswer(`${sig}x`, 'owned', answer)).toBe(false);
    expect(auth.verifyAnswer(sig, 'owned', undefined)).toBe(false);
  });

  it('refuses a short secret at construction', () => {
    expect(() => new PeerAuth('short')).toThrow(/32 bytes/);
  });
});
