// When a group/assign subscription lets its Kafka session wait inside a fetched batch (RecordSink.roomSoon): only for
// a full ack window, which the client's next ack frees; never for a socket over its high water (or held by the send
// budget), which may not read again and would keep the whole fetch response alive meanwhile.
import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../../../../src/auth/permissions.js';
import type { AssignSession, ConsumedRecord, Consumers, RecordSink } from '../../../../src/kafka/index.js';
import type { Logger } from '../../../../src/observability/logger.js';
import type { FrameSource } from '../../../../src/ws/frames.js';
import type { SubscribeAssign } from '../../../../src/ws/protocol.js';
import { AssignSubscription } from '../../../../src/ws/subscriptions/assign.js';
import type { SocketPort } from '../../../../src/ws/subscriptions/types.js';

const record = (offset: number): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset,
  timestamp: 0,
  key: null,
  value: Buffer.from('v'),
  headers: [],
});

async function started(frame: Partial<SubscribeAssign>) {
  let sink: RecordSink | undefined;
  const session: AssignSession = {
    assignment: [{ topic: 't', partition: 0 }],
    positions: [{ topic: 't', partition: 0, offset: 0 }],
    paused: false,
    pause() {},
    resume() {},
    close: async () => {},
  };
  const consumers = {
    assign: async (_opts: unknown, s: RecordSink) => {
      sink = s;
      return session;
    },
  } as unknown as Consumers;
  const port = {
    sent: [] as string[],
    over: false as boolean,
    open: true,
    send(frame: string | FrameSource) {
      this.sent.push(typeof frame === 'string' ? frame : frame.text());
    },
    sendLossless() {},
    failed() {},
    logger: {} as Logger,
  } satisfies SocketPort & { sent: string[] };
  const sub = new AssignSubscription(
    {
      consumers,
      metadata: { topic: async () => ({ partitions: 1, maxMessageBytes: 1_048_588 }) },
      kafkaUp: () => true,
      principal: () =>
        principalFromClaims({ sub: 'c', kafka: { consume: ['t'] } }, { claim: 'kafka', scopePrefix: 'kafka:' }),
      port,
    },
    { type: 'subscribe', id: 's', mode: 'assign', partitions: [{ topic: 't', partition: 0 }], ...frame },
  );
  await sub.start();
  if (!sink?.roomSoon) throw new Error('the subscription handed its session no roomSoon');
  return { sink, port, sub };
}

describe('PumpedSubscription: waiting for room inside a fetched batch', () => {
  it('a full ack window refuses records, and room is near: the client acks', async () => {
    const { sink, sub } = await started({ ack: 'manual', window: 2 });
    expect(sink.onRecord(record(0))).toBe(true);
    expect(sink.onRecord(record(1))).toBe(true);
    expect(sink.onRecord(record(2))).toBe(false);
    expect(sink.roomSoon!()).toBe(true);
    sub.ack({ type: 'ack', id: 's', topic: 't', partition: 0, offset: 1 });
    expect(sink.onRecord(record(2))).toBe(true);
  });

  it('a socket over its high water refuses records, and room is not near: the session lets go of its batch', async () => {
    const { sink, port } = await started({ ack: 'manual', window: 100 });
    expect(sink.onRecord(record(0))).toBe(true);
    port.over = true;
    expect(sink.onRecord(record(1))).toBe(false);
    expect(sink.roomSoon!()).toBe(false);
    port.over = false;
    expect(sink.roomSoon!()).toBe(true);
    expect(sink.onRecord(record(1))).toBe(true);
  });
});
