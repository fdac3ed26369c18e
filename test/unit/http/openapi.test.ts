// The OpenAPI document is generated from the routes (scripts/openapi.ts); these tests keep the checked-in copy in
// step with the code and hold the document to our rules: every route documents its Confluent-shaped errors, every
// request content type has an example that the gateway accepts, v2 answers application/vnd.kafka.v2+json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPENAPI_DIR, openApiDocument, renderOpenApi } from '../../../scripts/openapi.js';
import { PRODUCE_CONTENT_TYPES, produceFormat } from '../../../src/http/media.js';
import { decodeRecords } from '../../../src/http/records.js';
import { CreateTopicSchema } from '../../../src/http/schemas.js';

type Schema = { $ref?: string; [k: string]: unknown };
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, { value: unknown }> };
type Operation = {
  summary?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
};

const doc = openApiDocument() as unknown as Doc;
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, method, path, op })),
);

const V2_JSON = 'application/vnd.kafka.v2+json';
const isV2 = (path: string) =>
  path === '/topics' || path.startsWith('/topics/') || path === '/brokers' || path.startsWith('/consumers/');
/** `GET records` answers in the instance's embedded format: one vendor type per format. */
const RECORDS = '/consumers/{group}/instances/{instance}/records';
const RECORDS_TYPES = [
  'application/vnd.kafka.json.v2+json',
  'application/vnd.kafka.binary.v2+json',
  'application/vnd.kafka.string.v2+json',
];
const isHealth = (path: string) => path === '/healthz' || path === '/readyz';

describe('checked-in openapi/ files', () => {
  const { json, yaml } = renderOpenApi();
  const hint = 'openapi/ is stale: run `npm run openapi` and commit openapi/openapi.json and openapi/openapi.yaml';

  it('openapi.json is what the code generates', () => {
    expect(readFileSync(join(OPENAPI_DIR, 'openapi.json'), 'utf8'), hint).toBe(json);
  });

  it('openapi.yaml is what the code generates, and the same document', () => {
    const onDisk = readFileSync(join(OPENAPI_DIR, 'openapi.yaml'), 'utf8');
    expect(onDisk, hint).toBe(yaml);
    expect(parse(onDisk)).toEqual(JSON.parse(json));
  });
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every v2, v3 and health route', () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
    expect(operations.map((o) => o.id).sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'POST /topics/{topic}',
        'POST /topics/{topic}/partitions/{partition}',
        'GET /topics',
        'GET /topics/{topic}',
        'GET /topics/{topic}/partitions',
        'GET /topics/{topic}/partitions/{partition}',
        'GET /topics/{topic}/partitions/{partition}/offsets',
        'GET /brokers',
        'GET /v3/clusters',
        'GET /v3/clusters/{cluster_id}',
        'GET /v3/clusters/{cluster_id}/topics',
        'POST /v3/clusters/{cluster_id}/topics',
        'GET /v3/clusters/{cluster_id}/topics/{topic_name}',
        'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}',
        'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records',
        'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records:batch',
        'POST /consumers/{group}',
        'DELETE /consumers/{group}/instances/{instance}',
        'POST /consumers/{group}/instances/{instance}/subscription',
        'GET /consumers/{group}/instances/{instance}/subscription',
        'DELETE /consumers/{group}/instances/{instance}/subscription',
        'POST /consumers/{group}/instances/{instance}/assignments',
        'GET /consumers/{group}/instances/{instance}/assignments',
        'POST /consumers/{group}/instances/{instance}/positions',
        'POST /consumers/{group}/instances/{instance}/positions/beginning',
        'POST /consumers/{group}/instances/{instance}/positions/end',
        'POST /consumers/{group}/instances/{instance}/offsets',
        'GET /consumers/{group}/instances/{instance}/offsets',
        'GET /consumers/{group}/instances/{instance}/records',
        'GET /sse',
      ].sort(),
    );
  });

  it('the Error schema is Confluent\'s {"error_code": int, "message": string}', () => {
    expect(doc.components.schemas.Error).toMatchObject({
      type: 'object',
      properties: { error_code: { type: 'integer' }, message: { type: 'string' } },
      required: ['error_code', 'message'],
    });
  });

  it.each(operations)('$id documents its error responses with the Error schema', ({ op, path }) => {
    const errorStatuses = Object.keys(op.responses).filter((s) => Number(s) >= 400);
    expect(errorStatuses).toContain('500');
    if (!isHealth(path)) expect(errorStatuses).toContain('401');
    for (const s of errorStatuses) {
      const content = op.responses[s]!.content ?? {};
      expect(Object.keys(content), `${s}`).toEqual(['application/json']);
      expect(content['application/json']!.schema, `${s}`).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it.each(operations)('$id answers with the right media type', ({ path, op }) => {
    for (const [status, r] of Object.entries(op.responses)) {
      if (Number(status) >= 400 || !r.content) continue;
      const expected =
        path === '/metrics'
          ? 'text/plain'
          : path === '/sse'
            ? 'text/event-stream'
            : isV2(path)
              ? V2_JSON
              : 'application/json';
      expect(Object.keys(r.content), status).toEqual(path === RECORDS ? RECORDS_TYPES : [expected]);
    }
  });

  it.each(operations)(
    '$id: its security matches the auth middleware (health open, metrics optional, the rest a bearer JWT)',
    ({ path, op }) => {
      const expected = isHealth(path) ? [] : path === '/metrics' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }];
      expect(op.security).toEqual(expected);
    },
  );

  it('declares the bearer JWT scheme', () => {
    expect(doc.components.securitySchemes?.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  const withBody = operations.filter((o) => o.op.requestBody);
  it.each(withBody)('$id has an example for every request content type', ({ op }) => {
    for (const [type, media] of Object.entries(op.requestBody!.content)) {
      const has = media.example !== undefined || Object.keys(media.examples ?? {}).length > 0;
      expect(has, `${type} has no example`).toBe(true);
    }
  });

  it.each(operations.filter((o) => o.method === 'post' && o.path.startsWith('/topics/')))(
    '$id takes exactly the produce content types, and each example is a body the gateway accepts',
    ({ op }) => {
      const content = op.requestBody!.content;
      expect(Object.keys(content).sort()).toEqual([...PRODUCE_CONTENT_TYPES].sort());
      for (const [type, media] of Object.entries(content)) {
        const format = produceFormat(type);
        const raw = Buffer.from(typeof media.example === 'string' ? media.example : JSON.stringify(media.example));
        const records = decodeRecords(raw, { format, maxRecords: 10 });
        expect(records.length, type).toBeGreaterThan(0);
      }
    },
  );

  it('the create-topic example is a valid request', () => {
    const media = doc.paths['/v3/clusters/{cluster_id}/topics']!.post!.requestBody!.content['application/json']!;
    expect(CreateTopicSchema.safeParse(media.example).success).toBe(true);
  });

  it('names no servers, so Swagger UI and clients call the origin that served the document', () => {
    expect((doc as { servers?: unknown }).servers).toBeUndefined();
  });
});
