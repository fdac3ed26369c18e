/**
 * Request and response schemas of the REST API, written once: they validate requests and generate the
 * OpenAPI document (src/http/openapi.ts). Vendor media types are not parsed by hono's validators, so produce
 * bodies are parsed by us and checked with these same schemas.
 */
import { z } from '@hono/zod-openapi';
import { toNumber } from './json.js';

export const ErrorSchema = z
  .object({
    error_code: z.number().int().openapi({ example: 40401 }),
    message: z.string().openapi({ example: "Topic 'orders' not found." }),
  })
  .openapi('Error');

/** JSON Schema's `contentEncoding` (OpenAPI 3.1), missing from the metadata type: tells generators and fuzzers the
 * string carries base64 bytes. */
const BASE64 = { contentEncoding: 'base64' } as Record<never, never>;

const jsonInt = z.preprocess(
  toNumber,
  z.number({ error: 'expected an integer' }).int({ error: 'expected an integer' }),
);

export const HeaderSchema = z
  .object({
    name: z.string().min(1).max(1024),
    value: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'base64 bytes, or null', example: 'dHJhY2U=', ...BASE64 }),
  })
  .openapi('RecordHeader', { description: 'Record header (an extension to v2, in v3 shape).' });

const baseRecord = {
  partition: jsonInt
    .optional()
    .nullable()
    .openapi({ type: ['integer', 'null'], description: 'overrides the path partition', example: 0 }),
  headers: z.array(HeaderSchema).max(1000).optional().nullable(),
  timestamp: jsonInt
    .optional()
    .nullable()
    .openapi({
      type: ['integer', 'null'],
      description: "the record's CreateTime in epoch milliseconds (our addition to v2); absent or null: now",
      example: 1767225600000,
    }),
};

export const JsonRecordSchema = z
  .object({
    key: z.unknown().optional().openapi({ description: 'any JSON value; stored as compact JSON', example: 'somekey' }),
    value: z
      .unknown()
      .optional()
      .openapi({ description: 'any JSON value; stored as compact JSON', example: { hello: 'kafka' } }),
    ...baseRecord,
  })
  .openapi('JsonRecord');

export const BinaryRecordSchema = z
  .object({
    key: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'base64', example: 'a2V5', ...BASE64 }),
    value: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'base64', example: 'aGVsbG8=', ...BASE64 }),
    ...baseRecord,
  })
  .openapi('BinaryRecord');

const schemaFields = {
  key_schema: z.string().nullable().optional(),
  value_schema: z.string().nullable().optional(),
  key_schema_id: z.number().nullable().optional(),
  value_schema_id: z.number().nullable().optional(),
};

export const JsonProduceRequestSchema = z
  .object({ records: z.array(JsonRecordSchema), ...schemaFields })
  .openapi('JsonProduceRequest', { example: { records: [{ key: 'k1', value: { hello: 'kafka' } }] } });

export const BinaryProduceRequestSchema = z
  .object({ records: z.array(BinaryRecordSchema), ...schemaFields })
  .openapi('BinaryProduceRequest', { example: { records: [{ key: 'a2V5', value: 'aGVsbG8=' }] } });

export const OffsetSchema = z
  .object({
    partition: z.number().int().nullable(),
    offset: z.number().int().nullable(),
    error_code: z.number().int().nullable(),
    error: z.string().nullable(),
  })
  .openapi('PartitionOffset');

export const ProduceResponseSchema = z
  .object({
    key_schema_id: z.number().int().nullable(),
    value_schema_id: z.number().int().nullable(),
    offsets: z.array(OffsetSchema),
  })
  .openapi('ProduceResponse', {
    example: {
      key_schema_id: null,
      value_schema_id: null,
      offsets: [{ partition: 2, offset: 100, error_code: null, error: null }],
    },
  });

export const ReplicaSchema = z
  .object({ broker: z.number().int(), leader: z.boolean(), in_sync: z.boolean() })
  .openapi('Replica');

