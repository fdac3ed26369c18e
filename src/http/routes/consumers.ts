/**
 * The Confluent v2 consumer API: `/consumers/{group}` and `/consumers/{group}/instances/{instance}/...`
 * (docs/consuming-over-http.md). Any replica serves any instance: a call for an instance this replica does not
 * hold is forwarded, signed, to the replica that does (src/consumers/peers.ts); the client never notices.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { ZodType } from 'zod';
import { ErrorCodes, type GatewayError, errors } from '../../errors.js';
import { authorizeConsume, authorizeGroup, canConsume } from '../../auth/authorize.js';
import { isLegalTopicName } from '../../core/topic-names.js';
import type { TopicPartition } from '../../kafka/index.js';
import { baseUri } from '../../consumers/base-uri.js';
import { type ConsumerInstance, type InstanceConfig, illegalState, notFound } from '../../consumers/instance.js';
import { PEER_SIGNATURE_HEADER, PEER_TIME_HEADER, PeerAuth } from '../../consumers/peer-auth.js';
import { LOOKUP_PATH, PEER_VIA_HEADER, Peers } from '../../consumers/peers.js';
import { encodeRecords, recordsMediaType, checkRecordsAccept } from '../../consumers/records.js';
import { exists, INSTANCE_NAME, InstanceRegistry } from '../../consumers/registry.js';
import {
  CommittedOffsetsSchema,
  ConsumerRecordSchema,
  CreateConsumerResponseSchema,
  CreateConsumerSchema,
  OffsetsRequestSchema,
  PartitionsSchema,
  SubscriptionRequestSchema,
  SubscriptionSchema,
} from '../consumer-schemas.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { readBody } from '../body.js';
import { V2_JSON } from '../errors.js';
import { parseJsonBody } from '../json.js';
import { checkAccept, requireJsonBody } from '../media.js';
import { errorResponses, route } from '../openapi-common.js';
import { requireKafka } from '../kafka-reachable.js';

/** Group ids longer than this are refused (Kafka has no limit; URLs and logs need one). */
const MAX_GROUP_LENGTH = 255;
/** How long a forwarded subscribe or assign may take (a group join waits for the group's rebalance). */
const JOIN_WAIT_MS = 65_000;

const GroupParam = z.string().openapi({ param: { name: 'group', in: 'path' }, example: 'my_group' });
const InstanceParam = z.string().openapi({ param: { name: 'instance', in: 'path' }, example: 'my_consumer' });
const instanceParams = z.object({ group: GroupParam, instance: InstanceParam });
const jsonBody = (schema: ZodType, example: unknown, required = true) => ({
  required,
  content: { [V2_JSON]: { schema, example }, 'application/json': { schema, example } },
});
const PARTITIONS_EXAMPLE = { partitions: [{ topic: 'orders', partition: 0 }] };
const OFFSETS_EXAMPLE = { offsets: [{ topic: 'orders', partition: 0, offset: 41 }] };
const noContent = { 204: { description: 'Done' } };
const ok = (schema: ZodType, description: string) => ({ 200: { description, content: { [V2_JSON]: { schema } } } });
const TAG = ['v2 consumers'];
const INSTANCE_ERRORS = [400, 401, 403, 404, 406, 409, 415, 422, 503];

export interface ConsumerRoutesOptions {
  /** The process's instances (shared with the shutdown); created here when absent (tests). */
  registry?: InstanceRegistry;
}

