/**
 * Confluent v3 produce: `POST /v3/clusters/{cluster_id}/topics/{topic_name}/records` (one record, or many JSON
 * objects one after another in a streamed body, one report each) and `.../records:batch` (207, one result per
 * entry id). Same partitioning, rights, limits and producer as v2 (src/http/produce-pipeline.ts).
 *
 * Refusals that concern the whole request (Content-Type, Accept, unknown cluster, illegal or unknown topic,
 * rights, no broker) are answered with their HTTP status before anything is read; once the stream is answering,
 * the status is 200 and each record's own problem is reported inline with its `error_code`, as Confluent does.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ErrorCodes, GatewayError, errors, truncate } from '../../errors.js';
import { authorizeProduce } from '../../auth/authorize.js';
import { KeylessSpreader } from '../../core/partitioner.js';
import { isLegalTopicName } from '../../core/topic-names.js';
import type { ProduceRecord } from '../../kafka/index.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { bodyChunks, checkBodyHeaders, readBody } from '../body.js';
import { parseJsonBody } from '../json.js';
import { V3_ACCEPTABLE, checkAccept, requireJsonBody } from '../media.js';
import { errorResponses, route } from '../openapi-common.js';
import {
  overInflightWindow,
  overloadedMessage,
  produceTarget,
  RecordPreparer,
  refuseBeforeBody,
} from '../produce-pipeline.js';
import { errorReport, ProduceStream, successReport } from '../produce-stream.js';
import { decodeV3Batch, type V3Record } from '../records-v3.js';
import {
  V3BatchRequestSchema,
  V3BatchResponseSchema,
  V3ProduceRequestSchema,
  V3ProduceResponseSchema,
} from '../schemas.js';

const params = z.object({
  cluster_id: z.string().openapi({ param: { name: 'cluster_id', in: 'path' } }),
  topic_name: z.string().openapi({ param: { name: 'topic_name', in: 'path' }, example: 'orders' }),
});

const recordsRoute = createRoute({
  method: 'post',
  path: '/v3/clusters/{cluster_id}/topics/{topic_name}/records',
  tags: ['v3 records'],
  summary: 'Produce one record, or stream many (one report each)',
  description:
    'One JSON record object → one report. Streaming: send many record objects one after another in one body ' +
    '(`Transfer-Encoding: chunked`; whitespace or nothing between them); each gets one report, in order, ' +
    'written as Kafka acknowledges it, each followed by `\\r\\n`. A report with `error_code` 200 means the record ' +
    'is in Kafka; any other `error_code` (400 bad JSON or data, 404 40402 unknown partition, 413 too large, 429, ' +
    '50002/50003 Kafka errors, 503 50301 overloaded) concerns that record alone and the stream goes on.',
  request: {
    params,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: V3ProduceRequestSchema,
          example: {
            key: { type: 'STRING', data: 'order-17' },
            value: { type: 'JSON', data: { amount: 42 } },
            headers: [{ name: 'source', value: 'd2Vi' }],
            timestamp: '2026-12-02T10:00:00Z',
          },
        },
      },
    },
  },
  responses: {
    200: {
      description: 'One report per record, in order, each followed by \\r\\n (a single record: one report).',
      content: { 'application/json': { schema: V3ProduceResponseSchema } },
    },
    ...errorResponses([400, 401, 403, 404, 406, 413, 415, 422, 429, 503]),
  },
});

const batchRoute = createRoute({
  method: 'post',
  path: '/v3/clusters/{cluster_id}/topics/{topic_name}/records:batch',
  tags: ['v3 records'],
  summary: 'Produce a batch of records (207, one result per entry id)',
  request: {
    params,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: V3BatchRequestSchema,
          example: {
            entries: [
              { id: '1', value: { type: 'STRING', data: 'first' } },
              { id: '2', key: { type: 'BINARY', data: 'a2V5' }, value: { type: 'JSON', data: { n: 2 } } },
            ],
          },
        },
      },
    },
  },
  responses: {
    207: {
      description: 'One entry per request entry, by id: in `successes` (written) or `failures` (error_code, message).',
      content: { 'application/json': { schema: V3BatchResponseSchema } },
    },
    ...errorResponses([400, 401, 403, 404, 406, 413, 415, 422, 429, 503]),
  },
});

/** hono would read `records:batch` as `records` plus a parameter named `batch`: match the literal with a pattern. */
const BATCH_HONO_PATH = '/v3/clusters/:cluster_id/topics/:topic_name/:op{records:batch}';

