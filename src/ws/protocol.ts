/**
 * The `kgw.v1` WebSocket protocol as data (docs/websocket.md is the contract): a zod schema for every frame in
 * both directions, exported so the AsyncAPI document can be generated from / checked against them, plus the
 * URL-shortcut parser. Client frames are strict: an unknown or misspelled field is a BAD_MESSAGE, not silence.
 */
import { z } from 'zod';
import { errors } from '../errors.js';
import { isLegalTopicName } from '../core/topic-names.js';

/** The one WebSocket subprotocol the gateway speaks. */
export const SUBPROTOCOL = 'kgw.v1';

/**
 * ws's `handleProtocols` (called only when the client offered some): `kgw.v1` when offered, else false — never
 * ws's default (the first offered one), which could echo a `bearer.<jwt>` token back in the response.
 */
export function selectSubprotocol(offered: Set<string>): typeof SUBPROTOCOL | false {
  return offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/** Limits of one frame's content (the frame's byte size is WS_MAX_FRAME_BYTES). */
export const LIMITS = {
  idLength: 128,
  groupLength: 255,
  topicsPerSubscription: 64,
  partitionsPerSubscription: 1024,
  maxWindow: 100_000,
  filterLength: 1024,
  tokenLength: 16_384,
  maxBatchRecords: 10_000,
  /** A `records` frame is closed at about this many bytes of records even below `maxRecords` (one socket write). */
  batchBytes: 256 * 1024,
} as const;

/** Defaults when a `subscribe` frame (or the shortcut) omits them. */
export const DEFAULTS = { format: 'json', ack: 'auto', window: 1000, from: 'latest' } as const;

/** The id the URL shortcut's subscription gets. */
export const SHORTCUT_ID = '0';

const id = z.string().min(1).max(LIMITS.idLength);
const topic = z.string().refine(isLegalTopicName, { error: 'not a legal topic name' });
const partition = z
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const offset = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const group = z
  .string()
  .min(1)
  .max(LIMITS.groupLength)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'control characters are not allowed');
const topicList = z.array(topic).min(1).max(LIMITS.topicsPerSubscription);
export const formatSchema = z.enum(['json', 'string', 'base64']);
export const ackSchema = z.enum(['auto', 'manual']);
const window = z.int().min(1).max(LIMITS.maxWindow);
export const topicPartitionSchema = z.strictObject({ topic, partition });
export const startPositionSchema = z.union([
  z.enum(['earliest', 'latest']),
  z.strictObject({ offset }),
  z.strictObject({ timestamp: offset }),
]);
const filterSchema = z.union([
  z.strictObject({ key: z.string().max(LIMITS.filterLength) }),
  z.strictObject({ keyPrefix: z.string().max(LIMITS.filterLength) }),
]);

const common = {
  type: z.literal('subscribe'),
  id,
  format: formatSchema.optional(),
  ack: ackSchema.optional(),
  window: window.optional(),
};

/**
 * Opt-in batching (group and assign): up to `maxRecords` records of one partition in one `records` frame, acked by
 * its last offset. Without it every record is its own `record` frame.
 */
export const batchSchema = z.strictObject({ maxRecords: z.int().min(1).max(LIMITS.maxBatchRecords) });

export const subscribeGroupSchema = z.strictObject({
  ...common,
  batch: batchSchema.optional(),
  mode: z.literal('group'),
  topics: topicList,
  group,
  /** Where the group starts on partitions it never committed. */
  from: z.enum(['earliest', 'latest']).optional(),
});

export const subscribeAssignSchema = z.strictObject({
  ...common,
  batch: batchSchema.optional(),
  mode: z.literal('assign'),
  partitions: z.array(topicPartitionSchema).min(1).max(LIMITS.partitionsPerSubscription),
  from: startPositionSchema.optional(),
});

/** Broadcast accepts `ack`/`window` for uniformity but ignores them: nothing is committed, a slow socket is closed. */
export const subscribeBroadcastSchema = z.strictObject({
  ...common,
  mode: z.literal('broadcast'),
  topics: topicList,
  filter: filterSchema.optional(),
});

export const subscribeSchema = z.discriminatedUnion('mode', [
  subscribeGroupSchema,
  subscribeAssignSchema,
  subscribeBroadcastSchema,
]);

export const ackFrameSchema = z.strictObject({ type: z.literal('ack'), id, topic, partition, offset });
export const unsubscribeSchema = z.strictObject({ type: z.literal('unsubscribe'), id });
export const pauseSchema = z.strictObject({ type: z.literal('pause'), id });
export const resumeSchema = z.strictObject({ type: z.literal('resume'), id });
export const reauthSchema = z.strictObject({
  type: z.literal('reauth'),
  token: z.string().min(1).max(LIMITS.tokenLength),
});
export const pingSchema = z.strictObject({ type: z.literal('ping') });

export const clientFrameSchema = z.discriminatedUnion('type', [
  subscribeSchema,
  ackFrameSchema,
  unsubscribeSchema,
  pauseSchema,
  resumeSchema,
  reauthSchema,
  pingSchema,
]);

