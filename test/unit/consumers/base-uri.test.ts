// base_uri: the URL the client used, X-Forwarded-* only with TRUST_PROXY, PUBLIC_BASE_URL over everything, and a
// Host that is not a host name never repeated back.
import { describe, expect, it } from 'vitest';
import { baseUri } from '../../../src/consumers/base-uri.js';

const req = (url: string, headers: Record<string, string>) => ({ url, header: (n: string) => headers[n] });
const off = { PUBLIC_BASE_URL: undefined, TRUST_PROXY: false };

describe('baseUri', () => {
  it('is built from the scheme and Host the client used', () => {
    expect(baseUri(off, req('http://10.0.0.7:8080/consumers/g', { host: 'kafka.example.com' }), 'g', 'c')).toBe(
      'http://kafka.example.com/consumers/g/instances/c',
    );
  });

  it('encodes group and name', () => {
    expect(baseUri(off, req('http://h/x', { host: 'h' }), 'a b/c', 'n')).toBe(
      'http://h/consumers/a%20b%2Fc/instances/n',
    );
  });

  it('ignores X-Forwarded-* unless TRUST_PROXY', () => {
    const r = req('http://h/x', { host: 'h', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
    expect(baseUri(off, r, 'g', 'c')).toBe('http://h/consumers/g/instances/c');
    expect(baseUri({ ...off, TRUST_PROXY: true }, r, 'g', 'c')).toBe('https://evil.example/consumers/g/instances/c');
  });

  it('takes the first X-Forwarded value and refuses what is not a host', () => {
    const r = req('http://h/x', {
      host: 'h',
      'x-forwarded-proto': 'https, http',
      'x-forwarded-host': 'a.example, b.example',
    });
    expect(baseUri({ ...off, TRUST_PROXY: true }, r, 'g', 'c')).toBe('https://a.example/consumers/g/instances/c');
    const bad = req('http://h:1/x', { host: 'x@evil/', 'x-forwarded-host': 'a b' });
    expect(baseUri({ ...off, TRUST_PROXY: true }, bad, 'g', 'c')).toBe('http://h:1/consumers/g/instances/c');
  });

  it('PUBLIC_BASE_URL wins', () => {
    const r = req('http://h/x', { host: 'h', 'x-forwarded-host': 'p.example' });
    expect(baseUri({ PUBLIC_BASE_URL: 'https://api.example.org/kafka', TRUST_PROXY: true }, r, 'g', 'c')).toBe(
      'https://api.example.org/kafka/consumers/g/instances/c',
    );
  });
});
