/**
 * The AsyncAPI description of a kgw.v1 connection beyond its frames, as data: the close codes (when and why each is
 * sent), the URL shortcut's parameters and examples, and the plain-HTTP refusals before the upgrade.
 */
import { originRefused } from '../../auth/authorize.js';
import { CLOSE_REASONS, CloseCodes, type CloseCode } from '../close-codes.js';
import { CONTROL_FRAME_LIMIT, CONTROL_FRAME_WINDOW_MS, SUBSCRIBE_LIMIT, SUBSCRIBE_WINDOW_MS } from '../frame-rate.js';
import { DEFAULTS, SUBPROTOCOL } from '../protocol.js';
import type { JsonObject } from './types.js';

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
    when: "Too slow: the socket's send buffer stayed over its bound (WS_SEND_HIGH_WATER_BYTES) for WS_SLOW_CLIENT_MS, or a broadcast queue overflowed, or the gateway stayed over its process-wide send budget (WS_SEND_BUDGET_BYTES) for WS_SLOW_CLIENT_MS and this socket was among those holding the most.",
    example: 'A broadcast client stops reading while the topic keeps producing.',
  },
  4429: {
    when: `Rate limited: more than ${SUBSCRIBE_LIMIT} \`subscribe\` frames within ${SUBSCRIBE_WINDOW_MS / 1000} s (the URL shortcut counts as one), or more than ${CONTROL_FRAME_LIMIT} other control frames (any but \`ack\`) within ${CONTROL_FRAME_WINDOW_MS / 1000} s.`,
    example: 'A client unsubscribes and subscribes again in a tight loop.',
  },
};

export function closeCodes(): Array<{
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

/** The URL shortcut's query parameters (docs/websocket.md). Every example below must parse (tested). */
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

export const HTTP_REFUSALS: ReadonlyArray<{ status: number; error_code: number; when: string; message: string }> = [
  {
    status: 400,
    error_code: 400,
    when: `Malformed shortcut, or only subprotocols other than ${SUBPROTOCOL} offered.`,
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
    message: originRefused().message,
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
