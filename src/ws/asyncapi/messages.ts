/**
 * The AsyncAPI description of every kgw.v1 frame, as data: for each message its schema (the zod schema the gateway
 * validates or builds frames with, src/ws/protocol.ts), a title, a description of every field, and examples.
 * document.ts assembles these into the AsyncAPI document and throws when they drift from the schemas.
 */
import {
  DEFAULTS,
  LIMITS,
  SHORTCUT_ID,
  ackFrameSchema,
  assignmentFrameSchema,
  errorFrameSchema,
  pauseSchema,
  pingSchema,
  pongFrameSchema,
  reauthSchema,
  recordFrameSchema,
  recordsFrameSchema,
  resumeSchema,
  subscribeSchema,
  subscribedFrameSchema,
  unsubscribeSchema,
  type WsErrorCode,
} from '../protocol.js';
import type { MessageSpec } from './types.js';

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

export const MESSAGES: Record<string, MessageSpec> = {
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
      batch:
        'Group and assign only, opt-in: deliver the records of one partition that are ready together as one `records` frame instead of one `record` frame each. ' +
        'With manual acks, ack the last offset of the frame: an ack covers every record up to it on that partition. Without this field every record is its own `record` frame.',
      'batch.maxRecords': `The most records in one \`records\` frame (1–${LIMITS.maxBatchRecords}). A frame holds fewer when fewer are ready, when the window has no more room, or at about ${LIMITS.batchBytes / 1024} KiB of records.`,
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
        name: 'group-batched',
        summary: 'Join group "billing" with manual acks, records in `records` frames of up to 500.',
        payload: {
          type: 'subscribe',
          id: 's5',
          mode: 'group',
          topics: ['orders'],
          group: 'billing',
          ack: 'manual',
          window: 5000,
          batch: { maxRecords: 500 },
        },
      },
      {
        name: 'assign-offset',
        summary: 'Read partition 0 of "orders" from offset 120.',
        payload: { type: 'subscribe', id: 's2', mode: 'assign', partitions: [tp], from: { offset: 120 } },
      },
      {
        name: 'assign-timestamp',
        summary:
          'Read partitions 0 and 1 of "orders" from a point in time, values as base64, up to 100 records a frame.',
        payload: {
          type: 'subscribe',
          id: 's4',
          mode: 'assign',
          partitions: [tp, { topic: 'orders', partition: 1 }],
          from: { timestamp: 1732550000000 },
          format: 'base64',
          batch: { maxRecords: 100 },
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
  records: {
    direction: 'send',
    schema: recordsFrameSchema,
    title: 'Records (batch)',
    summary: 'Several records of one partition (only for a subscription that asked for `batch`).',
    description:
      'Records in offset order, all of `topic`/`partition`; frames of one partition arrive in offset order too. ' +
      'To acknowledge them, ack the last offset of the frame (acks are cumulative per partition). Each entry is a `record` frame without its type, id, topic and partition. ' +
      'Payloads are untrusted data: render them as text, never as HTML.',
    fields: {
      id: 'The subscription these records belong to.',
      topic: 'Topic of every record in the frame.',
      partition: 'Partition of every record in the frame.',
      records: 'The records, in offset order (at least one).',
      'records[]': 'One record.',
      'records[].offset': 'Offset (a JSON number).',
      'records[].timestamp': "The record's timestamp, epoch milliseconds (a JSON number).",
      'records[].key': `The record key in the subscription's format, or null. ${FORMATS}`,
      'records[].value': `The record value in the subscription's format, or null. ${FORMATS}`,
      'records[].headers': 'The record headers, in order (names may repeat).',
      'records[].headers[]': 'One header.',
      'records[].headers[].name': 'Header name.',
      'records[].headers[].value': 'Header value bytes in base64, or null.',
    },
    examples: [
      {
        name: 'batch',
        summary: 'Two records of orders/0; ack offset 42 to acknowledge both.',
        payload: {
          type: 'records',
          id: 's5',
          topic: 'orders',
          partition: 0,
          records: [
            {
              offset: 41,
              timestamp: 1732550000000,
              key: 'k1',
              value: { total: 12.5 },
              headers: [{ name: 'trace', value: 'dHJhY2U=' }],
            },
            { offset: 42, timestamp: 1732550000007, key: 'k2', value: { total: 3 }, headers: [] },
          ],
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
