// The one check behind a `subscribe` frame and the upgrade's URL shortcut: rights, then Kafka, then existence.
import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../../../../src/auth/permissions.js';
import { isGatewayError } from '../../../../src/errors.js';
import type { SubscribeFrame } from '../../../../src/ws/protocol.js';
import { checkReadable } from '../../../../src/ws/subscriptions/types.js';

const caller = principalFromClaims(
  { sub: 'c', kafka: { consume: ['orders', 'secret-*'], groups: ['billing'] } },
  { claim: 'kafka', scopePrefix: 'kafka:' },
);
const partitions: Record<string, number> = { orders: 3 };
const lookups: string[] = [];
const kafka = (up = true) => ({
  kafkaUp: () => up,
  metadata: {
    topic: async (t: string) => {
      lookups.push(t);
      return t in partitions ? { partitions: partitions[t]!, maxMessageBytes: 1_048_588 } : undefined;
    },
  },
});

async function refusal(frame: SubscribeFrame, up = true): Promise<[number, number, string] | 'ok'> {
  lookups.length = 0;
  try {
    await checkReadable(frame, caller, kafka(up));
    return 'ok';
  } catch (e) {
    if (!isGatewayError(e)) throw e;
    return [e.status, e.errorCode, e.message];
  }
}

const group = (topics: string[], g = 'billing'): SubscribeFrame => ({
  type: 'subscribe',
  id: 's',
  mode: 'group',
  group: g,
  topics,
});
const assign = (tps: Array<[string, number]>): SubscribeFrame => ({
  type: 'subscribe',
  id: 's',
  mode: 'assign',
  partitions: tps.map(([topic, partition]) => ({ topic, partition })),
});

describe('checkReadable', () => {
  it('passes a readable, existing subscription', async () => {
    expect(await refusal(group(['orders']))).toBe('ok');
    expect(await refusal(assign([['orders', 2]]))).toBe('ok');
  });

  it('refuses rights before it looks anything up, so a forbidden caller learns nothing about existence', async () => {
    expect(await refusal(group(['payroll']))).toEqual([403, 40301, "Not authorized to consume from topic 'payroll'."]);
    expect(await refusal(group(['orders'], 'other'))).toEqual([
      403,
      40301,
      "Not authorized to use consumer group 'other'.",
    ]);
    expect(lookups).toEqual([]);
  });

  it('says Kafka is unreachable before it says a topic is missing', async () => {
    expect(await refusal(group(['secret-x']), false)).toEqual([503, 50302, 'No Kafka broker is reachable.']);
  });

  it('names a missing topic, then a missing partition', async () => {
    expect(await refusal(group(['secret-x']))).toEqual([404, 40401, "Topic 'secret-x' not found."]);
    expect(await refusal(assign([['orders', 3]]))).toEqual([404, 40402, "Partition 3 of topic 'orders' not found."]);
  });
});
