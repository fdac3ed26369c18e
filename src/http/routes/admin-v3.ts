/**
 * v3 cluster and topic admin (Confluent v3 shapes): list/describe clusters and topics, create, delete.
 * Create and delete need the caller's `admin` right; they are logged with the caller's `sub`.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ErrorCodes, GatewayError, errors } from '../../errors.js';
import type { TopicInfo } from '../../kafka/index.js';
import { isInternalTopic, isLegalTopicName } from '../../core/topic-names.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { readBody } from '../body.js';
import { parseJsonBody } from '../json.js';
import { V3_ACCEPTABLE, checkAccept, requireJsonBody } from '../media.js';
import { errorResponses, route } from '../openapi-common.js';
import { ClusterListSchema, ClusterSchema, CreateTopicSchema, V3TopicListSchema, V3TopicSchema } from '../schemas.js';
import { authorizeAdmin, authorizeSeeTopic, canSeeTopic } from '../../auth/authorize.js';
import { requireKafka } from '../kafka-reachable.js';

const clusterId = z.string().openapi({ param: { name: 'cluster_id', in: 'path' } });
const topicName = z.string().openapi({ param: { name: 'topic_name', in: 'path' }, example: 'orders' });
const json = <T extends z.ZodType>(schema: T, description: string, status = 200) => ({
  [status]: { description, content: { 'application/json': { schema } } },
});

export function adminRoutes({ kafka, config, logger }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const md = kafka.metadata;
  const audit = logger.child({ component: 'admin' });

  const base = (c: Context) => `${new URL(c.req.url).origin}/v3/clusters`;

  async function cluster(c: Context<AppEnv>, id?: string) {
    checkAccept(c.req.header('accept'), V3_ACCEPTABLE);
    requireKafka(kafka);
    const info = await md.cluster();
    if (id !== undefined && id !== info.clusterId)
      throw new GatewayError(404, ErrorCodes.NOT_FOUND, `Cluster '${id.slice(0, 100)}' not found.`);
    return info;
  }

  function clusterBody(c: Context, id: string, controller: number | null) {
    const self = `${base(c)}/${id}`;
    return {
      kind: 'KafkaCluster' as const,
      metadata: { self, resource_name: `crn:///kafka=${id}` },
      cluster_id: id,
      controller: controller === null ? null : { related: `${self}/brokers/${controller}` },
      acls: { related: `${self}/acls` },
      brokers: { related: `${self}/brokers` },
      broker_configs: { related: `${self}/broker-configs` },
      consumer_groups: { related: `${self}/consumer-groups` },
      topics: { related: `${self}/topics` },
      partition_reassignments: { related: `${self}/topics/-/partitions/-/reassignment` },
    };
  }

  function topicBody(c: Context, id: string, t: TopicInfo) {
    const self = `${base(c)}/${id}/topics/${t.name}`;
    return {
      kind: 'KafkaTopic' as const,
      metadata: { self, resource_name: `crn:///kafka=${id}/topic=${t.name}` },
      cluster_id: id,
      topic_name: t.name,
      is_internal: isInternalTopic(t.name),
      replication_factor: t.partitions[0]?.replicas.length ?? 0,
      partitions_count: t.partitions.length,
      partitions: { related: `${self}/partitions` },
      configs: { related: `${self}/configs` },
      partition_reassignments: { related: `${self}/partitions/-/reassignment` },
      authorized_operations: [] as string[],
    };
  }

  route(
    app,
    createRoute({
      method: 'get',
      path: '/v3/clusters',
      tags: ['v3 admin'],
      summary: 'The Kafka cluster behind this gateway (exactly one)',
      responses: { ...json(ClusterListSchema, 'Clusters'), ...errorResponses([401, 406, 503]) },
    }),
    async (c) => {
      const info = await cluster(c);
      return c.json({
        kind: 'KafkaClusterList',
        metadata: { self: base(c), next: null },
        data: [clusterBody(c, info.clusterId, info.controller)],
      });
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/v3/clusters/{cluster_id}',
      tags: ['v3 admin'],
      summary: 'The cluster',
      request: { params: z.object({ cluster_id: clusterId }) },
      responses: { ...json(ClusterSchema, 'The cluster'), ...errorResponses([401, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await cluster(c, c.req.param('cluster_id'));
      return c.json(clusterBody(c, info.clusterId, info.controller));
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics',
      tags: ['v3 admin'],
      summary: 'List topics (only those the caller may use; internal topics for admins)',
      request: { params: z.object({ cluster_id: clusterId }) },
      responses: { ...json(V3TopicListSchema, 'Topics'), ...errorResponses([401, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await cluster(c, c.req.param('cluster_id'));
      const principal = c.get('principal');
      const topics = (await md.listTopicInfos()).filter((t) => canSeeTopic(principal, t.name));
      return c.json({
        kind: 'KafkaTopicList',
        metadata: { self: `${base(c)}/${info.clusterId}/topics`, next: null },
        data: topics.map((t) => topicBody(c, info.clusterId, t)),
      });
    },
  );

  route(
    app,
    createRoute({
      method: 'post',
      path: '/v3/clusters/{cluster_id}/topics',
      tags: ['v3 admin'],
      summary: 'Create a topic (admin)',
      request: {
        params: z.object({ cluster_id: clusterId }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: CreateTopicSchema,
              example: {
                topic_name: 'orders',
                partitions_count: 3,
                configs: [{ name: 'cleanup.policy', value: 'delete' }],
              },
            },
          },
        },
      },
      responses: {
        ...json(V3TopicSchema, 'Created (Location names it)', 201),
        ...json(V3TopicSchema, 'validate_only: Kafka accepted the request; nothing was created', 200),
        ...errorResponses([400, 401, 403, 404, 406, 413, 415, 422, 503]),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      authorizeAdmin(principal);
      requireJsonBody(c.req.header('content-type'));
      const info = await cluster(c, c.req.param('cluster_id'));
      const raw = await readBody(c, config.MAX_BODY_BYTES);
      if (raw.length === 0) throw errors.unprocessable('Request body is empty.', ErrorCodes.UNPROCESSABLE);
      const parsed = CreateTopicSchema.safeParse(parseJsonBody(raw).value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw errors.badRequest(`Invalid request: ${issue.path.join('.') || 'body'}: ${issue.message}.`);
      }
      const req = parsed.data;
      if (!isLegalTopicName(req.topic_name))
        throw errors.unprocessable(
          `Illegal topic name '${req.topic_name.slice(0, 255)}': 1 to 249 characters of [a-zA-Z0-9._-], not '.' or '..'.`,
          ErrorCodes.INVALID_TOPIC_NAME,
        );
      await md.createTopic({
        name: req.topic_name,
        partitions: req.partitions_count,
        replicationFactor: req.replication_factor,
        // A null value means the default, which is what leaving the entry out gives (kafkajs refuses nulls).
        configs: req.configs?.filter((c) => c.value !== null),
        validateOnly: req.validate_only,
      });
      audit.info(
        {
          reqId: c.get('requestId'),
          sub: principal.sub,
          topic: req.topic_name,
          validateOnly: req.validate_only ?? false,
        },
        'topic created',
      );
      const created = req.validate_only ? undefined : await md.topicInfo(req.topic_name);
      const t: TopicInfo = created ?? {
        name: req.topic_name,
        partitions: Array.from({ length: req.partitions_count ?? 0 }, (_, i) => ({
          partition: i,
          leader: -1,
          replicas: [],
          isr: [],
        })),
      };
      const body = topicBody(c, info.clusterId, t);
      if (!req.validate_only) c.header('Location', body.metadata.self);
      return c.json(body, req.validate_only ? 200 : 201);
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}',
      tags: ['v3 admin'],
      summary: 'Describe a topic',
      request: { params: z.object({ cluster_id: clusterId, topic_name: topicName }) },
      responses: { ...json(V3TopicSchema, 'The topic'), ...errorResponses([401, 403, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await cluster(c, c.req.param('cluster_id'));
      const name = c.req.param('topic_name')!;
      authorizeSeeTopic(c.get('principal'), name);
      const t = await md.topicInfo(name);
      if (!t) throw errors.topicNotFound(name);
      return c.json(topicBody(c, info.clusterId, t));
    },
  );

  route(
    app,
    createRoute({
      method: 'delete',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}',
      tags: ['v3 admin'],
      summary: 'Delete a topic (admin)',
      request: { params: z.object({ cluster_id: clusterId, topic_name: topicName }) },
      responses: { 204: { description: 'Deleted' }, ...errorResponses([401, 403, 404, 503]) },
    }),
    async (c) => {
      const principal = c.get('principal');
      authorizeAdmin(principal);
      await cluster(c, c.req.param('cluster_id'));
      const name = c.req.param('topic_name')!;
      if (!(await md.topicInfo(name))) throw errors.topicNotFound(name);
      await md.deleteTopic(name);
      audit.info({ reqId: c.get('requestId'), sub: principal.sub, topic: name }, 'topic deleted');
      return c.body(null, 204);
    },
  );

  return app;
}
