/**
 * `GET /sse?topic=…`: a topic as Server-Sent Events, for browsers' EventSource and `curl -N` (docs/sse.md).
 *
 * Everything refusable is refused before the stream starts, as plain HTTP with the Confluent error body: origin
 * (403), token (401, first like every REST route), query (400), rights (403), Kafka down (503), topic and
 * partitions (404), the replica's stream bound (503 50301). EventSource cannot send headers, so this route
 * authenticates itself, like the WebSocket upgrade: `Authorization: Bearer`, or `?access_token=` when
 * WS_QUERY_TOKEN=true (the access log never prints query strings), or the cookie AUTH_COOKIE_NAME names when set
 * (never logged either). It is registered before the app's bearer-only middleware for that reason.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { ServerResponse } from 'node:http';
import { authorizeConsume, originRefused } from '../../auth/authorize.js';
import { tokenFromCookie, tokenFromUpgrade } from '../../auth/middleware.js';
import { anonymousPrincipal, type Principal } from '../../auth/principal.js';
import { errors } from '../../errors.js';
import type { StartPosition, TopicPartition } from '../../kafka/index.js';
import { decodeEventId } from '../../sse/event-id.js';
import { parseSseQuery } from '../../sse/query.js';
import { ownReader, type RecordSource, SseStream, sharedReader } from '../../sse/stream.js';
import { SseStreams, type StreamSlot } from '../../sse/streams.js';
import { keyMatcher } from '../../ws/protocol.js';
import { normalizeOrigin, originAllowed } from '../../auth/origin.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { errorResponses, route } from '../openapi-common.js';
import { requireKafka } from '../kafka-reachable.js';

export const SSE_PATH = '/sse';

const query = z.object({
  topic: z.string().openapi({ description: 'The topic (one per stream).', example: 'orders' }),
  partition: z
    .string()
    .optional()
    .openapi({ description: 'Comma list of partitions; default every partition of the topic.', example: '0,1' }),
  from: z.string().optional().openapi({
    description:
      'Where a new stream starts on each partition: `latest` (default), `earliest`, an offset, or a time (`@1732550000000`, `@2026-11-25T10:00:00Z`). Ignored when resuming.',
    example: 'earliest',
  }),
  format: z.enum(['json', 'string', 'base64']).optional().openapi({ description: 'How key and value are encoded.' }),
  key: z.string().optional().openapi({ description: 'Only records with exactly this key.' }),
  keyPrefix: z.string().optional().openapi({ description: 'Only records whose key starts with this.' }),
  lastEventId: z.string().optional().openapi({
    description:
      'Resume after this event id, for clients that cannot send the `Last-Event-ID` header (the header wins).',
  }),
  access_token: z
    .string()
    .optional()
    .openapi({ description: 'The JWT, for EventSource (no headers); accepted only when WS_QUERY_TOKEN=true.' }),
});

const sseRoute = createRoute({
  method: 'get',
  path: SSE_PATH,
  tags: ['Streams'],
  summary: 'Read a topic as Server-Sent Events (resumable on any replica)',
  description:
    'A `text/event-stream` of `event: record` events, one per record, whose `data:` is a JSON object `{topic, partition, offset, timestamp, key, value, headers}` (as in the WebSocket `record` frame). ' +
    'The first event is `event: subscribed` with the start positions. Each event id is an opaque position on every partition: reconnecting with `Last-Event-ID` (EventSource does it by itself) to any replica goes on with no record missed and none repeated. ' +
    'A `: keep-alive` comment every SSE_HEARTBEAT_MS. ' +
    'The token: `Authorization: Bearer`, `?access_token=` (WS_QUERY_TOKEN=true), or the cookie AUTH_COOKIE_NAME names (when set). See docs/sse.md.',
  request: {
    query,
    headers: z.object({
      'last-event-id': z.string().optional().openapi({ description: 'Resume after this event (sent by EventSource).' }),
    }),
  },
  responses: {
    200: {
      description:
        'The event stream (never ends on its own; ends when the replica shuts down or the reader is too slow).',
      content: {
        'text/event-stream': { schema: z.string().openapi({ example: 'id: 1.AbCd\nevent: record\ndata: {…}\n\n' }) },
      },
    },
    ...errorResponses([400, 401, 403, 404, 503]),
  },
});

export function sseRoutes(deps: AppDeps) {
  const { config, kafka } = deps;
  const app = new OpenAPIHono<AppEnv>();
  const log = deps.logger.child({ component: 'sse' });
  const streams = new SseStreams(config.SSE_MAX_STREAMS, config.SSE_MAX_READERS, deps.accepting);
  const allowedOrigins = config.WS_ALLOWED_ORIGINS.map(normalizeOrigin);
  const verifier = deps.verifier ?? null;

  const cookieName = config.AUTH_COOKIE_NAME;
  const missingToken = `Missing token: send Authorization: Bearer <jwt>${cookieName ? `, the ${cookieName} cookie,` : ','} or ?access_token=<jwt> where WS_QUERY_TOKEN=true.`;

  /**
   * The token a caller put in the request, in order: the header (or subprotocol), `?access_token=` (opt-in), the
   * AUTH_COOKIE_NAME cookie (opt-in): a token the caller names explicitly wins over the one its browser adds by itself.
   * All of them go through the one verifier, and the origin check has run first (a cookie rides along cross-site).
   */
  async function authenticate(headers: Record<string, string>, url: string): Promise<Principal> {
    if (verifier === null) return anonymousPrincipal;
    const token =
      tokenFromUpgrade({ headers, url }, config).token ??
      (cookieName ? tokenFromCookie(headers.cookie, cookieName) : undefined);
    if (token === undefined) throw errors.unauthorized(missingToken);
    return verifier.verify(token);
  }

  /**
   * A resumed stream whose id is exactly where the shared reader starts now, on every partition, can use it: there is
   * nothing in between to miss. (After a replica restart most reconnecting streams are at the end: they stay cheap.)
   * Otherwise the watch is dropped, with whatever it handed over, and the stream gets a reader of its own.
   */
  async function caughtUp(
    topic: string,
    partitions: TopicPartition[],
    resumeAt: ReadonlyMap<number, number>,
    stream: SseStream,
  ): Promise<RecordSource | undefined> {
    if (!partitions.every((tp) => resumeAt.has(tp.partition))) return undefined;
    const watch = await kafka.consumers.broadcast(topic, stream.sharedSink());
    const start = new Map(watch.positions.map((p) => [p.partition, p.offset]));
    if (partitions.every((tp) => start.get(tp.partition) === resumeAt.get(tp.partition)))
      return sharedReader(
        watch,
        partitions.map((tp) => tp.partition),
      );
    watch.close();
    stream.dropEarly();
    return undefined;
  }

  async function openSource(
    topic: string,
    from: StartPosition,
    partitions: TopicPartition[],
    resumeAt: ReadonlyMap<number, number> | undefined,
    stream: SseStream,
    slot: StreamSlot,
  ): Promise<RecordSource> {
    if (resumeAt) {
      const shared = await caughtUp(topic, partitions, resumeAt, stream);
      if (shared) return shared;
      // The id's position on each partition it names; a partition it does not name was added to the topic since
      // (or to the URL), so all of it is new to this client: from its beginning.
      const offsets = partitions.flatMap((tp) => {
        const offset = resumeAt.get(tp.partition);
        return offset === undefined ? [] : [{ ...tp, offset }];
      });
      slot.takeReader();
      return ownReader(await kafka.consumers.assign({ partitions, from: 'earliest', offsets }, stream.sink()));
    }
    // A new stream from now on reads the topic's shared reader, like a WebSocket broadcast: one Kafka reader however
    // many such streams. A start in the past needs a reader of its own.
    if (from === 'latest')
      return sharedReader(
        await kafka.consumers.broadcast(topic, stream.sharedSink()),
        partitions.map((tp) => tp.partition),
      );
    slot.takeReader();
    return ownReader(await kafka.consumers.assign({ partitions, from }, stream.sink()));
  }

  route(app, sseRoute, async (c) => {
    const headers = Object.fromEntries(c.req.raw.headers);
    if (!originAllowed(headers, allowedOrigins)) throw originRefused('an event stream');
    const principal = await authenticate(headers, c.req.url);
    const q = parseSseQuery(new URL(c.req.url).searchParams);
    authorizeConsume(principal, [q.topic]);
    requireKafka(kafka);
    const info = await kafka.metadata.topic(q.topic);
    if (!info) throw errors.topicNotFound(q.topic);
    for (const p of q.partitions ?? []) if (p >= info.partitions) throw errors.partitionNotFound(q.topic, p);
    const partitions: TopicPartition[] = (q.partitions ?? Array.from({ length: info.partitions }, (_, i) => i)).map(
      (partition) => ({ topic: q.topic, partition }),
    );
    // The header wins: EventSource sends it on every reconnect, while the URL keeps the first value forever.
    const lastId = c.req.header('last-event-id') || q.lastEventId || undefined;
    const resumeAt = lastId === undefined ? undefined : decodeEventId(q.topic, lastId);

    const slot = streams.reserve();
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const stream = new SseStream({
      topic: q.topic,
      format: q.format,
      match: keyMatcher(q.filter),
      heartbeatMs: config.SSE_HEARTBEAT_MS,
      retryMs: config.SSE_RETRY_MS,
      highWaterBytes: config.SSE_SEND_HIGH_WATER_BYTES,
      slowClientMs: config.SSE_SLOW_CLIENT_MS,
      sharedOverflowBytes: config.KAFKA_CONSUMER_FETCH_MAX_BYTES,
      destroyConnection: outgoing ? () => outgoing.destroy() : undefined,
      onClosed: () => slot.release(),
      expiresAt: principal.expiresAt,
      logger: log,
    });
    try {
      const source = await openSource(q.topic, q.from, partitions, resumeAt, stream, slot);
      slot.attach(stream);
      stream.begin(source, resumeAt !== undefined);
    } catch (e) {
      slot.release();
      stream.close('kafka');
      throw e;
    }
    c.header('Content-Type', 'text/event-stream; charset=utf-8');
    c.header('Cache-Control', 'no-cache, no-store');
    // nginx and similar proxies buffer responses unless told not to.
    c.header('X-Accel-Buffering', 'no');
    return c.body(stream.body, 200);
  });
  return app;
}
