import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GatewayError } from '../../../src/errors.js';
import {
  clientFrameSchema,
  parseClientFrame,
  parseFrom,
  parseShortcut,
  SUBPROTOCOL,
  selectSubprotocol,
  serverFrameSchema,
} from '../../../src/ws/protocol.js';

const sc = (q: string) => parseShortcut(new URLSearchParams(q));
const bad = (q: string) => {
  try {
    sc(q);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).status).toBe(400);
    return (e as GatewayError).message;
  }
  throw new Error(`expected '${q}' to be refused`);
};

describe('client frames', () => {
  it('accepts every frame of docs/websocket.md', () => {
    const frames = [
      {
        type: 'subscribe',
        id: 's1',
        mode: 'group',
        topics: ['orders'],
        group: 'billing',
        from: 'earliest',
        format: 'json',
        ack: 'manual',
        window: 500,
      },
      {
        type: 'subscribe',
        id: 's2',
        mode: 'assign',
        partitions: [{ topic: 'orders', partition: 0 }],
        from: { offset: 120 },
      },
      {
        type: 'subscribe',
        id: 's2',
        mode: 'assign',
        partitions: [{ topic: 'orders', partition: 0 }],
        from: { timestamp: 1732550000000 },
      },
      {
        type: 'subscribe',
        id: 's2',
        mode: 'assign',
        partitions: [{ topic: 'orders', partition: 0 }],
        from: 'earliest',
      },
      {
        type: 'subscribe',
        id: 's5',
        mode: 'group',
        topics: ['orders'],
        group: 'billing',
        ack: 'manual',
        batch: { maxRecords: 500 },
      },
      {
        type: 'subscribe',
        id: 's6',
        mode: 'assign',
        partitions: [{ topic: 'orders', partition: 0 }],
        batch: { maxRecords: 1 },
      },
      { type: 'subscribe', id: 's3', mode: 'broadcast', topics: ['prices'], filter: { keyPrefix: 'EUR' } },
      { type: 'subscribe', id: 's3', mode: 'broadcast', topics: ['prices'], filter: { key: 'EURUSD' } },
      { type: 'ack', id: 's1', topic: 'orders', partition: 0, offset: 41 },
      { type: 'unsubscribe', id: 's1' },
      { type: 'pause', id: 's1' },
      { type: 'resume', id: 's1' },
      { type: 'reauth', token: 'a.b.c' },
      { type: 'ping' },
    ];
    for (const f of frames) expect(parseClientFrame(JSON.stringify(f))).toEqual({ ok: true, frame: f });
  });

  it.each([
    ['not json', '{', /not valid JSON/],
    ['no type', '{}', /type/],
    ['unknown type', '{"type":"nope"}', /type/],
    ['unknown mode', '{"type":"subscribe","id":"a","mode":"x","topics":["t"]}', /mode/],
    ['unknown field', '{"type":"ping","extra":1}', /unknown field.*extra/],
    ['misspelled field', '{"type":"subscribe","id":"a","mode":"broadcast","topic":["t"]}', /topic/],
    ['illegal topic', '{"type":"subscribe","id":"a","mode":"broadcast","topics":["a b"]}', /topics\.0/],
    ['negative offset', '{"type":"ack","id":"a","topic":"t","partition":0,"offset":-1}', /offset/],
    ['fractional partition', '{"type":"ack","id":"a","topic":"t","partition":0.5,"offset":1}', /partition/],
    ['window 0', '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"window":0}', /window/],
    [
      'group from offset',
      '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"from":{"offset":1}}',
      /from/,
    ],
    [
      'batch of 0',
      '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"batch":{"maxRecords":0}}',
      /batch\.maxRecords/,
    ],
    [
      'batch over the limit',
      '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"batch":{"maxRecords":10001}}',
      /batch\.maxRecords/,
    ],
    ['batch as a number', '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"batch":5}', /batch/],
    [
      'batch unknown field',
      '{"type":"subscribe","id":"a","mode":"group","group":"g","topics":["t"],"batch":{"max":5}}',
      /batch|max/,
    ],
    [
      'batch on broadcast',
      '{"type":"subscribe","id":"a","mode":"broadcast","topics":["t"],"batch":{"maxRecords":5}}',
      /batch/,
    ],
    ['empty id', '{"type":"pause","id":""}', /id/],
    ['array', '[]', /frame|type/],
  ])('refuses %s', (_name, text, message) => {
    const r = parseClientFrame(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('keeps the id of an invalid frame for the error frame', () => {
    const r = parseClientFrame('{"type":"subscribe","id":"s9","mode":"group","topics":["t"]}');
    expect(r).toMatchObject({ ok: false, id: 's9' });
  });

  it('exports JSON Schemas for an AsyncAPI document', () => {
    expect(z.toJSONSchema(clientFrameSchema)).toHaveProperty('oneOf');
    expect(z.toJSONSchema(serverFrameSchema, { unrepresentable: 'any' })).toHaveProperty('oneOf');
  });
});

describe('URL shortcut', () => {
  it('no topic → no subscription', () => {
    expect(sc('')).toBeUndefined();
    expect(sc('access_token=x')).toBeUndefined();
  });

  it('topic only → broadcast with defaults, id "0"', () => {
    expect(sc('topic=test-topic1')).toEqual({ type: 'subscribe', id: '0', mode: 'broadcast', topics: ['test-topic1'] });
    expect(sc('topic=a,b&format=string&keyPrefix=EU')).toEqual({
      type: 'subscribe',
      id: '0',
      mode: 'broadcast',
      topics: ['a', 'b'],
      format: 'string',
      filter: { keyPrefix: 'EU' },
    });
  });

  it('group → group mode', () => {
    expect(sc('topic=t&group=g&from=earliest&ack=manual&window=10')).toEqual({
      type: 'subscribe',
      id: '0',
      mode: 'group',
      topics: ['t'],
      group: 'g',
      from: 'earliest',
      ack: 'manual',
      window: 10,
    });
  });

  it('partition → assign mode with every form of from', () => {
    const base = {
      type: 'subscribe',
      id: '0',
      mode: 'assign',
      partitions: [
        { topic: 't', partition: 0 },
        { topic: 't', partition: 2 },
      ],
    };
    expect(sc('topic=t&partition=0,2')).toEqual(base);
    expect(sc('topic=t&partition=0,2&from=123')).toEqual({ ...base, from: { offset: 123 } });
    expect(sc('topic=t&partition=0,2&from=@1732550000000')).toEqual({ ...base, from: { timestamp: 1732550000000 } });
    expect(sc('topic=t&partition=0,2&from=@2026-11-25T10:00:00Z')).toEqual({
      ...base,
      from: { timestamp: Date.parse('2026-11-25T10:00:00Z') },
    });
    expect(sc('topic=t&partition=0,2&from=latest')).toEqual({ ...base, from: 'latest' });
  });

  it.each([
    ['group=g', /needs 'topic'/],
    ['topic=t&group=g&partition=0', /either 'group' or 'partition'/],
    ['topic=a,b&partition=0', /exactly one topic/],
    ['topic=t&partition=x', /not a partition number/],
    ['topic=t&partition=0,0', /twice/],
    ['topic=t&from=earliest', /'from' needs/],
    ['topic=t&group=g&from=123', /from/],
    ['topic=t&partition=0&from=@yesterday', /not earliest/],
    ['topic=t&format=xml', /format/],
    ['topic=t&ack=sometimes', /ack/],
    ['topic=t&foo=1', /Unknown query parameter 'foo'/],
    ['topic=t&topic=u', /more than once/],
    ['topic=bad%20name', /topics/],
    ['topic=t&key=a&keyPrefix=b', /either 'key' or 'keyPrefix'/],
    ['topic=t&group=g&key=a', /broadcast subscriptions only/],
    ['topic=t&group=g&window=0', /window/],
  ])('refuses %s with 400', (q, message) => {
    expect(bad(q)).toMatch(message);
  });

  it('parseFrom', () => {
    expect(parseFrom('earliest')).toBe('earliest');
    expect(parseFrom('0')).toEqual({ offset: 0 });
    expect(() => parseFrom('-1')).toThrow(GatewayError);
    expect(() => parseFrom('@')).toThrow(GatewayError);
  });
});

describe('selectSubprotocol (ws handleProtocols)', () => {
  it('selects kgw.v1 when offered and never echoes the bearer.<jwt> entry', () => {
    expect(selectSubprotocol(new Set(['bearer.secret.jwt', 'kgw.v1']))).toBe(SUBPROTOCOL);
    expect(selectSubprotocol(new Set(['kgw.v1']))).toBe('kgw.v1');
  });

  it('refuses when kgw.v1 is not among the offered', () => {
    expect(selectSubprotocol(new Set(['bearer.secret.jwt']))).toBe(false);
    expect(selectSubprotocol(new Set(['chat']))).toBe(false);
  });
});
