/**
 * The AsyncAPI 3 document of the `/ws` protocol (kgw.v1), assembled from the zod schemas in src/ws/protocol.ts:
 * every frame's payload schema is `z.toJSONSchema()` of the schema the gateway itself validates (client frames)
 * or builds (server frames) with. What zod cannot carry — a description and examples for every message and field
 * (messages.ts), the close codes, the URL shortcut and the refusals (connection.ts) — is data beside this file, and
 * building throws when the two drift apart (a field without a description, a description of a field that no
 * longer exists, an example the schema refuses, a close code without an entry). `npm run asyncapi` writes
 * openapi/asyncapi.yaml from this; the gateway serves the same document at /asyncapi.yaml;
 * test/unit/ws/asyncapi.test.ts keeps the checked-in file in step and validates it.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { SHORTCUT_ID, SUBPROTOCOL } from '../protocol.js';
import { closeCodes, HTTP_REFUSALS, SHORTCUT_EXAMPLES, SHORTCUT_PARAMS } from './connection.js';
import { MESSAGES } from './messages.js';
import type { Json, JsonObject, MessageSpec } from './types.js';

export const ASYNCAPI_VERSION = '3.0.0';
const WS_BINDING_VERSION = '0.1.0';

function jsonSchema(schema: z.ZodType): JsonObject {
  // io 'input': what a sender may put in a frame. Server frames are open objects (new optional fields may be
  // added, docs/websocket.md), client frames are strict (additionalProperties: false) as the gateway enforces.
  const out = z.toJSONSchema(schema, { target: 'draft-07', io: 'input', unrepresentable: 'throw' }) as JsonObject;
  delete out.$schema;
  return out;
}

/** Every example's value at every path (`a`, `a[]`, `a.b`), for the field-level `examples`. */
function collectValues(value: unknown, path: string, out: Map<string, unknown[]>): void {
  if (path) {
    const list = out.get(path) ?? out.set(path, []).get(path)!;
    if (!list.some((v) => JSON.stringify(v) === JSON.stringify(value))) list.push(value);
  }
  if (Array.isArray(value)) for (const v of value) collectValues(v, `${path}[]`, out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) collectValues(v, path ? `${path}.${k}` : k, out);
}

/** Adds `description` and `examples` to every property (recursively); throws on a field without a description. */
function annotate(
  node: JsonObject,
  prefix: string,
  ctx: {
    message: string;
    variant: string | undefined;
    fields: Record<string, string>;
    used: Set<string>;
    values: Map<string, unknown[]>;
    /** Example values for a top-level field no example of this variant uses (checked against the variant's schema). */
    fallback?: (path: string) => unknown[] | undefined;
  },
): void {
  const props = node.properties as Record<string, JsonObject> | undefined;
  if (props) {
    for (const [name, prop] of Object.entries(props)) {
      const path = prefix + name;
      describe(prop, path, ctx);
      descend(prop, path, ctx);
    }
  }
}

function describe(prop: JsonObject, path: string, ctx: Parameters<typeof annotate>[2]): void {
  const variantKey = ctx.variant ? `${ctx.variant}:${path}` : undefined;
  let text: string | undefined;
  if (variantKey && Object.hasOwn(ctx.fields, variantKey)) {
    text = ctx.fields[variantKey];
    ctx.used.add(variantKey);
  } else if (Object.hasOwn(ctx.fields, path)) {
    text = ctx.fields[path];
    ctx.used.add(path);
  } else if (path === 'type' && typeof prop.const === 'string') {
    text = `The frame type: always \`${prop.const}\`.`;
  }
  if (text === undefined)
    throw new Error(`asyncapi: message '${ctx.message}' field '${variantKey ?? path}' has no description`);
  prop.description = text;
  const examples = ctx.values.get(path) ?? ctx.fallback?.(path);
  if (!examples?.length)
    throw new Error(
      `asyncapi: message '${ctx.message}' field '${variantKey ?? path}' has no example value (add an example that uses it)`,
    );
  prop.examples = examples.slice(0, 4) as Json[];
}

function descend(prop: JsonObject, path: string, ctx: Parameters<typeof annotate>[2]): void {
  if (prop.type === 'array' && prop.items && typeof prop.items === 'object' && !Array.isArray(prop.items)) {
    const items = prop.items as JsonObject;
    if (items.type === 'object' || items.properties) {
      describe(items, `${path}[]`, ctx);
      annotate(items, `${path}[].`, ctx);
    } else if (Object.hasOwn(ctx.fields, `${path}[]`)) {
      describe(items, `${path}[]`, ctx);
    }
  }
  if (prop.properties) annotate(prop, `${path}.`, ctx);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = prop[key];
    if (Array.isArray(branches))
      for (const b of branches as JsonObject[]) if (b.properties) annotate(b, `${path}.`, ctx);
  }
}

