/**
 * v2 metadata: topics, partitions, offsets, brokers (docs/rest-api.md "Metadata").
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errors } from '../../errors.js';
import type { PartitionInfo, TopicInfo } from '../../kafka/index.js';
import { authorizeSeeTopic, canSeeTopic } from '../../auth/authorize.js';
import type { AppDeps, AppEnv } from '../deps.js';
import { V2_JSON } from '../errors.js';
import { checkAccept } from '../media.js';
import { errorResponses, route } from '../openapi-common.js';
import { BrokersSchema, PartitionOffsetsSchema, PartitionSchema, TopicNamesSchema, TopicSchema } from '../schemas.js';
import { pathPartition } from './produce.js';
import { requireKafka } from '../kafka-reachable.js';

const topic = z.string().openapi({ param: { name: 'topic', in: 'path' }, example: 'test-topic1' });
const partition = z.string().openapi({ param: { name: 'partition', in: 'path' }, example: '0' });
const ok = <T extends z.ZodType>(schema: T, description: string) => ({
  200: { description, content: { [V2_JSON]: { schema } } },
});

export function partitionBody(p: PartitionInfo) {
  return {
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas.map((b) => ({ broker: b, leader: b === p.leader, in_sync: p.isr.includes(b) })),
  };
}

function send(c: Context<AppEnv>, body: unknown) {
  checkAccept(c.req.header('accept'));
  c.header('Content-Type', V2_JSON);
  return c.body(JSON.stringify(body), 200);
}

export function topicRoutes({ kafka }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const md = kafka.metadata;

  async function visibleTopic(c: Context<AppEnv>, name: string): Promise<TopicInfo> {
    checkAccept(c.req.header('accept'));
    authorizeSeeTopic(c.get('principal'), name);
    requireKafka(kafka);
    const info = await md.topicInfo(name);
    if (!info) throw errors.topicNotFound(name);
    return info;
  }

  function findPartition(info: TopicInfo, raw: string): PartitionInfo {
    const p = pathPartition(info.name, raw);
    const found = info.partitions.find((x) => x.partition === p);
    if (!found) throw errors.partitionNotFound(info.name, p);
    return found;
  }

  route(
    app,
    createRoute({
      method: 'get',
      path: '/topics',
      tags: ['v2 metadata'],
      summary: 'List topics (internal topics and topics the caller may not use are left out)',
      responses: { ...ok(TopicNamesSchema, 'Topic names'), ...errorResponses([401, 406, 503]) },
    }),
    async (c) => {
      checkAccept(c.req.header('accept'));
      requireKafka(kafka);
      const principal = c.get('principal');
      return send(
        c,
        (await md.listTopics()).filter((t) => canSeeTopic(principal, t)),
      );
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/topics/{topic}',
      tags: ['v2 metadata'],
      summary: 'Describe a topic: configs (defaults included, sensitive values null) and partitions',
      request: { params: z.object({ topic }) },
      responses: { ...ok(TopicSchema, 'The topic'), ...errorResponses([401, 403, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await visibleTopic(c, c.req.param('topic')!);
      const desc = await md.describeTopic(info.name);
      if (!desc) throw errors.topicNotFound(info.name);
      return send(c, { name: desc.name, configs: desc.configs, partitions: desc.partitions.map(partitionBody) });
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/topics/{topic}/partitions',
      tags: ['v2 metadata'],
      summary: "A topic's partitions with leader and replicas",
      request: { params: z.object({ topic }) },
      responses: { ...ok(z.array(PartitionSchema), 'Partitions'), ...errorResponses([401, 403, 404, 406, 503]) },
    }),
    async (c) => send(c, (await visibleTopic(c, c.req.param('topic')!)).partitions.map(partitionBody)),
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/topics/{topic}/partitions/{partition}',
      tags: ['v2 metadata'],
      summary: 'One partition',
      request: { params: z.object({ topic, partition }) },
      responses: { ...ok(PartitionSchema, 'The partition'), ...errorResponses([401, 403, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await visibleTopic(c, c.req.param('topic')!);
      return send(c, partitionBody(findPartition(info, c.req.param('partition')!)));
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/topics/{topic}/partitions/{partition}/offsets',
      tags: ['v2 metadata'],
      summary: "A partition's first and next offsets",
      request: { params: z.object({ topic, partition }) },
      responses: { ...ok(PartitionOffsetsSchema, 'Offsets'), ...errorResponses([401, 403, 404, 406, 503]) },
    }),
    async (c) => {
      const info = await visibleTopic(c, c.req.param('topic')!);
      const p = findPartition(info, c.req.param('partition')!);
      const offsets = (await md.offsets(info.name)).find((o) => o.partition === p.partition);
      if (!offsets) throw errors.partitionNotFound(info.name, p.partition);
      return send(c, { beginning_offset: offsets.low, end_offset: offsets.high });
    },
  );

  route(
    app,
    createRoute({
      method: 'get',
      path: '/brokers',
      tags: ['v2 metadata'],
      summary: 'Broker ids',
      responses: { ...ok(BrokersSchema, 'Brokers'), ...errorResponses([401, 406, 503]) },
    }),
    async (c) => {
      checkAccept(c.req.header('accept'));
      requireKafka(kafka);
      const cluster = await md.cluster();
      return send(c, { brokers: cluster.brokers.map((b) => b.nodeId) });
    },
  );

  return app;
}
