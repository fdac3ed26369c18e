/**
 * v2 produce: `POST /topics/{topic}` and `POST /topics/{topic}/partitions/{partition}` (docs/rest-api.md).
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errors } from '../../errors.js';
import { isLegalTopicName } from '../../core/topic-names.js';
import { KeylessSpreader } from '../../core/partitioner.js';
import { authorizeProduce, refuseInternalWrite } from '../../auth/authorize.js';
import type { ProduceRecord, RecordResult } from '../../kafka/index.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { checkBodyHeaders, readBody } from '../body.js';
import { checkAccept, produceFormat } from '../media.js';
import { decodeRecords, parsePartition } from '../records.js';
import {
  overInflightWindow,
  overloadedMessage,
  produceTarget,
  RecordPreparer,
  refuseBeforeBody,
} from '../produce-pipeline.js';
import { V2_JSON } from '../errors.js';
import { errorResponses, route } from '../openapi-common.js';
import { BinaryProduceRequestSchema, JsonProduceRequestSchema, ProduceResponseSchema } from '../schemas.js';

const TopicParam = z.string().openapi({ param: { name: 'topic', in: 'path' }, example: 'test-topic1' });
const PartitionParam = z.string().openapi({ param: { name: 'partition', in: 'path' }, example: '0' });
const RawQuery = z.object({
  key: z.string().optional().openapi({ description: 'raw bodies only: the key, as UTF-8 bytes' }),
  partition: z.string().optional().openapi({ description: 'raw bodies only: the partition' }),
});

const jsonExample = { records: [{ key: 'somekey', value: { hello: 'kafka' } }, { value: [1, 2, 3] }] };
const body = {
  required: true,
  content: {
    'application/vnd.kafka.json.v2+json': { schema: JsonProduceRequestSchema, example: jsonExample },
    'application/vnd.kafka.binary.v2+json': {
      schema: BinaryProduceRequestSchema,
      example: { records: [{ key: 'a2V5', value: 'aGVsbG8=', headers: [{ name: 'trace', value: 'dHJhY2U=' }] }] },
    },
    'application/json': { schema: JsonProduceRequestSchema, example: jsonExample },
    'application/octet-stream': {
      schema: z.string().openapi({ format: 'binary', description: 'one record; the body is its value' }),
      example: 'hello kafka',
    },
    'text/plain': {
      schema: z.string().openapi({ description: 'one record; the body is its value' }),
      example: 'hello kafka',
    },
  },
};

const responses = {
  200: {
    description: 'One offsets entry per record, in request order (per-record errors carry error_code 50002/50003).',
    content: { [V2_JSON]: { schema: ProduceResponseSchema } },
  },
  ...errorResponses([400, 401, 403, 404, 406, 413, 415, 422, 429, 503]),
};

export const produceRoute = createRoute({
  method: 'post',
  path: '/topics/{topic}',
  tags: ['v2 produce'],
  summary: 'Produce records to a topic',
  request: { params: z.object({ topic: TopicParam }), query: RawQuery, body },
  responses,
});

export const producePartitionRoute = createRoute({
  method: 'post',
  path: '/topics/{topic}/partitions/{partition}',
  tags: ['v2 produce'],
  summary: 'Produce records to one partition',
  request: { params: z.object({ topic: TopicParam, partition: PartitionParam }), query: RawQuery, body },
  responses,
});

export function produceRoutes(deps: AppDeps) {
  const { config, kafka } = deps;
  const spreader = new KeylessSpreader();
  const app = new OpenAPIHono<AppEnv>();

  async function produce(c: Context<AppEnv>, topic: string, pathPartition: number | undefined) {
    if (!isLegalTopicName(topic)) throw errors.topicNotFound(topic);
    // Before the body is looked at: nobody, admins included, writes to Kafka's own topics.
    refuseInternalWrite(topic);
    const format = produceFormat(c.req.header('content-type'));
    checkAccept(c.req.header('accept'));
    const principal = c.get('principal');
    authorizeProduce(principal, topic);
    // The body's own limits first (a 413 is final), then the 503s (worth retrying): all before the body is read.
    checkBodyHeaders(c, config.MAX_BODY_BYTES);
    refuseBeforeBody(kafka, config);

    const raw = await readBody(c, config.MAX_BODY_BYTES);
    const decoded = decodeRecords(raw, {
      format,
      maxRecords: config.MAX_RECORDS_PER_REQUEST,
      pathPartition,
      query: { key: c.req.query('key'), partition: c.req.query('partition') },
    });

    deps.rateLimiter?.takeOrThrow(principal.sub, decoded.length);

    const target = await produceTarget(kafka, topic);
    const preparer = new RecordPreparer(target, config, principal.sub);
    const keyless = spreader.pick(topic, target.partitions);
    const records: ProduceRecord[] = new Array(decoded.length);
    let bytes = 0;
    for (let i = 0; i < decoded.length; i++) {
      const { record, size } = preparer.prepare(decoded[i]!, keyless, `records[${i}]`);
      bytes += size;
      records[i] = record;
    }
    if (overInflightWindow(kafka, config, bytes)) throw errors.overloaded(overloadedMessage);

    const results = await kafka.producer.send(topic, records);
    c.header('Content-Type', V2_JSON);
    return c.body(produceResponseJson(results), 200);
  }

  route(app, produceRoute, (c) => produce(c, c.req.param('topic')!, undefined));
  route(app, producePartitionRoute, (c) => {
    const topic = c.req.param('topic')!;
    return produce(c, topic, pathPartition(topic, c.req.param('partition')!));
  });
  return app;
}

/** A path partition that is not a non-negative int32 cannot exist: 404 40402. */
export function pathPartition(topic: string, raw: string): number {
  const p = /^\d{1,10}$/.test(raw) ? parsePartition(raw, 'partition') : undefined;
  if (p === undefined || p > 0x7fffffff) throw errors.partitionNotFound(topic, raw);
  return p;
}

/**
 * The v2 produce response, `{"key_schema_id":null,"value_schema_id":null,"offsets":[…]}` with one
 * `{"partition","offset","error_code","error"}` entry per record, written out directly: for a 100-record request
 * this is a third of the cost of building the objects and calling JSON.stringify, which the gateway paid for every
 * request (docs/performance.md "P5").
 */
export function produceResponseJson(results: readonly RecordResult[]): string {
  let s = '{"key_schema_id":null,"value_schema_id":null,"offsets":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (i > 0) s += ',';
    s += r.ok
      ? `{"partition":${int(r.partition)},"offset":${int(r.offset)},"error_code":null,"error":null}`
      : `{"partition":${int(r.partition)},"offset":null,"error_code":${int(r.errorCode)},"error":${JSON.stringify(r.message)}}`;
  }
  return `${s}]}`;
}

/** A number as JSON.stringify writes it (null for one that is not finite). */
function int(n: number | null): string {
  return n !== null && Number.isFinite(n) ? String(n) : 'null';
}
