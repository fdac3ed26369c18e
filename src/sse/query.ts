/**
 * `GET /sse?topic=…` query → what the stream reads. The parameters mean what they mean in the `/ws?topic=`
 * shortcut, and are checked by its parser (src/ws/protocol.ts), so there is one rule for topic names, partition
 * lists, `from`, `format` and key filters. SSE differs in two ways: there are no groups (a stream keeps its own
 * position, in its event ids), and `from` applies to every partition read, also without `partition`.
 */
import { errors } from '../errors.js';
import type { StartPosition } from '../kafka/index.js';
import {
  DEFAULTS,
  parseFrom,
  parseShortcut,
  type Format,
  type SubscribeAssign,
  type SubscribeBroadcast,
} from '../ws/protocol.js';

export interface SseQuery {
  topic: string;
  /** The partitions named by `partition`; undefined = every partition of the topic. */
  partitions?: number[] | undefined;
  from: StartPosition;
  format: Format;
  filter?: SubscribeBroadcast['filter'];
  /** `lastEventId`: for clients that cannot set the Last-Event-ID header (the header wins when both are sent). */
  lastEventId?: string | undefined;
}

const PARAMS = new Set(['topic', 'partition', 'from', 'format', 'key', 'keyPrefix', 'lastEventId', 'access_token']);
/** WebSocket shortcut parameters that mean nothing for a stream: named in the 400 so the caller knows why. */
const WS_ONLY = new Set(['group', 'ack', 'window']);

export function parseSseQuery(params: URLSearchParams): SseQuery {
  for (const k of params.keys()) {
    if (WS_ONLY.has(k))
      throw errors.badRequest(`'${k}' is a WebSocket parameter: an SSE stream has no group and needs no acks.`);
    if (!PARAMS.has(k)) throw errors.badRequest(`Unknown query parameter '${k.slice(0, 40)}'.`);
    if (k !== 'access_token' && params.getAll(k).length > 1)
      throw errors.badRequest(`Query parameter '${k}' given more than once.`);
  }
  const topic = params.get('topic');
  if (topic === null) throw errors.badRequest("Query parameter 'topic' is required.");
  const pick = (...names: string[]) => {
    const out = new URLSearchParams({ topic });
    for (const n of names) {
      const v = params.get(n);
      if (v !== null) out.set(n, v);
    }
    return out;
  };
  // Topic, format and key filter as a broadcast shortcut would take them; partitions as an assign shortcut would.
  const watch = parseShortcut(pick('format', 'key', 'keyPrefix')) as SubscribeBroadcast;
  if (watch.topics.length !== 1) throw errors.badRequest('One topic per stream: open one stream per topic.');
  let partitions: number[] | undefined;
  if (params.has('partition'))
    partitions = (parseShortcut(pick('partition')) as SubscribeAssign).partitions.map((p) => p.partition);
  const from = params.get('from');
  const lastEventId = params.get('lastEventId') ?? undefined;
  return {
    topic: watch.topics[0]!,
    partitions,
    from: from === null ? DEFAULTS.from : parseFrom(from),
    format: watch.format ?? DEFAULTS.format,
    filter: watch.filter,
    lastEventId,
  };
}
