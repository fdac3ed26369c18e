import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { compileGlob, escapeRegExp, principalFromClaims } from '../../../src/auth/permissions.js';

const globMatches = (glob: string, name: string) => compileGlob(glob).test(name);

const opts = { claim: 'kafka', scopePrefix: 'kafka:' };
const principal = (payload: JWTPayload, o = opts) =>
  principalFromClaims({ sub: 'alice', exp: 1_900_000_000, ...payload }, o);

describe('globs', () => {
  it('`*` matches any run of characters, dots included, and the empty run', () => {
    expect(globMatches('orders.*', 'orders.eu')).toBe(true);
    expect(globMatches('orders.*', 'orders.eu.west.1')).toBe(true);
    expect(globMatches('orders.*', 'orders.')).toBe(true);
    expect(globMatches('orders.*', 'orders')).toBe(false);
    expect(globMatches('*', '')).toBe(true);
    expect(globMatches('*', 'anything.at.all')).toBe(true);
    expect(globMatches('*.dlq', 'billing.orders.dlq')).toBe(true);
    expect(globMatches('a*b*c', 'abc')).toBe(true);
    expect(globMatches('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatches('a*b*c', 'acb')).toBe(false);
    expect(globMatches('a*b*b', 'ab')).toBe(false);
    expect(globMatches('a*b*b', 'abb')).toBe(true);
    expect(globMatches('ab*ba', 'aba')).toBe(false);
    expect(globMatches('a**b', 'axyb')).toBe(true);
  });

  it('is anchored at both ends', () => {
    expect(globMatches('orders', 'orders')).toBe(true);
    expect(globMatches('orders', 'my-orders')).toBe(false);
    expect(globMatches('orders', 'orders-2')).toBe(false);
    expect(globMatches('team-*', 'x-team-a')).toBe(false);
  });

  it('everything but `*` is literal: `.` is a dot, regex characters are escaped', () => {
    expect(globMatches('orders.eu', 'ordersXeu')).toBe(false);
    expect(globMatches('a+b', 'aab')).toBe(false);
    expect(globMatches('a+b', 'a+b')).toBe(true);
    expect(globMatches('x?', 'x')).toBe(false);
    expect(globMatches('(a|b)', 'a')).toBe(false);
    expect(globMatches('(a|b)', '(a|b)')).toBe(true);
    expect(globMatches('[ab]', 'a')).toBe(false);
    expect(globMatches('^a$', '^a$')).toBe(true);
    expect(globMatches('a{2}', 'aa')).toBe(false);
    expect(globMatches('c:\\d', 'c:\\d')).toBe(true);
    expect(globMatches('c:\\d', 'c:1')).toBe(false);
    expect(globMatches('$1/-', '$1/-')).toBe(true);
    const specials = '.+?^${}()|[]\\/-';
    expect(new RegExp(`^${escapeRegExp(specials)}$`).test(specials)).toBe(true);
  });

  it('`*` spans newlines (group ids are arbitrary strings)', () => {
    expect(globMatches('g-*', 'g-a\nb')).toBe(true);
  });

  it('compiled patterns are cached', () => {
    expect(compileGlob('cache.me.*')).toBe(compileGlob('cache.me.*'));
  });

  it('many stars against a long near-miss name stays fast (no catastrophic backtracking)', () => {
    const glob = 'a*a*a*a*a*a*a*a*b';
    const name = 'a'.repeat(50_000);
    const started = performance.now();
    expect(globMatches(glob, name)).toBe(false);
    expect(globMatches(glob, `${name}b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('claim form', () => {
  it('grants produce, consume and groups by glob', () => {
    const p = principal({ kafka: { produce: ['orders.*'], consume: ['audit', 'orders.*'], groups: ['team-a-*'] } });
    expect(p.can('produce', 'orders.eu')).toBe(true);
    expect(p.can('produce', 'audit')).toBe(false);
    expect(p.can('consume', 'audit')).toBe(true);
    expect(p.can('group', 'team-a-billing')).toBe(true);
    expect(p.can('group', 'team-b-billing')).toBe(false);
    expect(p.admin).toBe(false);
  });

  it('honours AUTH_CLAIM', () => {
    const p = principal({ perms: { produce: ['x'] }, kafka: { produce: ['y'] } }, { ...opts, claim: 'perms' });
    expect(p.can('produce', 'x')).toBe(true);
    expect(p.can('produce', 'y')).toBe(false);
  });
});

describe('scope form', () => {
  it('grants from prefixed scope entries and ignores the others', () => {
    const p = principal({
      scope: 'openid profile kafka:produce:orders.* kafka:consume:x kafka:group:team-a-* produce:y',
    });
    expect(p.can('produce', 'orders.1')).toBe(true);
    expect(p.can('consume', 'x')).toBe(true);
    expect(p.can('group', 'team-a-1')).toBe(true);
    expect(p.can('produce', 'y')).toBe(false);
    expect(p.admin).toBe(false);
  });

  it('kafka:admin grants admin; unknown rights and empty globs grant nothing', () => {
    expect(principal({ scope: 'kafka:admin' }).admin).toBe(true);
    const p = principal({ scope: 'kafka:delete:* kafka:produce: kafka:admin:yes kafka:groups:x kafka:constructor:x' });
    expect(p.admin).toBe(false);
    for (const right of ['produce', 'consume', 'group'] as const) expect(p.can(right, 'x')).toBe(false);
  });

  it('a group glob may contain ":" (split at the first one only)', () => {
    expect(principal({ scope: 'kafka:group:app:v2:*' }).can('group', 'app:v2:blue')).toBe(true);
  });

  it('honours AUTH_SCOPE_PREFIX, including an empty one', () => {
    expect(principal({ scope: 'gw/produce:t' }, { ...opts, scopePrefix: 'gw/' }).can('produce', 't')).toBe(true);
    expect(principal({ scope: 'produce:t' }, { ...opts, scopePrefix: '' }).can('produce', 't')).toBe(true);
  });

  it('accepts an array of scope strings', () => {
    expect(principal({ scope: ['kafka:produce:t'] } as JWTPayload).can('produce', 't')).toBe(true);
  });
});

describe('both forms add up', () => {
  it('rights from the claim and the scope are combined', () => {
    const p = principal({ kafka: { produce: ['a'] }, scope: 'kafka:produce:b kafka:consume:c' });
    expect(p.can('produce', 'a')).toBe(true);
    expect(p.can('produce', 'b')).toBe(true);
    expect(p.can('consume', 'c')).toBe(true);
    expect(p.can('consume', 'a')).toBe(false);
  });

  it('admin from either form', () => {
    expect(principal({ kafka: { admin: true }, scope: 'kafka:produce:b' }).admin).toBe(true);
    expect(principal({ kafka: { produce: ['a'] }, scope: 'kafka:admin' }).admin).toBe(true);
  });
});

describe('internal topics (`__*`)', () => {
  it('are refused to non-admins whatever the globs say', () => {
    const p = principal({ kafka: { produce: ['*'], consume: ['__consumer_offsets', '__*'] } });
    expect(p.can('produce', '__consumer_offsets')).toBe(false);
    expect(p.can('consume', '__consumer_offsets')).toBe(false);
    expect(p.can('consume', '__transaction_state')).toBe(false);
    expect(p.can('produce', '_single_underscore')).toBe(true);
  });

  it('are allowed to admins', () => {
    const p = principal({ kafka: { admin: true } });
    expect(p.can('consume', '__consumer_offsets')).toBe(true);
    expect(p.can('produce', '__anything')).toBe(true);
  });

  it('do not restrict group ids', () => {
    expect(principal({ kafka: { groups: ['*'] } }).can('group', '__g')).toBe(true);
  });
});

describe('admin implies every right', () => {
  it('without any glob', () => {
    const p = principal({ scope: 'kafka:admin' });
    for (const right of ['produce', 'consume', 'group'] as const) expect(p.can(right, 'whatever')).toBe(true);
  });
});

describe('malformed claims grant nothing and never throw', () => {
  const malformed: unknown[] = [
    'produce',
    42,
    null,
    true,
    ['orders.*'],
    { produce: 'orders.*' },
    { produce: [1, 2] },
    { produce: ['ok', { nested: true }] },
    { produce: [''] },
    { admin: 'true' },
    { admin: 1 },
    { produce: ['ok'], admin: 'yes' }, // one bad field spoils the whole claim
  ];
  for (const value of malformed) {
    it(`claim = ${JSON.stringify(value)}`, () => {
      const p = principal({ kafka: value } as JWTPayload);
      expect(p.admin).toBe(false);
      for (const right of ['produce', 'consume', 'group'] as const) {
        expect(p.can(right, 'ok')).toBe(false);
        expect(p.can(right, 'orders.x')).toBe(false);
      }
    });
  }

  it('a non-string scope grants nothing', () => {
    for (const scope of [42, { produce: ['*'] }, [1, 'kafka:admin'], null])
      expect(principal({ scope } as unknown as JWTPayload).admin).toBe(false);
  });

  it('a claim object with extra keys still works (forward compatible)', () => {
    expect(principal({ kafka: { produce: ['t'], future: 1 } }).can('produce', 't')).toBe(true);
  });

  it('a non-string name is refused rather than thrown on', () => {
    const p = principal({ kafka: { produce: ['*'] } });
    expect(p.can('produce', 42 as unknown as string)).toBe(false);
  });
});

describe('identity', () => {
  it('sub and expiresAt = exp * 1000', () => {
    const p = principal({});
    expect(p.sub).toBe('alice');
    expect(p.expiresAt).toBe(1_900_000_000_000);
  });

  it('the principal is frozen', () => {
    const p = principal({});
    expect(Object.isFrozen(p)).toBe(true);
  });
});