export type SubscribeFrame = z.infer<typeof subscribeSchema>;
export type SubscribeGroup = z.infer<typeof subscribeGroupSchema>;
export type SubscribeAssign = z.infer<typeof subscribeAssignSchema>;
export type SubscribeBroadcast = z.infer<typeof subscribeBroadcastSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type Format = z.infer<typeof formatSchema>;
export type Mode = SubscribeFrame['mode'];

// ---- Server → client -------------------------------------------------------------------------------------

export const errorCodeSchema = z.enum([
  'BAD_MESSAGE',
  'UNKNOWN_TOPIC',
  'UNKNOWN_PARTITION',
  'FORBIDDEN',
  'TOO_MANY_SUBSCRIPTIONS',
  'DUPLICATE_ID',
  'UNKNOWN_SUBSCRIPTION',
  'KAFKA_UNAVAILABLE',
  'INTERNAL',
]);
export type WsErrorCode = z.infer<typeof errorCodeSchema>;

const tpo = z.object({ topic: z.string(), partition: z.int(), offset: z.int() });

export const subscribedFrameSchema = z.object({
  type: z.literal('subscribed'),
  id: z.string(),
  mode: z.enum(['group', 'assign', 'broadcast']),
  /** group: this member's partitions (empty = idle: more members than partitions); others: what it reads. */
  assignment: z.array(z.object({ topic: z.string(), partition: z.int() })),
  /** Extension (assign, broadcast): the first offset read per partition, fixed before this frame was sent. */
  positions: z.array(tpo).optional(),
});

export const assignmentFrameSchema = z.object({
  type: z.literal('assignment'),
  id: z.string(),
  assigned: z.array(z.object({ topic: z.string(), partition: z.int() })),
  revoked: z.array(z.object({ topic: z.string(), partition: z.int() })),
  current: z.array(z.object({ topic: z.string(), partition: z.int() })),
});

export const recordFrameSchema = z.object({
  type: z.literal('record'),
  id: z.string(),
  topic: z.string(),
  partition: z.int(),
  offset: z.int(),
  /** Epoch ms. */
  timestamp: z.int(),
  /** format json: the parsed JSON (a string when it is not JSON); string: UTF-8 text; base64: base64 text. */
  key: z.unknown(),
  value: z.unknown(),
  headers: z.array(z.object({ name: z.string(), value: z.string().nullable() })),
});

/** One record of a `records` frame: a `record` frame's fields without type, id, topic and partition. */
export const batchRecordSchema = recordFrameSchema.omit({ type: true, id: true, topic: true, partition: true });

/** Opt-in (`batch` in `subscribe`): records of one partition, in offset order; ack the last one to ack them all. */
export const recordsFrameSchema = z.object({
  type: z.literal('records'),
  id: z.string(),
  topic: z.string(),
  partition: z.int(),
  records: z.array(batchRecordSchema).min(1),
});

export const errorFrameSchema = z.object({
  type: z.literal('error'),
  id: z.string().optional(),
  code: errorCodeSchema,
  message: z.string(),
});

export const pongFrameSchema = z.object({ type: z.literal('pong') });

export const serverFrameSchema = z.discriminatedUnion('type', [
  subscribedFrameSchema,
  assignmentFrameSchema,
  recordFrameSchema,
  recordsFrameSchema,
  errorFrameSchema,
  pongFrameSchema,
]);

export type SubscribedFrame = z.infer<typeof subscribedFrameSchema>;
export type AssignmentFrame = z.infer<typeof assignmentFrameSchema>;
export type RecordFrame = z.infer<typeof recordFrameSchema>;
export type RecordsFrame = z.infer<typeof recordsFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export type ServerFrame = z.infer<typeof serverFrameSchema>;

// ---- Parsing ---------------------------------------------------------------------------------------------

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; message: string; id?: string };

/** A text frame → a validated client frame, or a message saying what is wrong (never throws). */
export function parseClientFrame(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, message: 'Frame is not valid JSON.' };
  }
  const parsed = clientFrameSchema.safeParse(raw);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const idOk = typeof rawId === 'string' && rawId.length > 0 && rawId.length <= LIMITS.idLength;
  return { ok: false, message: describeIssue(parsed.error), ...(idOk ? { id: rawId } : {}) };
}