function buildMessage(key: string, spec: MessageSpec): JsonObject {
  for (const ex of spec.examples) {
    const r = spec.schema.safeParse(ex.payload);
    if (!r.success)
      throw new Error(`asyncapi: example '${ex.name}' of '${key}' is refused by its schema: ${r.error.message}`);
  }
  const payload = jsonSchema(spec.schema);
  const used = new Set<string>();
  const branches = payload.oneOf as JsonObject[] | undefined;
  if (branches) {
    // A discriminated union (subscribe, over `mode`): each variant is annotated with the examples of that variant.
    const options = (spec.schema as unknown as { options: z.ZodType[] }).options;
    branches.forEach((branch, i) => {
      const variant =
        ((branch.properties as Record<string, JsonObject>).mode?.const as string | undefined) ?? String(i);
      branch.title = `${spec.title} (${variant})`;
      const values = new Map<string, unknown[]>();
      const mine = spec.examples.filter((ex) => options[i]!.safeParse(ex.payload).success);
      for (const ex of mine) collectValues(ex.payload, '', values);
      // A field shared by the variants (format, ack, window) may take its examples from another variant's examples,
      // as long as this variant's schema accepts them in one of its own examples.
      const fallback = (path: string) => {
        if (path.includes('.') || path.includes('[]') || !mine[0]) return undefined;
        const ok = spec.examples
          .map((ex) => ex.payload[path])
          .filter((v) => v !== undefined && options[i]!.safeParse({ ...mine[0]!.payload, [path]: v }).success);
        return ok.length ? [...new Set(ok)] : undefined;
      };
      annotate(branch, '', { message: key, variant, fields: spec.fields, used, values, fallback });
    });
  } else {
    const values = new Map<string, unknown[]>();
    for (const ex of spec.examples) collectValues(ex.payload, '', values);
    annotate(payload, '', { message: key, variant: undefined, fields: spec.fields, used, values });
  }
  const unused = Object.keys(spec.fields).filter((f) => !used.has(f));
  if (unused.length)
    throw new Error(`asyncapi: message '${key}' describes fields its schema does not have: ${unused.join(', ')}`);
  payload.title = spec.title;
  payload.description = spec.summary;
  return {
    name: key,
    title: spec.title,
    summary: spec.summary,
    description: spec.description,
    contentType: 'application/json',
    payload: payload as Json,
    examples: spec.examples.map((e) => ({ name: e.name, summary: e.summary, payload: e.payload as Json })),
  };
}

const table = (head: string[], rows: (string | number)[][]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );

function channelDescription(codes: ReturnType<typeof closeCodes>): string {
  return [
    `One WebSocket per client, subprotocol \`${SUBPROTOCOL}\`. A client that offers no subprotocol is served as \`${SUBPROTOCOL}\` (plain WebSocket libraries work as they are); one that offers only others is refused.`,
    'Every frame is JSON text with a `type`. A socket holds up to WS_MAX_SUBSCRIPTIONS subscriptions, each named by a client-chosen `id`.',
    '',
    `**Authentication** (AUTH_MODE=jwt): browsers offer the token as a second subprotocol, \`new WebSocket(url, ["${SUBPROTOCOL}", "bearer." + jwt])\` (the gateway selects \`${SUBPROTOCOL}\` and never echoes the token); services may send \`Authorization: Bearer <jwt>\`; \`?access_token=\` only when WS_QUERY_TOKEN=true.`,
    '',
    `**URL shortcut**: \`/ws?topic=t1[,t2]&group=g&partition=0,1&from=…&format=json|string|base64&ack=auto|manual\` subscribes without a frame (subscription id \`"${SHORTCUT_ID}"\`, answered with \`subscribed\` like any other): no group and no partition = broadcast; \`group\` = group mode; \`partition\` (one topic) = assign mode. Examples:`,
    '',
    ...SHORTCUT_EXAMPLES.map((e) => `- \`/ws?${e.query}\` — ${e.summary}`),
    '',
    '**Refusals before the upgrade** are plain HTTP with the Confluent error body `{"error_code": …, "message": …}`:',
    '',
    table(
      ['status', 'error_code', 'when', 'example message'],
      HTTP_REFUSALS.map((r) => [r.status, r.error_code, r.when, `\`${r.message}\``]),
    ),
    '',
    '**Close codes** (also listed in `x-close-codes`, with the close reason text the gateway sends):',
    '',
    table(
      ['code', 'name', 'when', 'example', 'reason sent'],
      codes.map((c) => [c.code, c.name, c.when, c.example.scenario, c.reason ? `\`${c.reason}\`` : '(none)']),
    ),
  ].join('\n');
}

export interface AsyncApiOptions {
  /** The gateway's version (info.version), as in the OpenAPI document. */
  version: string;
}

