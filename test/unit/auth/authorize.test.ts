// Every right check and its one 403 wording: what REST routes, the WebSocket upgrade and subscribe frames refuse.
import { describe, expect, it } from 'vitest';
import {
  authorizeAdmin,
  authorizeProduce,
  authorizeRead,
  authorizeSeeTopic,
  canSeeTopic,
  mayRead,
  originRefused,
  refuseInternalWrite,
} from '../../../src/auth/authorize.js';
import { principalFromClaims } from '../../../src/auth/permissions.js';
import { anonymousPrincipal, type Principal } from '../../../src/auth/principal.js';
import { isGatewayError, type GatewayError } from '../../../src/errors.js';

const p: Principal = principalFromClaims(
  { sub: 'u', exp: 2e9, kafka: { produce: ['orders.*'], consume: ['audit', 'orders.*'], groups: ['g-*'] } },
  { claim: 'kafka', scopePrefix: 'kafka:' },
);
const writer: Principal = principalFromClaims(
  { sub: 'w', exp: 2e9, kafka: { produce: ['logs'] } },
  { claim: 'kafka', scopePrefix: 'kafka:' },
);

/** The 403 `fn` throws (fails the test when it throws nothing or something else). */
function refusal(fn: () => void): GatewayError {
  try {
    fn();
  } catch (e) {
    if (isGatewayError(e)) return e;
    throw e;
  }
  throw new Error('did not throw');
}

function expect403(fn: () => void, message: string): void {
  const e = refusal(fn);
  expect([e.status, e.errorCode, e.message]).toEqual([403, 40301, message]);
}

describe('produce', () => {
  it('allows a granted topic and refuses another in the one wording', () => {
    expect(() => authorizeProduce(p, 'orders.eu')).not.toThrow();
    expect403(() => authorizeProduce(p, 'payments'), "Not authorized to produce to topic 'payments'.");
  });

  it('refuses Kafka’s internal topics to everyone, admins included', () => {
    const message = "Not authorized to produce to topic '__consumer_offsets': it is internal to Kafka.";
    expect403(() => refuseInternalWrite('__consumer_offsets'), message);
    expect403(() => authorizeProduce(anonymousPrincipal, '__consumer_offsets'), message);
    expect(() => refuseInternalWrite('orders')).not.toThrow();
  });

  it('keeps a caller-supplied name short in the message', () => {
    const e = refusal(() => authorizeProduce(p, 'x'.repeat(10_000)));
    expect(e.message.length).toBeLessThan(160);
  });
});

describe('reading (subscriptions: upgrade shortcut, subscribe frames, reauth)', () => {
  it('needs consume on every topic and, for a group, the group right', () => {
    expect(() => authorizeRead(p, { topics: ['audit', 'orders.eu'], group: 'g-1' })).not.toThrow();
    expect403(
      () => authorizeRead(p, { topics: ['audit', 'secret'], group: 'g-1' }),
      "Not authorized to consume from topic 'secret'.",
    );
    expect403(
      () => authorizeRead(p, { topics: ['audit'], group: 'team-b' }),
      "Not authorized to use consumer group 'team-b'.",
    );
  });

  it('names the topic first when both a topic and the group are refused', () => {
    expect403(
      () => authorizeRead(p, { topics: ['secret'], group: 'team-b' }),
      "Not authorized to consume from topic 'secret'.",
    );
  });

  it('mayRead answers the same question without throwing', () => {
    expect(mayRead(p, { topics: ['audit'], group: 'g-2' })).toBe(true);
    expect(mayRead(p, { topics: ['audit'], group: 'x' })).toBe(false);
    expect(mayRead(writer, { topics: ['logs'] })).toBe(false);
  });

  it('refuses internal topics to non-admins even when a glob matches them', () => {
    const greedy = principalFromClaims(
      { sub: 'g', kafka: { consume: ['*'] } },
      { claim: 'kafka', scopePrefix: 'kafka:' },
    );
    expect(mayRead(greedy, { topics: ['anything'] })).toBe(true);
    expect(mayRead(greedy, { topics: ['__consumer_offsets'] })).toBe(false);
    expect(mayRead(anonymousPrincipal, { topics: ['__consumer_offsets'] })).toBe(true);
  });
});

describe('visibility and admin', () => {
  it('sees a topic with either produce or consume on it', () => {
    expect(canSeeTopic(writer, 'logs')).toBe(true);
    expect(canSeeTopic(p, 'audit')).toBe(true);
    expect(canSeeTopic(p, 'payments')).toBe(false);
    expect403(() => authorizeSeeTopic(p, 'payments'), "Not authorized to see topic 'payments'.");
  });

  it('admin operations need the admin right', () => {
    expect(() => authorizeAdmin(anonymousPrincipal)).not.toThrow();
    expect403(() => authorizeAdmin(p), 'Not authorized: this operation needs the admin right.');
  });

  it('an origin refusal is a 403 too', () => {
    const e = originRefused();
    expect([e.status, e.errorCode]).toEqual([403, 40301]);
  });
});