export function consumerRoutes(deps: AppDeps, options: ConsumerRoutesOptions = {}) {
  const { config, kafka } = deps;
  const log = deps.logger.child({ component: 'http-consumers' });
  const registry = options.registry ?? new InstanceRegistry(kafka, config, log);
  const auth = config.PEER_SECRET ? new PeerAuth(config.PEER_SECRET) : undefined;
  const peers =
    auth && config.PEER_URLS.length > 0 ? new Peers(config.PEER_URLS, auth, config.PEER_TIMEOUT_MS, log) : undefined;
  // The other worker processes of this pod (WORKERS > 1): asked first, over loopback.
  const siblings = auth && deps.siblings ? new Peers(deps.siblings, auth, config.PEER_TIMEOUT_MS, log) : undefined;
  const app = new OpenAPIHono<AppEnv>();

  function groupOf(c: Context<AppEnv>): string {
    const group = c.req.param('group')!;
    if (group.length === 0 || group.length > MAX_GROUP_LENGTH)
      throw errors.unprocessable(
        `Group ids are 1 to ${MAX_GROUP_LENGTH} characters.`,
        ErrorCodes.INVALID_CONSUMER_CONFIG,
      );
    authorizeGroup(c.get('principal'), group);
    return group;
  }

  /** Was this request forwarded by a peer? A signature that does not verify is refused, never ignored. */
  function fromPeer(c: Context<AppEnv>, body: Buffer): boolean {
    const signature = c.req.header(PEER_SIGNATURE_HEADER);
    if (signature === undefined) return false;
    const u = new URL(c.req.url);
    const parts = {
      method: c.req.method,
      path: u.pathname + u.search,
      authorization: c.req.header('authorization') ?? '',
      body,
    };
    if (!auth?.verify(parts, c.req.header(PEER_TIME_HEADER), signature)) {
      log.warn({ reqId: c.get('requestId') }, 'request with a bad peer signature refused');
      throw errors.forbidden('Invalid peer signature.');
    }
    return true;
  }

  /** A call from a sibling worker (only asked once fromPeer verified it): answered from this worker alone. */
  const fromSibling = (c: Context<AppEnv>) => c.req.header(PEER_VIA_HEADER) === 'sibling';

  /**
   * Every call on an instance: rights on the group, then the instance here (its owner only), or the replica that
   * holds it, or 40403.
   */
  function onInstance(
    suffix: string,
    handler: (c: Context<AppEnv>, i: ConsumerInstance, body: Buffer) => Promise<Response>,
  ) {
    return async (c: Context<AppEnv>) => {
      const group = groupOf(c);
      const name = c.req.param('instance')!;
      const principal = c.get('principal');
      const body = await requestBody(c, config.MAX_BODY_BYTES);
      const local = registry.get(group, name, principal.sub);
      if (local) return local.run(() => handler(c, local, body));
      // A peer's call is passed on to this pod's siblings only (the peer asked its own replicas already); a sibling's
      // is answered here alone (no loops).
      const peer = fromPeer(c, body);
      if ((peer && (fromSibling(c) || !siblings)) || (!peers && !siblings) || !INSTANCE_NAME.test(name))
        throw notFound(group, name);
      const headers: Record<string, string> = {};
      for (const h of ['accept', 'content-type', 'x-request-id']) {
        const v = c.req.header(h);
        if (v !== undefined) headers[h] = v;
      }
      const path = `/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}${suffix}${new URL(c.req.url).search}`;
      const call = { method: c.req.method, path, authorization: c.req.header('authorization') ?? '', headers, body };
      const wait = JOIN_WAIT_MS + config.CONSUMER_MAX_REQUEST_TIMEOUT_MS;
      const res =
        (await siblings?.forward(group, name, call, wait)) ??
        (peer ? undefined : await peers?.forward(group, name, call, wait));
      if (!res) throw notFound(group, name);
      return new Response(res.status === 204 ? null : res.body, {
        status: res.status,
        headers: res.headers,
      });
    };
  }

  function instanceRoute(
    method: 'get' | 'post' | 'delete',
    suffix: string,
    spec: Omit<Parameters<typeof createRoute>[0], 'method' | 'path'>,
    handler: (c: Context<AppEnv>, i: ConsumerInstance, body: Buffer) => Promise<Response>,
  ) {
    route(
      app,
      createRoute({ method, path: `/consumers/{group}/instances/{instance}${suffix}`, tags: TAG, ...spec }),
      onInstance(suffix, handler),
    );
  }

  // ---- create ----
  route(
    app,
    createRoute({
      method: 'post',
      path: '/consumers/{group}',
      tags: TAG,
      summary: 'Create a consumer instance in a group (on this replica; any replica serves it afterwards)',
      request: {
        params: z.object({ group: GroupParam }),
        body: jsonBody(CreateConsumerSchema, { name: 'my_consumer', format: 'json', 'auto.offset.reset': 'earliest' }),
      },
      responses: {
        ...ok(CreateConsumerResponseSchema, 'The instance id and its URL'),
        ...errorResponses([400, 401, 403, 406, 409, 415, 422, 429, 503]),
      },
    }),
    async (c) => {
      const group = groupOf(c);
      checkAccept(c.req.header('accept'));
      const parsed = parse(c, await requestBody(c, config.MAX_BODY_BYTES), CreateConsumerSchema, true) ?? {};
      const name = parsed.name;
      if (name !== undefined && !INSTANCE_NAME.test(name))
        throw invalidConfig('name: 1 to 128 characters from A-Z, a-z, 0-9, ".", "_" and "-".');
      const instanceConfig = toInstanceConfig(parsed, {
        maxBytes: config.CONSUMER_MAX_RESPONSE_BYTES,
        idleDefault: config.CONSUMER_INSTANCE_TIMEOUT_MS,
        idleMax: config.CONSUMER_INSTANCE_TIMEOUT_MAX_MS,
      });
      const sub = c.get('principal').sub;
      if (name !== undefined) {
        if (registry.presence(group, name, sub) !== 'none') throw exists(name);
        const authorization = c.req.header('authorization') ?? '';
        for (const others of [siblings, peers])
          if (others && (await others.find(group, name, authorization)).presence !== 'none') throw exists(name);
      }
      requireKafka(kafka);
      const instance = registry.create(group, name, sub, instanceConfig);
      return send(c, { instance_id: instance.name, base_uri: baseUri(config, c.req, group, instance.name) });
    },
  );

  // ---- the peers' lookup (not in the OpenAPI document: replicas only, signed) ----
  app.post(LOOKUP_PATH, async (c) => {
    const body = await readBody(c, 4096);
    if (!fromPeer(c, body)) throw errors.forbidden('Peers only.');
    const q = parse(c, body, z.object({ group: z.string(), name: z.string() }), false)!;
    let presence = registry.presence(q.group, q.name, c.get('principal').sub);
    // From another pod: the instance may live in a sibling worker (a forwarded call will be passed on to it).
    if (presence !== 'owned' && siblings && !fromSibling(c)) {
      const there = (await siblings.find(q.group, q.name, c.req.header('authorization') ?? '')).presence;
      if (there === 'owned' || presence === 'none') presence = there;
    }
    const signature = auth!.signAnswer(c.req.header(PEER_SIGNATURE_HEADER)!, presence);
    return c.json({ presence, signature });
  });

  // ---- delete ----
  instanceRoute(
    'delete',
    '',
    {
      summary: 'Delete the instance: commits what auto-commit owes and leaves the group at once',
      request: { params: instanceParams },
      responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i) => {
      await registry.remove(i);
      return c.body(null, 204);
    },
  );

  // ---- subscription ----
  instanceRoute(
    'post',
    '/subscription',
    {
      summary: 'Subscribe to topics (or a pattern, matched now): a member of the group, partitions balanced by Kafka',
      request: { params: instanceParams, body: jsonBody(SubscriptionRequestSchema, { topics: ['orders'] }) },
      responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i, body) => {
      const req = parse(c, body, SubscriptionRequestSchema, false)!;
      const principal = c.get('principal');
      if (req.topics !== undefined && req.topic_pattern !== undefined)
        throw illegalState('Subscription to topics and to a pattern are mutually exclusive.');
      let topics: string[];
      if (req.topic_pattern !== undefined) {
        const re = pattern(req.topic_pattern);
        topics = (await kafka.metadata.listTopics()).filter((t) => re.test(t) && canConsume(principal, t)).sort();
        if (topics.length === 0) throw invalidConfig(`No topic you may consume matches '${req.topic_pattern}'.`);
      } else {
        topics = [...new Set(req.topics ?? [])];
        if (topics.length === 0) throw invalidConfig('topics must not be empty (or give topic_pattern).');
        authorizeConsume(principal, topics);
        await requireTopicsExist(topics);
      }
      await i.subscribe(topics);
      return c.body(null, 204);
    },
  );
  instanceRoute(
    'get',
    '/subscription',
    {
      summary: 'The topics the instance is subscribed to',
      request: { params: instanceParams },
      responses: { ...ok(SubscriptionSchema, 'Subscribed topics'), ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i) => {
      authorizeConsume(c.get('principal'), i.topics);
      return send(c, { topics: i.subscription() });
    },
  );
  instanceRoute(
    'delete',
    '/subscription',
    {
      summary: 'Unsubscribe (leaves the group; the instance stays)',
      request: { params: instanceParams },
      responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i) => {
      await i.unsubscribe();
      return c.body(null, 204);
    },
  );

  // ---- assignments ----
  instanceRoute(
    'post',
    '/assignments',
    {
      summary: 'Read these partitions (no group balancing); each starts at the group commit, else auto.offset.reset',
      request: { params: instanceParams, body: jsonBody(PartitionsSchema, PARTITIONS_EXAMPLE) },
      responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i, body) => {
      const partitions = unique(parse(c, body, PartitionsSchema, false)!.partitions);
      if (partitions.length === 0) throw invalidConfig('partitions must not be empty.');
      authorizeConsume(
        c.get('principal'),
        partitions.map((p) => p.topic),
      );
      await requirePartitionsExist(partitions);
      await i.assign(partitions);
      return c.body(null, 204);
    },
  );
  instanceRoute(
    'get',
    '/assignments',
    {
      summary: 'The partitions the instance reads now',
      request: { params: instanceParams },
      responses: { ...ok(PartitionsSchema, 'Assigned partitions'), ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i) => {
      authorizeConsume(c.get('principal'), i.topics);
      return send(c, { partitions: i.assignment().map(({ topic, partition }) => ({ topic, partition })) });
    },
  );

  // ---- positions ----
  instanceRoute(
    'post',
    '/positions',
    {
      summary: 'Seek: the next records call reads these partitions from these offsets',
      request: { params: instanceParams, body: jsonBody(OffsetsRequestSchema, OFFSETS_EXAMPLE) },
      responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i, body) => {
      const offsets = parse(c, body, OffsetsRequestSchema, false)!.offsets;
      authorizeConsume(c.get('principal'), [...i.topics, ...offsets.map((o) => o.topic)]);
      await i.seek(offsets);
      return c.body(null, 204);
    },
  );
  for (const end of ['beginning', 'end'] as const)
    instanceRoute(
      'post',
      `/positions/${end}`,
      {
        summary: `Seek these partitions to their ${end === 'beginning' ? 'first' : 'next (after the last)'} offset`,
        request: { params: instanceParams, body: jsonBody(PartitionsSchema, PARTITIONS_EXAMPLE) },
        responses: { ...noContent, ...errorResponses(INSTANCE_ERRORS) },
      },
      async (c, i, body) => {
        const partitions = unique(parse(c, body, PartitionsSchema, false)!.partitions);
        authorizeConsume(c.get('principal'), [...i.topics, ...partitions.map((p) => p.topic)]);
        const mine = new Set(i.assignment().map((p) => `${p.partition}:${p.topic}`));
        const foreign = partitions.filter((p) => !mine.has(`${p.partition}:${p.topic}`));
        if (foreign.length > 0 || partitions.length === 0)
          throw illegalState(
            `No current assignment for partition(s): ${foreign.map((p) => `${p.topic}/${p.partition}`).join(', ')}.`,
          );
        const bounds = await i.bounds(partitions);
        await i.seek(bounds.map((b) => ({ ...b.tp, offset: end === 'beginning' ? b.low : b.high })));
        return c.body(null, 204);
      },
    );

  // ---- offsets ----
  instanceRoute(
    'post',
    '/offsets',
    {
      summary:
        'Commit: each offset is the last record processed (Kafka stores offset + 1); no body commits all fetched',
      request: { params: instanceParams, body: jsonBody(OffsetsRequestSchema, OFFSETS_EXAMPLE, false) },
      responses: { 200: { description: 'Committed' }, ...errorResponses([...INSTANCE_ERRORS, 500]) },
    },
    async (c, i, body) => {
      const req = parse(c, body, OffsetsRequestSchema, true);
      const offsets = req?.offsets.length ? req.offsets : undefined;
      authorizeConsume(c.get('principal'), [...i.topics, ...(offsets ?? []).map((o) => o.topic)]);
      await i.commit(offsets?.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset + 1 })));
      return c.body(null, 200);
    },
  );
  instanceRoute(
    'get',
    '/offsets',
    {
      summary: "The group's committed offsets (the next offset to read) for these partitions; -1 where none",
      request: { params: instanceParams, body: jsonBody(PartitionsSchema, PARTITIONS_EXAMPLE) },
      responses: { ...ok(CommittedOffsetsSchema, 'Committed offsets'), ...errorResponses(INSTANCE_ERRORS) },
    },
    async (c, i, body) => {
      const partitions = unique(parse(c, body, PartitionsSchema, false)!.partitions);
      authorizeConsume(
        c.get('principal'),
        partitions.map((p) => p.topic),
      );
      await requirePartitionsExist(partitions);
      const committed = await i.committed(partitions);
      return send(c, { offsets: committed.map((o) => ({ ...o, metadata: '' })) });
    },
  );

  // ---- records ----
  instanceRoute(
    'get',
    '/records',
    {
      summary: 'Fetch records: waits up to `timeout` ms for some, returns at most `max_bytes` (at least one record)',
      request: {
        params: instanceParams,
        query: z.object({
          timeout: z.string().optional().openapi({ description: 'ms; default consumer.request.timeout.ms; capped' }),
          max_bytes: z.string().optional().openapi({ description: 'bytes of keys and values; capped' }),
        }),
      },
      responses: {
        200: {
          description: 'Records, in order per partition (Content-Type names the instance format)',
          content: {
            'application/vnd.kafka.json.v2+json': { schema: z.array(ConsumerRecordSchema) },
            'application/vnd.kafka.binary.v2+json': { schema: z.array(ConsumerRecordSchema) },
            'application/vnd.kafka.string.v2+json': { schema: z.array(ConsumerRecordSchema) },
          },
        },
        ...errorResponses([...INSTANCE_ERRORS, 500]),
      },
    },
    async (c, i) => {
      checkRecordsAccept(c.req.header('accept'), i.config.format);
      authorizeConsume(c.get('principal'), i.topics);
      const timeout = queryInt(c, 'timeout', i.config.requestTimeoutMs, config.CONSUMER_MAX_REQUEST_TIMEOUT_MS);
      const maxBytes = queryInt(c, 'max_bytes', config.CONSUMER_MAX_RESPONSE_BYTES, config.CONSUMER_MAX_RESPONSE_BYTES);
      const records = await i.records(timeout, maxBytes);
      c.header('Content-Type', recordsMediaType(i.config.format));
      return c.body(encodeRecords(records, i.config.format), 200);
    },
  );

  async function requireTopicsExist(topics: string[]): Promise<void> {
    requireKafka(kafka);
    for (const t of topics) if (!isLegalTopicName(t) || !(await kafka.metadata.topic(t))) throw errors.topicNotFound(t);
  }

  async function requirePartitionsExist(partitions: TopicPartition[]): Promise<void> {
    await requireTopicsExist([...new Set(partitions.map((p) => p.topic))]);
    for (const p of partitions) {
      const meta = await kafka.metadata.topic(p.topic);
      if (!meta || p.partition >= meta.partitions) throw errors.partitionNotFound(p.topic, p.partition);
    }
  }

  return { app, registry };
}