export const PartitionSchema = z
  .object({ partition: z.number().int(), leader: z.number().int(), replicas: z.array(ReplicaSchema) })
  .openapi('Partition', {
    example: { partition: 0, leader: 1, replicas: [{ broker: 1, leader: true, in_sync: true }] },
  });

export const TopicSchema = z
  .object({
    name: z.string(),
    configs: z.record(z.string(), z.string().nullable()),
    partitions: z.array(PartitionSchema),
  })
  .openapi('Topic');

export const TopicNamesSchema = z.array(z.string()).openapi('TopicNames', { example: ['test-topic1'] });
export const BrokersSchema = z
  .object({ brokers: z.array(z.number().int()) })
  .openapi('Brokers', { example: { brokers: [1] } });
export const PartitionOffsetsSchema = z
  .object({ beginning_offset: z.number().int(), end_offset: z.number().int() })
  .openapi('PartitionOffsets', { example: { beginning_offset: 0, end_offset: 197 } });

// v3 (admin)
const Related = z.object({ related: z.string() });
const ResourceMetadata = z.object({ self: z.string(), resource_name: z.string().nullable().optional() });
const ListMetadata = z.object({ self: z.string(), next: z.string().nullable() });

export const ClusterSchema = z
  .object({
    kind: z.literal('KafkaCluster'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    controller: Related.nullable(),
    acls: Related,
    brokers: Related,
    broker_configs: Related,
    consumer_groups: Related,
    topics: Related,
    partition_reassignments: Related,
  })
  .openapi('KafkaCluster');

export const ClusterListSchema = z
  .object({ kind: z.literal('KafkaClusterList'), metadata: ListMetadata, data: z.array(ClusterSchema) })
  .openapi('KafkaClusterList');

export const V3TopicSchema = z
  .object({
    kind: z.literal('KafkaTopic'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    topic_name: z.string(),
    is_internal: z.boolean(),
    replication_factor: z.number().int(),
    partitions_count: z.number().int(),
    partitions: Related,
    configs: Related,
    partition_reassignments: Related,
    authorized_operations: z.array(z.string()),
  })
  .openapi('KafkaTopic');

export const V3TopicListSchema = z
  .object({ kind: z.literal('KafkaTopicList'), metadata: ListMetadata, data: z.array(V3TopicSchema) })
  .openapi('KafkaTopicList');

export const CreateTopicSchema = z
  .object({
    topic_name: z.string().openapi({ example: 'orders' }),
    partitions_count: z.number().int().min(1).max(100000).optional(),
    replication_factor: z.number().int().min(1).max(32767).optional(),
    configs: z
      .array(
        z.object({
          name: z.string().min(1),
          value: z
            .string()
            .nullable()
            .openapi({ description: "null: the broker's default (as if the entry were left out)" }),
        }),
      )
      .max(1000)
      .optional(),
    validate_only: z.boolean().optional(),
  })
  .openapi('CreateTopicRequest', { example: { topic_name: 'orders', partitions_count: 3, replication_factor: 1 } });

export const HealthSchema = z.object({ status: z.string() }).openapi('Health');

// v3 records (Confluent's v3 produce shapes)
const V3_TYPES = ['BINARY', 'JSON', 'STRING'] as const;

export const V3RecordDataSchema = z
  .strictObject({
    type: z
      .string()
      .optional()
      .openapi({
        enum: [...V3_TYPES],
        description:
          'BINARY: data is base64; JSON: any JSON value, stored as compact JSON; STRING: a string, stored as UTF-8. Required when data is not null.',
        example: 'STRING',
      }),
    data: z.unknown().optional().openapi({ description: 'null or absent: a null key/value', example: 'hello' }),
    // Confluent's schema-registry fields: recognised so that using them says why it cannot work (no registry).
    subject: z.string().nullable().optional(),
    subject_name_strategy: z.string().nullable().optional(),
    schema_id: z.number().nullable().optional(),
    schema_version: z.number().nullable().optional(),
    schema: z.string().nullable().optional(),
  })
  .nullable()
  .openapi('V3ProduceRequestData');

const v3RecordFields = {
  partition_id: jsonInt
    .optional()
    .nullable()
    .openapi({ type: ['integer', 'null'], description: 'absent: murmur2 of the key bytes, or spread', example: 0 }),
  headers: z.array(HeaderSchema).max(1000).optional().nullable(),
  key: V3RecordDataSchema.optional(),
  value: V3RecordDataSchema.optional(),
  timestamp: z
    .union([z.string(), z.number()])
    .nullable()
    .optional()
    .openapi({
      type: ['string', 'null'],
      format: 'date-time',
      description:
        "the record's CreateTime, ISO-8601 with a zone (e.g. 2026-12-02T10:00:00.123Z); absent or null: now. (A JSON number is taken as epoch seconds, as Confluent does.)",
      example: '2026-12-02T10:00:00.123Z',
    }),
};

export const V3ProduceRequestSchema = z
  .strictObject({
    ...v3RecordFields,
    id: z.string().nullable().optional().openapi({ description: 'ignored here (batch entries use it)' }),
  })
  .openapi('V3ProduceRequest', {
    example: {
      partition_id: 0,
      headers: [{ name: 'trace', value: 'dHJhY2U=' }],
      key: { type: 'STRING', data: 'order-17' },
      value: { type: 'JSON', data: { amount: 42 } },
      timestamp: '2026-12-02T10:00:00Z',
    },
  });

const V3ResponseDataSchema = z
  .object({
    type: z.string().openapi({ enum: [...V3_TYPES] }),
    size: z.number().int().openapi({ description: 'bytes stored; -1 for null data' }),
  })
  .openapi('V3ProduceResponseData');

const v3ResultFields = {
  cluster_id: z.string(),
  topic_name: z.string(),
  partition_id: z.number().int(),
  offset: z.number().int(),
  timestamp: z.string().nullable().openapi({ format: 'date-time' }),
  key: V3ResponseDataSchema.optional(),
  value: V3ResponseDataSchema.optional(),
};

export const V3ProduceResponseSchema = z
  .object({
    error_code: z.number().int().openapi({ description: '200 for a record written; else the error code' }),
    message: z.string().optional().openapi({ description: 'only when error_code is not 200' }),
    ...Object.fromEntries(Object.entries(v3ResultFields).map(([k, v]) => [k, v.optional()])),
  })
  .openapi('V3ProduceResponse', {
    example: {
      error_code: 200,
      cluster_id: 'q2bW0mIVQ3ysIKWnLQ8Heg',
      topic_name: 'orders',
      partition_id: 0,
      offset: 17,
      timestamp: '2026-12-02T10:00:00Z',
      key: { type: 'STRING', size: 8 },
      value: { type: 'JSON', size: 13 },
    },
  });

const BatchId = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[0-9a-zA-Z_-]+$/);

export const V3BatchRequestSchema = z
  .strictObject({
    entries: z.array(z.strictObject({ id: BatchId, ...v3RecordFields }).openapi('V3ProduceBatchRequestEntry')),
  })
  .openapi('V3ProduceBatchRequest', {
    example: {
      entries: [
        { id: '1', value: { type: 'STRING', data: 'first' } },
        { id: '2', key: { type: 'BINARY', data: 'a2V5' }, value: { type: 'JSON', data: { n: 2 } } },
      ],
    },
  });

export const V3BatchResponseSchema = z
  .object({
    successes: z.array(z.object({ id: z.string(), ...v3ResultFields }).openapi('V3ProduceBatchResponseSuccessEntry')),
    failures: z.array(
      z
        .object({ id: z.string(), error_code: z.number().int(), message: z.string() })
        .openapi('V3ProduceBatchResponseFailureEntry'),
    ),
  })
  .openapi('V3ProduceBatchResponse');