export function recordsV3Routes(deps: AppDeps) {
  const { config, kafka, logger } = deps;
  const log = logger.child({ component: 'records-v3' });
  const spreader = new KeylessSpreader();
  const app = new OpenAPIHono<AppEnv>();

  /** The checks that refuse the whole request, in Confluent's order of concerns; returns the cluster id. */
  async function admit(c: Context<AppEnv>, topic: string): Promise<string> {
    requireJsonBody(c.req.header('content-type'));
    checkAccept(c.req.header('accept'), V3_ACCEPTABLE);
    if (!isLegalTopicName(topic))
      throw errors.unprocessable(
        `Illegal topic name '${truncate(topic)}': 1 to 249 characters of [a-zA-Z0-9._-], not '.' or '..'.`,
        ErrorCodes.INVALID_TOPIC_NAME,
      );
    authorizeProduce(c.get('principal'), topic);
    refuseBeforeBody(kafka, config);
    const { clusterId } = await kafka.metadata.cluster();
    const asked = c.req.param('cluster_id')!;
    if (asked !== clusterId)
      throw new GatewayError(404, ErrorCodes.NOT_FOUND, `Cluster '${truncate(asked, 100)}' not found.`);
    return clusterId;
  }

  route(app, recordsRoute, async (c) => {
    const topic = c.req.param('topic_name')!;
    const clusterId = await admit(c, topic);
    const target = await produceTarget(kafka, topic);
    const stream = new ProduceStream({
      kafka,
      config,
      target,
      clusterId,
      sub: c.get('principal').sub,
      spreader,
      rateLimiter: deps.rateLimiter,
      logger: log,
      signal: c.req.raw.signal,
    });
    void stream.run(bodyChunks(c));
    // The status line waits for the first record, so an empty body (or one the coding cannot read) is still a
    // plain error answer.
    // 42206 is Confluent's "invalid payload" code (the same as for an illegal topic name).
    if ((await stream.first) === 'empty')
      throw errors.unprocessable('Request body is empty. Data is required.', ErrorCodes.INVALID_TOPIC_NAME);
    // Ours: a plain single request (a body of declared length holding one record) that the gateway refuses gets
    // the refusal's own status (400, 404, 413, 429, 503) with the same body; a streamed body keeps 200 and reports
    // inline, as Confluent does. Kafka's own per-record failures stay reports with 200, as in v2.
    if (c.req.header('content-length') !== undefined) {
      const refusal = await stream.singleRefusal();
      if (refusal) throw refusal;
    }
    return new Response(stream.readable, { status: 200, headers: { 'Content-Type': 'application/json' } });
  });

  app.openAPIRegistry.registerPath({ security: [{ bearerAuth: [] }], ...batchRoute });
  app.post(BATCH_HONO_PATH, async (c) => {
    const topic = c.req.param('topic_name')!;
    checkBodyHeaders(c, config.MAX_BODY_BYTES);
    const clusterId = await admit(c, topic);
    const raw = await readBody(c, config.MAX_BODY_BYTES);
    if (raw.length === 0)
      throw errors.unprocessable('Request body is empty. Data is required.', ErrorCodes.BATCH_INVALID);
    const entries = decodeV3Batch(parseJsonBody(raw), config.MAX_RECORDS_PER_REQUEST);
    const principal = c.get('principal');
    deps.rateLimiter?.takeOrThrow(principal.sub, entries.length);
    const target = await produceTarget(kafka, topic);
    const preparer = new RecordPreparer(target, config, principal.sub);
    const keyless = spreader.pick(topic, target.partitions);

    type Outcome = { id: string; failure: object } | { id: string; v3: V3Record; record: ProduceRecord };
    const outcomes: Outcome[] = [];
    const records: ProduceRecord[] = [];
    let bytes = 0;
    entries.forEach((e, i) => {
      if (e.result instanceof GatewayError) {
        outcomes.push({ id: e.id, failure: { id: e.id, ...errorReport(e.result, log) } });
        return;
      }
      try {
        const { record, size } = preparer.prepare(e.result.decoded, keyless, `entries[${i}]`);
        record.timestamp ??= Date.now();
        outcomes.push({ id: e.id, v3: e.result, record });
        records.push(record);
        bytes += size;
      } catch (err) {
        outcomes.push({ id: e.id, failure: { id: e.id, ...errorReport(err, log) } });
      }
    });
    if (overInflightWindow(kafka, config, bytes)) throw errors.overloaded(overloadedMessage);

    const results = records.length > 0 ? await kafka.producer.send(topic, records) : [];
    const successes: object[] = [];
    const failures: object[] = [];
    let next = 0;
    for (const o of outcomes) {
      if ('failure' in o) {
        failures.push(o.failure);
        continue;
      }
      const r = results[next++]!;
      if (r.ok)
        successes.push({
          id: o.id,
          ...withoutErrorCode(
            successReport(clusterId, topic, r.partition, r.offset, o.record.timestamp!, o.v3.key, o.v3.value),
          ),
        });
      else failures.push({ id: o.id, error_code: r.errorCode, message: r.message });
    }
    return c.json({ successes, failures }, 207);
  });

  return app;
}

/** Batch success entries carry no error_code (Confluent's ProduceBatchResponseSuccessEntry). */
function withoutErrorCode<T extends { error_code: number }>(r: T): Omit<T, 'error_code'> {
  const { error_code: _, ...rest } = r;
  return rest;
}
