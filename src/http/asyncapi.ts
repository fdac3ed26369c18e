/**
 * The AsyncAPI 3 document of the `/ws` protocol (kgw.v1), built from the zod schemas in src/ws/protocol.ts:
 * every frame's payload schema is `z.toJSONSchema()` of the schema the gateway itself validates (client frames)
 * or builds (server frames) with. What zod cannot carry — a description and examples for every message and field,
 * the close codes, the URL shortcut — is kept here, and building throws when the two drift apart (a field without
 * a description, a description of a field that no longer exists, an example the schema refuses, a close code
 * without an entry). `npm run asyncapi` writes openapi/asyncapi.yaml from this; the gateway serves the same
 * document at /asyncapi.yaml; test/unit/asyncapi.test.ts keeps the checked-in file in step and validates it.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { CLOSE_REASONS, CloseCodes, type CloseCode } from '../ws/close-codes.js';
import {
  CONTROL_FRAME_LIMIT,
  CONTROL_FRAME_WINDOW_MS,
  SUBSCRIBE_LIMIT,
  SUBSCRIBE_WINDOW_MS,
} from '../ws/frame-rate.js';
import {
  DEFAULTS,
  LIMITS,
  SHORTCUT_ID,
  SUBPROTOCOL,
  ackFrameSchema,
  assignmentFrameSchema,
  errorFrameSchema,
  pauseSchema,
  pingSchema,
  pongFrameSchema,
  reauthSchema,
  recordFrameSchema,
  resumeSchema,
  subscribeSchema,
  subscribedFrameSchema,
  unsubscribeSchema,
  type WsErrorCode,
} from '../ws/protocol.js';

export const ASYNCAPI_VERSION = '3.0.0';
const WS_BINDING_VERSION = '0.1.0';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

interface Example {
  name: string;
  summary: string;
  payload: Record<string, unknown>;
}

interface MessageSpec {
  /** Client → gateway (the gateway receives) or gateway → client (the gateway sends). */
  direction: 'receive' | 'send';
  schema: z.ZodType;
  title: string;
  summary: string;
  description: string;
  /**
   * Field descriptions by path: `topics`, `topics[]`, `partitions[].topic`, `from.offset`. For a message that is
   * a union over `mode`, `<mode>:<path>` overrides `<path>` in that variant. `type` is described automatically.
   */
  fields: Record<string, string>;
  examples: Example[];
  /** What the gateway answers with (AsyncAPI operation reply). */
  reply?: string[];
}

// ---- The messages ---------------------------------------------------------------------------------------

const FORMATS =
  '`json`: key and value parsed as JSON (a key or value that is not valid JSON arrives as a JSON string, never dropped); ' +
  '`string`: UTF-8 text; `base64`: the raw bytes in base64. A null key or value stays `null`.';

const tp = { topic: 'orders', partition: 0 };

export const ERROR_CODE_MEANINGS: Readonly<Record<WsErrorCode, string>> = {
  BAD_MESSAGE:
    'The frame is not valid JSON, has an unknown type or field, or a value out of range (counts toward close 4400).',
  UNKNOWN_TOPIC: 'A topic of the subscription does not exist (topics are never created by subscribing).',
  UNKNOWN_PARTITION: 'An assign subscription names a partition the topic does not have.',
  FORBIDDEN: "The caller's token does not allow consuming the topic or using the group, or a `reauth` was refused.",
  TOO_MANY_SUBSCRIPTIONS: 'The socket already holds WS_MAX_SUBSCRIPTIONS subscriptions (default 16).',
  DUPLICATE_ID: 'A subscription with this id is open on this socket already.',
  UNKNOWN_SUBSCRIPTION: '`ack`, `pause`, `resume` or `unsubscribe` named an id this socket has no subscription for.',
  KAFKA_UNAVAILABLE:
    'Kafka could not be reached, or the subscription failed in Kafka; it has ended. Subscribe again later.',
  INTERNAL: 'An unexpected error in the gateway (details are in its log, never in the frame).',
};

const ERROR_EXAMPLES: Readonly<Record<WsErrorCode, { id?: string; message: string }>> = {
  BAD_MESSAGE: { id: 's1', message: 'Invalid frame: window: Too big: expected number to be <=100000' },
  UNKNOWN_TOPIC: { id: 's1', message: "Topic 'orders' not found." },
  UNKNOWN_PARTITION: { id: 's2', message: "Partition 7 of topic 'orders' not found." },
  FORBIDDEN: { id: 's1', message: "Not authorized to consume from topic 'payroll'." },
  TOO_MANY_SUBSCRIPTIONS: { id: 's17', message: 'At most 16 subscriptions per socket.' },
  DUPLICATE_ID: { id: 's1', message: "Subscription 's1' exists already." },
  UNKNOWN_SUBSCRIPTION: { id: 's9', message: "No subscription 's9'." },
  KAFKA_UNAVAILABLE: { id: 's1', message: 'No Kafka broker is reachable.' },
  INTERNAL: { message: 'Internal error.' },
};