function describeIssue(e: z.ZodError): string {
  const issue = e.issues[0];
  if (!issue) return 'Invalid frame.';
  const path = issue.path.length ? issue.path.join('.') : 'frame';
  const msg =
    issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.map((k) => `'${k.slice(0, 40)}'`).join(', ')}`
      : issue.message;
  return `Invalid frame: ${path}: ${msg}`.slice(0, 300);
}

// ---- URL shortcut ----------------------------------------------------------------------------------------

/** Query parameters the shortcut knows (`access_token` belongs to authentication). `window`, `key`, `keyPrefix` extend the contract. */
const SHORTCUT_PARAMS = new Set([
  'topic',
  'group',
  'partition',
  'from',
  'format',
  'ack',
  'window',
  'key',
  'keyPrefix',
  'access_token',
]);

/**
 * `/ws?topic=t1[,t2]&group=g&partition=0,1&from=…&format=…&ack=…` → the subscribe frame it stands for (id "0"),
 * or undefined when the URL names no subscription. Throws a 400 GatewayError (refused before the upgrade).
 */
export function parseShortcut(params: URLSearchParams): SubscribeFrame | undefined {
  for (const k of params.keys()) {
    if (!SHORTCUT_PARAMS.has(k)) throw errors.badRequest(`Unknown query parameter '${k.slice(0, 40)}'.`);
    if (k !== 'access_token' && params.getAll(k).length > 1)
      throw errors.badRequest(`Query parameter '${k}' given more than once.`);
  }
  const one = (k: string) => params.get(k) ?? undefined;
  const topicParam = one('topic');
  if (topicParam === undefined) {
    const stray = [...params.keys()].find((k) => k !== 'access_token');
    if (stray) throw errors.badRequest(`Query parameter '${stray}' needs 'topic'.`);
    return undefined;
  }
  const topics = splitList(topicParam);
  const base: Record<string, unknown> = { type: 'subscribe', id: SHORTCUT_ID, format: one('format'), ack: one('ack') };
  const w = one('window');
  if (w !== undefined) base.window = /^\d{1,9}$/.test(w) ? Number(w) : w;
  const groupParam = one('group');
  const partitionParam = one('partition');
  const from = one('from');
  let frame: Record<string, unknown>;
  if (groupParam !== undefined && partitionParam !== undefined)
    throw errors.badRequest("Use either 'group' or 'partition', not both.");
  if (
    (groupParam !== undefined || partitionParam !== undefined) &&
    (one('key') !== undefined || one('keyPrefix') !== undefined)
  )
    throw errors.badRequest("'key' and 'keyPrefix' filter broadcast subscriptions only.");
  if (groupParam !== undefined) {
    frame = { ...base, mode: 'group', topics, group: groupParam, from };
  } else if (partitionParam !== undefined) {
    if (topics.length !== 1) throw errors.badRequest("'partition' needs exactly one topic.");
    const partitions = splitList(partitionParam).map((p) => {
      if (!/^\d{1,10}$/.test(p)) throw errors.badRequest(`'partition': '${p.slice(0, 20)}' is not a partition number.`);
      return { topic: topics[0], partition: Number(p) };
    });
    if (new Set(partitions.map((p) => p.partition)).size !== partitions.length)
      throw errors.badRequest("'partition' lists a partition twice.");
    frame = { ...base, mode: 'assign', partitions, from: from === undefined ? undefined : parseFrom(from) };
  } else {
    if (from !== undefined)
      throw errors.badRequest("'from' needs 'group' or 'partition' (broadcast reads new records only).");
    if (one('key') !== undefined && one('keyPrefix') !== undefined)
      throw errors.badRequest("Use either 'key' or 'keyPrefix'.");
    const filter =
      one('key') !== undefined
        ? { key: one('key') }
        : one('keyPrefix') !== undefined
          ? { keyPrefix: one('keyPrefix') }
          : undefined;
    frame = { ...base, mode: 'broadcast', topics, filter };
  }
  for (const k of Object.keys(frame)) if (frame[k] === undefined) delete frame[k];
  const parsed = subscribeSchema.safeParse(frame);
  if (!parsed.success)
    throw errors.badRequest(describeIssue(parsed.error).replace('Invalid frame', 'Invalid subscription'));
  return parsed.data;
}

function splitList(v: string): string[] {
  return v.split(',').map((s) => s.trim());
}

/** `earliest` | `latest` | `123` | `@1732550000000` | `@2026-11-25T10:00:00Z`. */
export function parseFrom(v: string): z.infer<typeof startPositionSchema> {
  if (v === 'earliest' || v === 'latest') return v;
  if (/^\d{1,16}$/.test(v)) return { offset: Number(v) };
  if (v.startsWith('@')) {
    const t = v.slice(1);
    const ms = /^\d{1,16}$/.test(t) ? Number(t) : /^\d{4}-\d{2}-\d{2}T/.test(t) ? Date.parse(t) : NaN;
    if (Number.isSafeInteger(ms) && ms >= 0) return { timestamp: ms };
  }
  throw errors.badRequest(`'from': '${v.slice(0, 40)}' is not earliest, latest, an offset, or @time.`);
}

/** A broadcast `filter` as a test on record keys (bytes): exact `key`, or `keyPrefix`; none passes every record. */
export function keyMatcher(filter: SubscribeBroadcast['filter']): (key: Buffer | null) => boolean {
  if (!filter) return () => true;
  if ('key' in filter) {
    const want = Buffer.from(filter.key, 'utf8');
    return (k) => k !== null && k.equals(want);
  }
  const prefix = Buffer.from(filter.keyPrefix, 'utf8');
  return (k) => k !== null && k.length >= prefix.length && k.subarray(0, prefix.length).equals(prefix);
}
