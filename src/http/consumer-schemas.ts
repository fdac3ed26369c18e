/**
 * Request and response shapes of the v2 consumer API (Confluent's), written once: the routes validate bodies with
 * them (vendor media types are not parsed by hono's validators) and the OpenAPI document is generated from them.
 */
import { z } from '@hono/zod-openapi';

const stringish = z.union([z.string(), z.number(), z.boolean()]);

export const CreateConsumerSchema = z
  .object({
    name: z.string().optional().openapi({ description: 'chosen name ([A-Za-z0-9._-], ≤ 128); generated when absent' }),
    format: z.string().optional().openapi({ description: 'json | binary | string (ours); default binary' }),
    'auto.offset.reset': stringish.optional().openapi({ description: 'earliest | latest (default)' }),
    'auto.commit.enable': stringish.optional().openapi({ description: 'true (default) | false' }),
    'fetch.min.bytes': stringish
      .optional()
      .openapi({ description: '`GET records` waits for this many bytes (default 1)' }),
    'consumer.request.timeout.ms': stringish
      .optional()
      .openapi({ description: '`GET records` waits this long when it names no timeout (default 1000)' }),
    'consumer.instance.timeout.ms': stringish
      .optional()
      .openapi({ description: 'idle time before the instance is closed (default and cap: gateway settings)' }),
  })
  .openapi('CreateConsumerRequest', {
    example: { name: 'my_consumer', format: 'json', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
  });

export const CreateConsumerResponseSchema = z
  .object({ instance_id: z.string(), base_uri: z.string() })
  .openapi('CreateConsumerResponse', {
    example: {
      instance_id: 'my_consumer',
      base_uri: 'https://kafka.example.com/consumers/my_group/instances/my_consumer',
    },
  });

const topicName = z.string().min(1).max(249);
const partitionNumber = z.number().int().min(0).max(0x7fffffff);

export const TopicPartitionSchema = z
  .object({ topic: topicName, partition: partitionNumber })
  .openapi('ConsumerTopicPartition');

export const TopicPartitionOffsetSchema = z
  .object({ topic: topicName, partition: partitionNumber, offset: z.number().int().min(0) })
  .openapi('ConsumerTopicPartitionOffset');

export const SubscriptionRequestSchema = z
  .object({
    topics: z.array(topicName).max(1000).optional(),
    topic_pattern: z.string().min(1).max(1000).optional(),
  })
  .openapi('ConsumerSubscriptionRequest', { example: { topics: ['orders'] } });

export const SubscriptionSchema = z.object({ topics: z.array(z.string()) }).openapi('ConsumerSubscription');

export const PartitionsSchema = z
  .object({ partitions: z.array(TopicPartitionSchema).max(10000) })
  .openapi('ConsumerPartitions', { example: { partitions: [{ topic: 'orders', partition: 0 }] } });

export const OffsetsRequestSchema = z
  .object({ offsets: z.array(TopicPartitionOffsetSchema).max(10000) })
  .openapi('ConsumerOffsets', { example: { offsets: [{ topic: 'orders', partition: 0, offset: 41 }] } });

export const CommittedOffsetsSchema = z
  .object({
    offsets: z.array(
      z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int(), metadata: z.string() }),
    ),
  })
  .openapi('ConsumerCommittedOffsets');

export const ConsumerRecordSchema = z
  .object({
    topic: z.string(),
    key: z.unknown().openapi({ description: 'json: the JSON value; binary: base64; string: UTF-8 text; or null' }),
    value: z.unknown().openapi({ description: 'json: the JSON value; binary: base64; string: UTF-8 text; or null' }),
    partition: z.number().int(),
    offset: z.number().int(),
    timestamp: z.number().int().openapi({ description: 'epoch ms (an addition to v2)' }),
    headers: z
      .array(z.object({ name: z.string(), value: z.string().nullable() }))
      .openapi({ description: 'base64 values (an addition to v2, in v3 shape)' }),
  })
  .openapi('ConsumerRecord');