const MESSAGES: Record<string, MessageSpec> = {
  subscribe: {
    direction: 'receive',
    schema: subscribeSchema,
    title: 'Subscribe',
    summary: 'Open a subscription on this socket: group, assign or broadcast mode.',
    description:
      'Answered with `subscribed` (or an `error` frame with the same id and no subscription; the socket stays open). ' +
      '**group**: a Kafka consumer group member; partitions are shared among every socket (and service) using the group, ' +
      'offsets are committed on ack. **assign**: chosen partitions from a chosen position; nothing is committed. ' +
      '**broadcast**: every socket sees every new record of the topics (one shared reader per topic in the gateway); ' +
      'records produced after the `subscribed` frame are delivered, nothing is committed, and a socket that cannot keep up is closed with 4408. ' +
      `Client frames are strict: an unknown or misspelled field is a BAD_MESSAGE. Defaults: format \`${DEFAULTS.format}\`, ack \`${DEFAULTS.ack}\`, window ${DEFAULTS.window}, from \`${DEFAULTS.from}\`.`,
    fields: {
      id: `The subscription's id, chosen by the client (1–${LIMITS.idLength} characters, unique on the socket); every frame about this subscription carries it.`,
      mode: '`group`, `assign` or `broadcast` (selects the variant).',
      topics: `The topics to read (1–${LIMITS.topicsPerSubscription}).`,
      'topics[]':
        'A topic name (legal Kafka name: 1–249 of `a-z A-Z 0-9 . _ -`). It must exist and be allowed for the caller.',
      group: `The consumer group id (1–${LIMITS.groupLength} characters, no control characters). It must be allowed for the caller.`,
      'group:from':
        'Where the group starts on partitions it has never committed: `earliest` or `latest` (default). Committed offsets always win.',
      'assign:from':
        'Where to start reading every listed partition: `earliest`, `latest` (default: new records only), `{"offset": n}` (clamped to what the partition holds), or `{"timestamp": ms}` (the first record at or after that epoch-ms time).',
      'from.offset': 'Start at this offset.',
      'from.timestamp': 'Start at the first record whose timestamp is at or after this time (epoch milliseconds).',
      partitions: `The partitions to read (1–${LIMITS.partitionsPerSubscription}).`,
      'partitions[]': 'One topic partition.',
      'partitions[].topic': 'Topic name.',
      'partitions[].partition': 'Partition number (0-based).',
      format: `How keys and values are encoded in \`record\` frames (default \`${DEFAULTS.format}\`). ${FORMATS}`,
      ack:
        `\`auto\` (default): the gateway treats a record as processed once its frame was written to the socket. ` +
        '`manual`: the client sends `ack` frames; in group mode the gateway commits only acknowledged offsets, so unacknowledged records are delivered again after a reconnect or rebalance. Broadcast accepts and ignores it.',
      window: `The most delivered-but-unacknowledged records in flight (1–${LIMITS.maxWindow}, default ${DEFAULTS.window}); the gateway stops reading from Kafka while the window is full. Broadcast accepts and ignores it.`,
      filter:
        'Broadcast only: deliver only records whose key (its raw bytes, compared as UTF-8) equals `key` or starts with `keyPrefix`. Records with a null key never match.',
      'filter.key': `The exact key (up to ${LIMITS.filterLength} characters).`,
      'filter.keyPrefix': `The key prefix (up to ${LIMITS.filterLength} characters).`,
    },
    examples: [
      {
        name: 'group-manual-ack',
        summary: 'Join consumer group "billing" on topic "orders", starting from the beginning, with manual acks.',
        payload: {
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
      },
      {
        name: 'assign-offset',
        summary: 'Read partition 0 of "orders" from offset 120.',
        payload: { type: 'subscribe', id: 's2', mode: 'assign', partitions: [tp], from: { offset: 120 } },
      },
      {
        name: 'assign-timestamp',
        summary: 'Read partitions 0 and 1 of "orders" from a point in time, values as base64.',
        payload: {
          type: 'subscribe',
          id: 's4',
          mode: 'assign',
          partitions: [tp, { topic: 'orders', partition: 1 }],
          from: { timestamp: 1732550000000 },
          format: 'base64',
        },
      },
      {
        name: 'assign-earliest',
        summary: 'Read partition 2 of "orders" from the beginning.',
        payload: {
          type: 'subscribe',
          id: 's5',
          mode: 'assign',
          partitions: [{ topic: 'orders', partition: 2 }],
          from: 'earliest',
        },
      },
      {
        name: 'broadcast-prefix',
        summary: 'Live view of "prices", only keys starting with EUR.',
        payload: { type: 'subscribe', id: 's3', mode: 'broadcast', topics: ['prices'], filter: { keyPrefix: 'EUR' } },
      },
      {
        name: 'broadcast-key',
        summary: 'Live view of two topics, only key EURUSD, as text.',
        payload: {
          type: 'subscribe',
          id: 's6',
          mode: 'broadcast',
          topics: ['prices', 'quotes'],
          format: 'string',
          filter: { key: 'EURUSD' },
        },
      },
    ],
    reply: ['subscribed', 'error'],
  },
  ack: {
    direction: 'receive',
    schema: ackFrameSchema,
    title: 'Acknowledge',
    summary: 'Manual ack: the last record processed on one partition (cumulative).',
    description:
      'Names the **last record processed** on a partition; every earlier record of that partition counts as processed too. ' +
      "In group mode the gateway commits `offset + 1` (Kafka's convention). Acking an offset that was never delivered is a BAD_MESSAGE; " +
      'acking a partition that a rebalance has revoked meanwhile is ignored (its new owner reads from the last commit). Ignored with `ack: auto` and in broadcast mode.',
    fields: {
      id: 'The subscription the record came from.',
      topic: "The record's topic.",
      partition: "The record's partition.",
      offset: "The record's offset (the gateway commits offset + 1).",
    },
    examples: [
      {
        name: 'ack',
        summary: 'Records up to offset 41 of orders/0 are processed.',
        payload: { type: 'ack', id: 's1', topic: 'orders', partition: 0, offset: 41 },
      },
    ],
  },
  unsubscribe: {
    direction: 'receive',
    schema: unsubscribeSchema,
    title: 'Unsubscribe',
    summary: 'End a subscription (acknowledged offsets are committed; a group member leaves its group).',
    description: 'No answer frame; records of the subscription already in flight may still arrive.',
    fields: { id: 'The subscription to end.' },
    examples: [{ name: 'unsubscribe', summary: 'End subscription s1.', payload: { type: 'unsubscribe', id: 's1' } }],
  },
  pause: {
    direction: 'receive',
    schema: pauseSchema,
    title: 'Pause',
    summary: 'Stop delivery of one subscription until `resume`.',
    description:
      'Group and assign: the gateway stops reading those partitions; nothing is lost, delivery continues where it stopped on `resume`. ' +
      'Broadcast: records produced while paused are skipped (a live view). No answer frame: send `ping` after it and wait for `pong` to know it took effect.',
    fields: { id: 'The subscription to pause.' },
    examples: [{ name: 'pause', summary: 'Pause subscription s1.', payload: { type: 'pause', id: 's1' } }],
  },
  resume: {
    direction: 'receive',
    schema: resumeSchema,
    title: 'Resume',
    summary: 'Resume delivery of a paused subscription.',
    description: 'No answer frame.',
    fields: { id: 'The subscription to resume.' },
    examples: [{ name: 'resume', summary: 'Resume subscription s1.', payload: { type: 'resume', id: 's1' } }],
  },
  reauth: {
    direction: 'receive',
    schema: reauthSchema,
    title: 'Re-authenticate',
    summary: 'Hand over a fresh token before the current one expires.',
    description:
      "Without it the socket is closed with 4401 when the token's `exp` passes. The new token must be for the same subject; " +
      'if it no longer allows an open subscription, the socket is closed with 4403. A refused token gets an `error` frame (FORBIDDEN) and the old token stays in force. A no-op when authentication is off.',
    fields: { token: `The new JWT (up to ${LIMITS.tokenLength} characters).` },
    examples: [
      {
        name: 'reauth',
        summary: 'A fresh token for the same subject.',
        payload: { type: 'reauth', token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' },
      },
    ],
  },
  ping: {
    direction: 'receive',
    schema: pingSchema,
    title: 'Ping',
    summary: 'Application-level ping; the gateway answers `pong`.',
    description:
      'Frames are handled in order, so a `pong` also means every earlier frame of this socket was handled. (The gateway also sends WebSocket protocol pings every WS_PING_INTERVAL_MS; clients answer those automatically.)',
    fields: {},
    examples: [{ name: 'ping', summary: 'Ping.', payload: { type: 'ping' } }],
    reply: ['pong'],
  },
  subscribed: {
    direction: 'send',
    schema: subscribedFrameSchema,
    title: 'Subscribed',
    summary: 'A subscription is open; records follow.',
    description: `The answer to \`subscribe\` (and to the URL shortcut, whose subscription has id \`"${SHORTCUT_ID}"\`). For broadcast and assign, the reading positions are fixed before this frame is sent.`,
    fields: {
      id: 'The subscription id from the `subscribe` frame.',
      mode: 'The subscription mode.',
      assignment:
        'group: the partitions this member owns now (empty = idle: the group has more members than partitions; `assignment` frames follow on rebalances). assign and broadcast: the partitions read.',
      'assignment[]': 'One topic partition.',
      'assignment[].topic': 'Topic name.',
      'assignment[].partition': 'Partition number.',
      positions:
        'assign and broadcast (extension of the contract): the first offset that will be read from each partition.',
      'positions[]': 'One partition and its starting offset.',
      'positions[].topic': 'Topic name.',
      'positions[].partition': 'Partition number.',
      'positions[].offset': 'The first offset read from this partition.',
    },
    examples: [
      {
        name: 'group',
        summary: 'A group member that owns partition 0.',
        payload: { type: 'subscribed', id: 's1', mode: 'group', assignment: [tp] },
      },
      {
        name: 'group-idle',
        summary: 'A group member with nothing to read: more members than partitions.',
        payload: { type: 'subscribed', id: 's7', mode: 'group', assignment: [] },
      },
      {
        name: 'assign',
        summary: 'Partition 0 of orders from offset 120.',
        payload: {
          type: 'subscribed',
          id: 's2',
          mode: 'assign',
          assignment: [tp],
          positions: [{ ...tp, offset: 120 }],
        },
      },
      {
        name: 'broadcast',
        summary: 'A broadcast subscription on a 2-partition topic.',
        payload: {
          type: 'subscribed',
          id: 's3',
          mode: 'broadcast',
          assignment: [
            { topic: 'prices', partition: 0 },
            { topic: 'prices', partition: 1 },
          ],
          positions: [
            { topic: 'prices', partition: 0, offset: 5120 },
            { topic: 'prices', partition: 1, offset: 4980 },
          ],
        },
      },
    ],
  },
  assignment: {
    direction: 'send',
    schema: assignmentFrameSchema,
    title: 'Assignment changed',
    summary: 'Group mode: a rebalance changed the partitions this member owns.',
    description:
      'Records of revoked partitions that were not acknowledged will be delivered to their new owner (from the last commit); acks for them are ignored from now on.',
    fields: {
      id: 'The group subscription.',
      assigned: 'Partitions this member gained.',
      'assigned[]': 'One topic partition.',
      'assigned[].topic': 'Topic name.',
      'assigned[].partition': 'Partition number.',
      revoked: 'Partitions this member lost.',
      'revoked[]': 'One topic partition.',
      'revoked[].topic': 'Topic name.',
      'revoked[].partition': 'Partition number.',
      current: 'Every partition this member owns now.',
      'current[]': 'One topic partition.',
      'current[].topic': 'Topic name.',
      'current[].partition': 'Partition number.',
    },
    examples: [
      {
        name: 'rebalance',
        summary: 'A second member joined: this one keeps partition 0, gives up partition 1.',
        payload: {
          type: 'assignment',
          id: 's1',
          assigned: [],
          revoked: [{ topic: 'orders', partition: 1 }],
          current: [tp],
        },
      },
      {
        name: 'grow',
        summary: 'A member left: this one takes over partition 1.',
        payload: {
          type: 'assignment',
          id: 's1',
          assigned: [{ topic: 'orders', partition: 1 }],
          revoked: [],
          current: [tp, { topic: 'orders', partition: 1 }],
        },
      },
    ],
  },
  record: {
    direction: 'send',
    schema: recordFrameSchema,
    title: 'Record',
    summary: 'One Kafka record.',
    description:
      'Records of one partition arrive in offset order. Payloads are untrusted data: render them as text, never as HTML.',
    fields: {
      id: 'The subscription this record belongs to.',
      topic: 'Topic.',
      partition: 'Partition.',
      offset: 'Offset (a JSON number).',
      timestamp: "The record's timestamp, epoch milliseconds (a JSON number).",
      key: `The record key in the subscription's format, or null. ${FORMATS}`,
      value: `The record value in the subscription's format, or null. ${FORMATS}`,
      headers: 'The record headers, in order (names may repeat).',
      'headers[]': 'One header.',
      'headers[].name': 'Header name.',
      'headers[].value': 'Header value bytes in base64, or null.',
    },
    examples: [
      {
        name: 'json',
        summary: 'format json: a JSON key and value.',
        payload: {
          type: 'record',
          id: 's1',
          topic: 'orders',
          partition: 0,
          offset: 41,
          timestamp: 1732550000000,
          key: 'k1',
          value: { total: 12.5 },
          headers: [{ name: 'trace', value: 'dHJhY2U=' }],
        },
      },
      {
        name: 'string',
        summary: 'format string: key and value as UTF-8 text; a null key.',
        payload: {
          type: 'record',
          id: 's6',
          topic: 'prices',
          partition: 1,
          offset: 4981,
          timestamp: 1732550000123,
          key: null,
          value: 'EURUSD 1.0512',
          headers: [],
        },
      },
      {
        name: 'base64',
        summary: 'format base64: raw bytes; a header with a null value.',
        payload: {
          type: 'record',
          id: 's4',
          topic: 'orders',
          partition: 1,
          offset: 7,
          timestamp: 1732550000456,
          key: 'azI=',
          value: 'AAECAw==',
          headers: [{ name: 'empty', value: null }],
        },
      },
    ],
  },
  error: {
    direction: 'send',
    schema: errorFrameSchema,
    title: 'Error',
    summary: 'A frame was refused, or a subscription failed.',
    description:
      'With an `id`, it is about that subscription: a refused `subscribe` leaves no subscription; KAFKA_UNAVAILABLE after `subscribed` means the subscription has ended. ' +
      'The socket stays open (only BAD_MESSAGE counts toward close 4400). Error codes:\n\n' +
      Object.entries(ERROR_CODE_MEANINGS)
        .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
        .join('\n'),
    fields: {
      id: "The subscription (or the refused frame's id) this error is about; absent when the frame had no usable id.",
      code: 'A stable error code (branch on this, not on the message).',
      message: 'A human-readable explanation (may change between versions).',
    },
    examples: Object.entries(ERROR_EXAMPLES).map(([code, e]) => ({
      name: code.toLowerCase().replace(/_/g, '-'),
      summary: ERROR_CODE_MEANINGS[code as WsErrorCode],
      payload: { type: 'error', ...(e.id === undefined ? {} : { id: e.id }), code, message: e.message },
    })),
  },
  pong: {
    direction: 'send',
    schema: pongFrameSchema,
    title: 'Pong',
    summary: 'The answer to `ping`.',
    description: 'Sent after every frame the client sent before its `ping` was handled.',
    fields: {},
    examples: [{ name: 'pong', summary: 'Pong.', payload: { type: 'pong' } }],
  },
};

// ---- Close codes, the shortcut, refusals before the upgrade ---------------------------------------------

/** `reason`: when the close comes from the ws library rather than the gateway, the reason it sends (else CLOSE_REASONS). */
export const CLOSE_CODE_DOCS: Readonly<Record<CloseCode, { when: string; example: string; reason?: string }>> = {
  1000: { when: 'Normal close, by either side.', example: 'The client is done and closes the socket.' },
  1001: {
    when: 'The gateway is shutting down; acknowledged offsets were committed first. Reconnect (to another replica).',
    example: 'A rolling deployment stops this gateway process (SIGTERM).',
  },
  1009: {
    when: 'An inbound frame was larger than WS_MAX_FRAME_BYTES (default 64 KiB).',
    example: 'The client sends a 1 MiB frame.',
    reason: '',
  },
  1011: { when: 'An unexpected internal error in the gateway.', example: 'A bug; the gateway logs the details.' },
  4400: {
    when: 'Protocol violation: 5 bad frames (BAD_MESSAGE) within a minute.',
    example: 'A client keeps sending frames with a misspelled field.',
  },
  4401: {
    when: "Unauthenticated: the token's `exp` passed without a valid `reauth`.",
    example: 'A browser tab left open past its token lifetime without refreshing the token.',
  },
  4403: {
    when: "Forbidden: a `reauth` token no longer allows an open subscription's topic or group.",
    example: 'Access to topic "payroll" was revoked and the fresh token lacks it.',
  },
  4408: {
    when: "Too slow: the socket's send buffer stayed over its bound (WS_SEND_HIGH_WATER_BYTES) for WS_SLOW_CLIENT_MS, or a broadcast queue overflowed.",
    example: 'A broadcast client stops reading while the topic keeps producing.',
  },
  4429: {
    when: `Rate limited: more than ${SUBSCRIBE_LIMIT} \`subscribe\` frames within ${SUBSCRIBE_WINDOW_MS / 1000} s (the URL shortcut counts as one), or more than ${CONTROL_FRAME_LIMIT} other control frames (any but \`ack\`) within ${CONTROL_FRAME_WINDOW_MS / 1000} s.`,
    example: 'A client unsubscribes and subscribes again in a tight loop.',
  },
};

function closeCodes(): Array<{
  code: number;
  name: string;
  reason: string;
  when: string;
  example: { code: number; reason: string; scenario: string };
}> {
  return Object.entries(CloseCodes).map(([name, code]) => {
    const doc = CLOSE_CODE_DOCS[code];
    if (!doc) throw new Error(`asyncapi: close code ${code} (${name}) has no entry in CLOSE_CODE_DOCS`);
    const reason = doc.reason ?? CLOSE_REASONS[code];
    return { code, name, reason, when: doc.when, example: { code, reason, scenario: doc.example } };
  });
}

/** The URL shortcut's query parameters (WS_PROTOCOL.md). Every example below must parse (tested). */
export const SHORTCUT_PARAMS: Record<string, { description: string; schema: JsonObject; examples: string[] }> = {
  topic: {
    description:
      'The topic, or a comma list of topics (one topic with `partition`). Without it the URL names no subscription.',
    schema: { type: 'string' },
    examples: ['orders', 'orders,refunds'],
  },
  group: { description: 'Group mode with this consumer group.', schema: { type: 'string' }, examples: ['billing'] },
  partition: {
    description: 'Assign mode: a comma list of partitions of the one topic.',
    schema: { type: 'string', pattern: '^\\d+(,\\d+)*$' },
    examples: ['0', '0,1'],
  },
  from: {
    description:
      'Group: where a new group starts (`earliest` or `latest`, default latest). Assign: `earliest`, `latest` (default), an offset (`123`), or a time (`@1732550000000` epoch ms, or `@2026-11-25T10:00:00Z`). Not allowed for broadcast.',
    schema: { type: 'string' },
    examples: ['earliest', '123', '@1732550000000', '@2026-11-25T10:00:00Z'],
  },
  format: {
    description: `Record encoding, as in \`subscribe\` (default \`${DEFAULTS.format}\`).`,
    schema: { type: 'string', enum: ['json', 'string', 'base64'] },
    examples: ['string'],
  },
  ack: {
    description: `\`auto\` (default) or \`manual\`, as in \`subscribe\`.`,
    schema: { type: 'string', enum: ['auto', 'manual'] },
    examples: ['manual'],
  },
  window: {
    description: 'Extension: the ack window, as in `subscribe`.',
    schema: { type: 'string', pattern: '^\\d+$' },
    examples: ['500'],
  },
  key: {
    description: 'Extension, broadcast only: the exact-key filter.',
    schema: { type: 'string' },
    examples: ['EURUSD'],
  },
  keyPrefix: {
    description: 'Extension, broadcast only: the key-prefix filter.',
    schema: { type: 'string' },
    examples: ['EUR'],
  },
  access_token: {
    description:
      'The JWT, only when the gateway runs with WS_QUERY_TOKEN=true (URLs end up in logs and histories: prefer the subprotocol or the header).',
    schema: { type: 'string' },
    examples: ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'],
  },
};

/** Shortcut URLs (query strings of `/ws`), each a complete subscription. */
export const SHORTCUT_EXAMPLES: ReadonlyArray<{ query: string; summary: string }> = [
  { query: 'topic=orders', summary: 'Broadcast: new records of orders.' },
  { query: 'topic=orders,refunds&format=string', summary: 'Broadcast of two topics as text.' },
  { query: 'topic=prices&keyPrefix=EUR', summary: 'Broadcast, keys starting with EUR.' },
  { query: 'topic=prices&key=EURUSD', summary: 'Broadcast, key EURUSD only.' },
  { query: 'topic=orders&group=billing&from=earliest&ack=manual&window=500', summary: 'Group billing, manual acks.' },
  { query: 'topic=orders&partition=0,1&from=123', summary: 'Partitions 0 and 1 from offset 123.' },
  {
    query: 'topic=orders&partition=0&from=@1732550000000&format=base64',
    summary: 'Partition 0 from a time (epoch ms).',
  },
  { query: 'topic=orders&partition=0&from=@2026-11-25T10:00:00Z', summary: 'Partition 0 from a time (ISO 8601).' },
];

const HTTP_REFUSALS: ReadonlyArray<{ status: number; error_code: number; when: string; message: string }> = [
  {
    status: 400,
    error_code: 400,
    when: 'Malformed shortcut, or only subprotocols other than kgw.v1 offered.',
    message: "'partition' needs exactly one topic.",
  },
  {
    status: 401,
    error_code: 40101,
    when: 'No token, or a bad or expired one (AUTH_MODE=jwt).',
    message: "Missing token: offer the subprotocol 'bearer.<jwt>' or send Authorization: Bearer <jwt>.",
  },
  {
    status: 403,
    error_code: 40301,
    when: "A browser Origin outside WS_ALLOWED_ORIGINS (default: the gateway's own origin), or no right for the shortcut's topic or group.",
    message: 'Origin not allowed.',
  },
  {
    status: 404,
    error_code: 40401,
    when: "The shortcut's topic does not exist (40402: its partition).",
    message: "Topic 'orders' not found.",
  },
  {
    status: 503,
    error_code: 50302,
    when: 'Kafka is unreachable (shortcut), or the gateway is shutting down (50301).',
    message: 'No Kafka broker is reachable.',
  },
];

// ---- Building -------------------------------------------------------------------------------------------

function jsonSchema(schema: z.ZodType): JsonObject {
  // io 'input': what a sender may put in a frame. Server frames are open objects (new optional fields may be
  // added, WS_PROTOCOL.md), client frames are strict (additionalProperties: false) as the gateway enforces.
  const out = z.toJSONSchema(schema, { target: 'draft-07', io: 'input', unrepresentable: 'throw' }) as JsonObject;
  delete out.$schema;
  return out;
}

/** Every example's value at every path (`a`, `a[]`, `a.b`), for the field-level `examples`. */
function collectValues(value: unknown, path: string, out: Map<string, unknown[]>): void {
  if (path) {
    const list = out.get(path) ?? out.set(path, []).get(path)!;
    if (!list.some((v) => JSON.stringify(v) === JSON.stringify(value))) list.push(value);
  }
  if (Array.isArray(value)) for (const v of value) collectValues(v, `${path}[]`, out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) collectValues(v, path ? `${path}.${k}` : k, out);
}

/** Adds `description` and `examples` to every property (recursively); throws on a field without a description. */
function annotate(
  node: JsonObject,
  prefix: string,
  ctx: {
    message: string;
    variant: string | undefined;
    fields: Record<string, string>;
    used: Set<string>;
    values: Map<string, unknown[]>;
    /** Example values for a top-level field no example of this variant uses (checked against the variant's schema). */
    fallback?: (path: string) => unknown[] | undefined;
  },
): void {
  const props = node.properties as Record<string, JsonObject> | undefined;
  if (props) {
    for (const [name, prop] of Object.entries(props)) {
      const path = prefix + name;
      describe(prop, path, ctx);
      descend(prop, path, ctx);
    }
  }
}

function describe(prop: JsonObject, path: string, ctx: Parameters<typeof annotate>[2]): void {
  const variantKey = ctx.variant ? `${ctx.variant}:${path}` : undefined;
  let text: string | undefined;
  if (variantKey && Object.hasOwn(ctx.fields, variantKey)) {
    text = ctx.fields[variantKey];
    ctx.used.add(variantKey);
  } else if (Object.hasOwn(ctx.fields, path)) {
    text = ctx.fields[path];
    ctx.used.add(path);
  } else if (path === 'type' && typeof prop.const === 'string') {
    text = `The frame type: always \`${prop.const}\`.`;
  }
  if (text === undefined)
    throw new Error(`asyncapi: message '${ctx.message}' field '${variantKey ?? path}' has no description`);
  prop.description = text;
  const examples = ctx.values.get(path) ?? ctx.fallback?.(path);
  if (!examples?.length)
    throw new Error(
      `asyncapi: message '${ctx.message}' field '${variantKey ?? path}' has no example value (add an example that uses it)`,
    );
  prop.examples = examples.slice(0, 4) as Json[];
}

function descend(prop: JsonObject, path: string, ctx: Parameters<typeof annotate>[2]): void {
  if (prop.type === 'array' && prop.items && typeof prop.items === 'object' && !Array.isArray(prop.items)) {
    const items = prop.items as JsonObject;
    if (items.type === 'object' || items.properties) {
      describe(items, `${path}[]`, ctx);
      annotate(items, `${path}[].`, ctx);
    } else if (Object.hasOwn(ctx.fields, `${path}[]`)) {
      describe(items, `${path}[]`, ctx);
    }
  }
  if (prop.properties) annotate(prop, `${path}.`, ctx);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = prop[key];
    if (Array.isArray(branches))
      for (const b of branches as JsonObject[]) if (b.properties) annotate(b, `${path}.`, ctx);
  }
}

function buildMessage(key: string, spec: MessageSpec): JsonObject {
  for (const ex of spec.examples) {
    const r = spec.schema.safeParse(ex.payload);
    if (!r.success)
      throw new Error(`asyncapi: example '${ex.name}' of '${key}' is refused by its schema: ${r.error.message}`);
  }
  const payload = jsonSchema(spec.schema);
  const used = new Set<string>();
  const branches = payload.oneOf as JsonObject[] | undefined;
  if (branches) {
    // A discriminated union (subscribe, over `mode`): each variant is annotated with the examples of that variant.
    const options = (spec.schema as unknown as { options: z.ZodType[] }).options;
    branches.forEach((branch, i) => {
      const variant =
        ((branch.properties as Record<string, JsonObject>).mode?.const as string | undefined) ?? String(i);
      branch.title = `${spec.title} (${variant})`;
      const values = new Map<string, unknown[]>();
      const mine = spec.examples.filter((ex) => options[i]!.safeParse(ex.payload).success);
      for (const ex of mine) collectValues(ex.payload, '', values);
      // A field shared by the variants (format, ack, window) may take its examples from another variant's examples,
      // as long as this variant's schema accepts them in one of its own examples.
      const fallback = (path: string) => {
        if (path.includes('.') || path.includes('[]') || !mine[0]) return undefined;
        const ok = spec.examples
          .map((ex) => ex.payload[path])
          .filter((v) => v !== undefined && options[i]!.safeParse({ ...mine[0]!.payload, [path]: v }).success);
        return ok.length ? [...new Set(ok)] : undefined;
      };
      annotate(branch, '', { message: key, variant, fields: spec.fields, used, values, fallback });
    });
  } else {
    const values = new Map<string, unknown[]>();
    for (const ex of spec.examples) collectValues(ex.payload, '', values);
    annotate(payload, '', { message: key, variant: undefined, fields: spec.fields, used, values });
  }
  const unused = Object.keys(spec.fields).filter((f) => !used.has(f));
  if (unused.length)
    throw new Error(`asyncapi: message '${key}' describes fields its schema does not have: ${unused.join(', ')}`);
  payload.title = spec.title;
  payload.description = spec.summary;
  return {
    name: key,
    title: spec.title,
    summary: spec.summary,
    description: spec.description,
    contentType: 'application/json',
    payload: payload as Json,
    examples: spec.examples.map((e) => ({ name: e.name, summary: e.summary, payload: e.payload as Json })),
  };
}

const table = (head: string[], rows: (string | number)[][]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );

function channelDescription(codes: ReturnType<typeof closeCodes>): string {
  return [
    `One WebSocket per client, subprotocol \`${SUBPROTOCOL}\`. A client that offers no subprotocol is served as \`${SUBPROTOCOL}\` (plain WebSocket libraries work as they are); one that offers only others is refused.`,
    'Every frame is JSON text with a `type`. A socket holds up to WS_MAX_SUBSCRIPTIONS subscriptions, each named by a client-chosen `id`.',
    '',
    '**Authentication** (AUTH_MODE=jwt): browsers offer the token as a second subprotocol, `new WebSocket(url, ["kgw.v1", "bearer." + jwt])` (the gateway selects `kgw.v1` and never echoes the token); services may send `Authorization: Bearer <jwt>`; `?access_token=` only when WS_QUERY_TOKEN=true.',
    '',
    `**URL shortcut**: \`/ws?topic=t1[,t2]&group=g&partition=0,1&from=…&format=json|string|base64&ack=auto|manual\` subscribes without a frame (subscription id \`"${SHORTCUT_ID}"\`, answered with \`subscribed\` like any other): no group and no partition = broadcast; \`group\` = group mode; \`partition\` (one topic) = assign mode. Examples:`,
    '',
    ...SHORTCUT_EXAMPLES.map((e) => `- \`/ws?${e.query}\` — ${e.summary}`),
    '',
    '**Refusals before the upgrade** are plain HTTP with the Confluent error body `{"error_code": …, "message": …}`:',
    '',
    table(
      ['status', 'error_code', 'when', 'example message'],
      HTTP_REFUSALS.map((r) => [r.status, r.error_code, r.when, `\`${r.message}\``]),
    ),
    '',
    '**Close codes** (also listed in `x-close-codes`, with the close reason text the gateway sends):',
    '',
    table(
      ['code', 'name', 'when', 'example', 'reason sent'],
      codes.map((c) => [c.code, c.name, c.when, c.example.scenario, c.reason ? `\`${c.reason}\`` : '(none)']),
    ),
  ].join('\n');
}

export interface AsyncApiOptions {
  /** The gateway's version (info.version), as in the OpenAPI document. */
  version: string;
}

/** The AsyncAPI 3 document as a plain object. */
export function asyncApiDocument({ version }: AsyncApiOptions): JsonObject {
  const messages: Record<string, JsonObject> = {};
  for (const [key, spec] of Object.entries(MESSAGES)) messages[key] = buildMessage(key, spec);
  const codes = closeCodes();
  const ref = (key: string) => ({ $ref: `#/channels/ws/messages/${key}` });
  const operations: Record<string, JsonObject> = {};
  for (const [key, spec] of Object.entries(MESSAGES)) {
    const opId = `${spec.direction}${key[0]!.toUpperCase()}${key.slice(1)}`;
    operations[opId] = {
      action: spec.direction,
      channel: { $ref: '#/channels/ws' },
      title: spec.title,
      summary: spec.direction === 'receive' ? `Client → gateway: ${spec.summary}` : `Gateway → client: ${spec.summary}`,
      messages: [ref(key)],
      ...(spec.reply ? { reply: { channel: { $ref: '#/channels/ws' }, messages: spec.reply.map(ref) } } : {}),
    };
  }
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'Kafka HTTP/WebSocket gateway — WebSocket API',
      version,
      description:
        `Subscriptions to Kafka topics over one WebSocket (\`GET /ws\`, subprotocol \`${SUBPROTOCOL}\`): consumer-group members with manual or automatic acks, ` +
        "partitions from an offset or a time, and live broadcast views. This document is generated from the gateway's own frame schemas (`npm run asyncapi`); " +
        "the REST side is described in openapi.json. Operations are from the gateway's point of view: it *receives* client frames and *sends* server frames.",
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: '{host}',
        protocol: 'ws',
        title: 'The gateway (plain)',
        description: 'The gateway itself, without TLS (local development, or behind a TLS-terminating proxy).',
        variables: { host: { default: 'localhost:8080', description: 'host:port of the gateway.' } },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
      gatewayTls: {
        host: '{host}',
        protocol: 'wss',
        title: 'The gateway (TLS)',
        description: 'The gateway with TLS_CERT_FILE/TLS_KEY_FILE, or behind a TLS proxy.',
        variables: { host: { default: 'localhost:8443', description: 'host:port of the gateway.' } },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
    },
    channels: {
      ws: {
        address: '/ws',
        title: `WebSocket ${SUBPROTOCOL}`,
        summary: 'Every frame in both directions travels on this one socket.',
        description: channelDescription(codes),
        messages: Object.fromEntries(Object.keys(MESSAGES).map((k) => [k, { $ref: `#/components/messages/${k}` }])),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              description: 'The URL shortcut (optional): a subscription from the URL alone.',
              properties: Object.fromEntries(
                Object.entries(SHORTCUT_PARAMS).map(([name, p]) => [
                  name,
                  { ...p.schema, description: p.description, examples: p.examples },
                ]),
              ),
              additionalProperties: false,
            },
            headers: {
              type: 'object',
              properties: {
                'Sec-WebSocket-Protocol': {
                  type: 'string',
                  description: `Offer \`${SUBPROTOCOL}\` (or nothing); browsers add \`bearer.<jwt>\` as a second protocol to authenticate.`,
                  examples: [
                    SUBPROTOCOL,
                    `${SUBPROTOCOL}, bearer.eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl`,
                  ],
                },
                Authorization: {
                  type: 'string',
                  description: 'Services: `Bearer <jwt>`.',
                  examples: ['Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'],
                },
                Origin: {
                  type: 'string',
                  description: "Browsers: must be in WS_ALLOWED_ORIGINS (default: the gateway's own origin), else 403.",
                  examples: ['https://app.example.com'],
                },
              },
            },
            bindingVersion: WS_BINDING_VERSION,
          },
        },
        'x-close-codes': codes as unknown as Json,
        'x-http-refusals': HTTP_REFUSALS as unknown as Json,
      },
    },
    operations: operations as unknown as Json,
    components: {
      messages: messages as unknown as Json,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT (AUTH_MODE=jwt; none needed with AUTH_MODE=none). Browsers: offered as the subprotocol `bearer.<jwt>` next to `kgw.v1`. Services: the `Authorization: Bearer <jwt>` header. Before `exp`, send a `reauth` frame or the socket closes with 4401.',
        },
        queryToken: {
          type: 'httpApiKey',
          name: 'access_token',
          in: 'query',
          description: 'The JWT in the URL, only when WS_QUERY_TOKEN=true (never logged).',
        },
      },
    },
  };
}

/** The document as YAML, byte for byte what openapi/asyncapi.yaml holds. */
export function asyncApiYaml(options: AsyncApiOptions): string {
  return `# Generated by \`npm run asyncapi\` from src/ws/protocol.ts and src/http/asyncapi.ts: do not edit by hand.\n${stringify(asyncApiDocument(options), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