function send(c: Context<AppEnv>, body: unknown): Response {
  c.header('Content-Type', V2_JSON);
  return c.body(JSON.stringify(body), 200);
}

function invalidConfig(message: string): GatewayError {
  return errors.unprocessable(message, ErrorCodes.INVALID_CONSUMER_CONFIG);
}

/** A body checked with the route's schema: 400 for bad JSON, 422 42204 for a shape that does not fit. */
function parse<T extends ZodType>(
  c: Context<AppEnv>,
  body: Buffer,
  schema: T,
  optional: boolean,
): z.infer<T> | undefined {
  if (body.length === 0 || body.toString('utf8').trim() === '') {
    if (optional) return undefined;
    throw errors.badRequest('Request body is empty; expected JSON.');
  }
  requireJsonBody(c.req.header('content-type'));
  const value = parseJsonBody(body).value;
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw invalidConfig(`${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`);
  }
  return r.data as z.infer<T>;
}

function unique<T extends TopicPartition>(ps: T[]): T[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = `${p.partition}:${p.topic}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function pattern(src: string): RegExp {
  try {
    // Whole-name match, as Kafka's pattern subscription does.
    return new RegExp(`^(?:${src})$`);
  } catch {
    throw invalidConfig(`topic_pattern is not a valid regular expression.`);
  }
}

function queryInt(c: Context<AppEnv>, name: string, def: number, cap: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return Math.min(def, cap);
  if (!/^\d{1,15}$/.test(raw)) throw errors.badRequest(`${name} must be a non-negative integer.`);
  return Math.min(Number(raw), cap);
}

type CreateBody = z.infer<typeof CreateConsumerSchema>;

function toInstanceConfig(
  b: CreateBody,
  settings: { maxBytes: number; idleDefault: number; idleMax: number },
): InstanceConfig {
  const format = b.format === undefined ? 'binary' : String(b.format).toLowerCase();
  if (format !== 'json' && format !== 'binary' && format !== 'string')
    throw invalidConfig(
      ['avro', 'jsonschema', 'protobuf'].includes(format)
        ? `format ${format} needs a schema registry, which this gateway does not have; use json, binary or string.`
        : 'format: expected json, binary or string.',
    );
  const reset = b['auto.offset.reset'] === undefined ? 'latest' : String(b['auto.offset.reset']).toLowerCase();
  if (reset !== 'earliest' && reset !== 'latest')
    throw invalidConfig('auto.offset.reset: expected earliest or latest.');
  const commit = b['auto.commit.enable'] === undefined ? 'true' : String(b['auto.commit.enable']).toLowerCase();
  if (commit !== 'true' && commit !== 'false') throw invalidConfig('auto.commit.enable: expected true or false.');
  return {
    format,
    autoOffsetReset: reset,
    autoCommit: commit === 'true',
    fetchMinBytes: configInt(b['fetch.min.bytes'], 'fetch.min.bytes', 1, 0, settings.maxBytes),
    requestTimeoutMs: configInt(b['consumer.request.timeout.ms'], 'consumer.request.timeout.ms', 1000, 0, 3_600_000),
    idleTimeoutMs: Math.min(
      configInt(
        b['consumer.instance.timeout.ms'],
        'consumer.instance.timeout.ms',
        settings.idleDefault,
        1000,
        Number.MAX_SAFE_INTEGER,
      ),
      settings.idleMax,
    ),
  };
}

function configInt(v: unknown, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const s = String(v).trim();
  const n = Number(s);
  if (!/^-?\d{1,16}$/.test(s) || n < min || n > max)
    throw invalidConfig(`${name}: expected a whole number from ${min} to ${max}.`);
  return n;
}

/** A body on any method: hono's Request has none for GET, but Confluent's `GET offsets` carries one. */
async function requestBody(c: Context<AppEnv>, maxBytes: number): Promise<Buffer> {
  if (c.req.method !== 'GET') return readBody(c, maxBytes);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || incoming.readableEnded) return Buffer.alloc(0);
  const declared = Number(incoming.headers['content-length'] ?? 0);
  if (!incoming.headers['transfer-encoding'] && !(declared > 0)) return Buffer.alloc(0);
  if (declared > maxBytes)
    throw errors.tooLarge(`Request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES).`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      throw errors.tooLarge(`Request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES).`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