/** The AsyncAPI 3 document as a plain object. */
export function asyncApiDocument({ version }: AsyncApiOptions): JsonObject {
  const messages: Record<string, JsonObject> = {};
  for (const [key, spec] of Object.entries(MESSAGES)) messages[key] = buildMessage(key, spec);
  const codes = closeCodes();
  const ref = (key: string) => ({ $ref: `#/channels/ws/messages/${key}` });
  const operations: Record<string, JsonObject> = {};
  for (const [key, spec] of Object.entries(MESSAGES)) {
    const opId = `${spec.direction}${key[0]!.toUpperCase()}${key.slice(1)}`;
    operations[opId] = {
      action: spec.direction,
      channel: { $ref: '#/channels/ws' },
      title: spec.title,
      summary: spec.direction === 'receive' ? `Client → gateway: ${spec.summary}` : `Gateway → client: ${spec.summary}`,
      messages: [ref(key)],
      ...(spec.reply ? { reply: { channel: { $ref: '#/channels/ws' }, messages: spec.reply.map(ref) } } : {}),
    };
  }
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'Kafka HTTP/WebSocket gateway — WebSocket API',
      version,
      description:
        `Subscriptions to Kafka topics over one WebSocket (\`GET /ws\`, subprotocol \`${SUBPROTOCOL}\`): consumer-group members with manual or automatic acks, ` +
        "partitions from an offset or a time, and live broadcast views. This document is generated from the gateway's own frame schemas (`npm run asyncapi`); " +
        "the REST side is described in openapi.json. Operations are from the gateway's point of view: it *receives* client frames and *sends* server frames.",
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: '{host}',
        protocol: 'ws',
        title: 'The gateway (plain)',
        description: 'The gateway itself, without TLS (local development, or behind a TLS-terminating proxy).',
        variables: { host: { default: 'localhost:8080', description: 'host:port of the gateway.' } },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
      gatewayTls: {
        host: '{host}',
        protocol: 'wss',
        title: 'The gateway (TLS)',
        description: 'The gateway with TLS_CERT_FILE/TLS_KEY_FILE, or behind a TLS proxy.',
        variables: { host: { default: 'localhost:8443', description: 'host:port of the gateway.' } },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
    },
    channels: {
      ws: {
        address: '/ws',
        title: `WebSocket ${SUBPROTOCOL}`,
        summary: 'Every frame in both directions travels on this one socket.',
        description: channelDescription(codes),
        messages: Object.fromEntries(Object.keys(MESSAGES).map((k) => [k, { $ref: `#/components/messages/${k}` }])),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              description: 'The URL shortcut (optional): a subscription from the URL alone.',
              properties: Object.fromEntries(
                Object.entries(SHORTCUT_PARAMS).map(([name, p]) => [
                  name,
                  { ...p.schema, description: p.description, examples: p.examples },
                ]),
              ),
              additionalProperties: false,
            },
            headers: {
              type: 'object',
              properties: {
                'Sec-WebSocket-Protocol': {
                  type: 'string',
                  description: `Offer \`${SUBPROTOCOL}\` (or nothing); browsers add \`bearer.<jwt>\` as a second protocol to authenticate.`,
                  examples: [
                    SUBPROTOCOL,
                    `${SUBPROTOCOL}, bearer.eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl`,
                  ],
                },
                Authorization: {
                  type: 'string',
                  description: 'Services: `Bearer <jwt>`.',
                  examples: ['Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'],
                },
                Origin: {
                  type: 'string',
                  description: "Browsers: must be in WS_ALLOWED_ORIGINS (default: the gateway's own origin), else 403.",
                  examples: ['https://app.example.com'],
                },
              },
            },
            bindingVersion: WS_BINDING_VERSION,
          },
        },
        'x-close-codes': codes as unknown as Json,
        'x-http-refusals': HTTP_REFUSALS as unknown as Json,
      },
    },
    operations: operations as unknown as Json,
    components: {
      messages: messages as unknown as Json,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: `A JWT (AUTH_MODE=jwt; none needed with AUTH_MODE=none). Browsers: offered as the subprotocol \`bearer.<jwt>\` next to \`${SUBPROTOCOL}\`. Services: the \`Authorization: Bearer <jwt>\` header. Before \`exp\`, send a \`reauth\` frame or the socket closes with 4401.`,
        },
        queryToken: {
          type: 'httpApiKey',
          name: 'access_token',
          in: 'query',
          description: 'The JWT in the URL, only when WS_QUERY_TOKEN=true (never logged).',
        },
      },
    },
  };
}

/** The document as YAML, byte for byte what openapi/asyncapi.yaml holds. */
export function asyncApiYaml(options: AsyncApiOptions): string {
  return `# Generated by \`npm run asyncapi\` from src/ws/protocol.ts and src/ws/asyncapi/: do not edit by hand.\n${stringify(asyncApiDocument(options), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
