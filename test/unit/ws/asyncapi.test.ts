// The AsyncAPI document of /ws is generated from the frame schemas (scripts/asyncapi.ts → src/ws/asyncapi/):
// the checked-in openapi/asyncapi.yaml must be what the code generates, valid AsyncAPI 3 by @asyncapi/parser,
// complete (every frame type of src/ws/protocol.ts, every field described with an example, every close code and
// error code), with examples the gateway's own schemas accept; and /asyncapi.yaml serves the same bytes.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ASYNCAPI_FILE, renderAsyncApi } from '../../../scripts/asyncapi.js';
import { brokerlessApp } from '../../../scripts/openapi.js';
import { publicPathMatcher } from '../../../src/auth/middleware.js';
import { SHORTCUT_EXAMPLES, SHORTCUT_PARAMS } from '../../../src/ws/asyncapi/connection.js';
import { CLOSE_REASONS, CloseCodes } from '../../../src/ws/close-codes.js';
import {
  clientFrameSchema,
  errorCodeSchema,
  parseClientFrame,
  parseShortcut,
  serverFrameSchema,
} from '../../../src/ws/protocol.js';

type Obj = Record<string, any>;
const generated = renderAsyncApi();
const doc = parse(generated) as Obj;
const messages = doc.components.messages as Record<string, Obj>;
const operations = Object.values(doc.operations as Record<string, Obj>);
const messageKey = (ref: string) => ref.split('/').pop()!;
const received = new Set(
  operations.filter((o) => o.action === 'receive').flatMap((o) => o.messages.map((m: Obj) => messageKey(m.$ref))),
);
const sent = new Set(
  operations.filter((o) => o.action === 'send').flatMap((o) => o.messages.map((m: Obj) => messageKey(m.$ref))),
);

/** The `type` literals of a (nested) discriminated union of frame schemas. */
function frameTypes(schema: z.ZodType): string[] {
  const s = schema as unknown as { options?: z.ZodType[]; shape?: { type: { value: string } } };
  if (s.options) return [...new Set(s.options.flatMap(frameTypes))];
  return [s.shape!.type.value];
}

describe('openapi/asyncapi.yaml', () => {
  it('is what `npm run asyncapi` generates', () => {
    expect(
      readFileSync(ASYNCAPI_FILE, 'utf8'),
      'openapi/asyncapi.yaml is stale: run `npm run asyncapi` and commit it',
    ).toBe(generated);
  });

  it('is a valid AsyncAPI 3 document (@asyncapi/parser: no errors, no warnings)', async () => {
    const { document, diagnostics } = await new Parser().parse(readFileSync(ASYNCAPI_FILE, 'utf8'));
    // Severity 0 = error, 1 = warning (2 = information, e.g. "3.1.0 exists", 3 = hint).
    const serious = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(serious).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toMatch(/^3\./);
    expect(
      document!
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['/ws']);
    expect(document!.messages().all()).toHaveLength(
      frameTypes(clientFrameSchema).length + frameTypes(serverFrameSchema).length,
    );
    for (const m of document!.messages().all()) {
      expect(m.payload()?.type() ?? m.payload()?.oneOf(), `payload of ${m.id()}`).toBeTruthy();
      expect(m.examples().all().length, `examples of ${m.id()}`).toBeGreaterThan(0);
    }
  }, 60_000); // the parser's ruleset takes seconds on a busy machine
});

describe('the document covers the protocol', () => {
  it('has one message per client frame type (received) and per server frame type (sent)', () => {
    expect([...received].sort()).toEqual(frameTypes(clientFrameSchema).sort());
    expect([...sent].sort()).toEqual(frameTypes(serverFrameSchema).sort());
  });

  it('every example is accepted by the schema the gateway uses for that frame', () => {
    for (const key of received)
      for (const ex of messages[key]!.examples) {
        expect(ex.payload.type).toBe(key);
        expect(parseClientFrame(JSON.stringify(ex.payload)), `${key}/${ex.name}`).toEqual({
          ok: true,
          frame: ex.payload,
        });
      }
    for (const key of sent)
      for (const ex of messages[key]!.examples) {
        expect(ex.payload.type).toBe(key);
        expect(serverFrameSchema.safeParse(ex.payload).success, `${key}/${ex.name}`).toBe(true);
      }
  });

  it('describes every field, with an example value, at every depth', () => {
    const missing: string[] = [];
    const walk = (node: Obj, path: string) => {
      for (const [name, prop] of Object.entries((node.properties ?? {}) as Record<string, Obj>)) {
        const p = `${path}.${name}`;
        if (!prop.description) missing.push(`${p}: description`);
        if (!Array.isArray(prop.examples) || prop.examples.length === 0) missing.push(`${p}: examples`);
        if (prop.items?.properties) walk(prop.items, `${p}[]`);
        if (prop.properties) walk(prop, p);
        for (const b of [...(prop.anyOf ?? []), ...(prop.oneOf ?? [])]) if (b.properties) walk(b, p);
      }
    };
    for (const [key, m] of Object.entries(messages)) {
      expect(m.description, key).toBeTruthy();
      expect(m.summary, key).toBeTruthy();
      for (const branch of m.payload.oneOf ?? [m.payload])
        walk(branch, `${key}${branch.title ? `(${branch.title})` : ''}`);
    }
    expect(missing).toEqual([]);
  });

  it('client frames stay strict, server frames stay open to new optional fields', () => {
    for (const key of received)
      for (const b of messages[key]!.payload.oneOf ?? [messages[key]!.payload])
        expect(b.additionalProperties, key).toBe(false);
    for (const key of sent) expect(messages[key]!.payload.additionalProperties, key).toBeUndefined();
  });

  it('lists every close code with the reason the gateway sends and an example', () => {
    const codes = doc.channels.ws['x-close-codes'] as Obj[];
    expect(codes.map((c) => c.code).sort()).toEqual(Object.values(CloseCodes).sort());
    for (const c of codes) {
      expect(c.when).toBeTruthy();
      expect(c.example.scenario).toBeTruthy();
      expect(c.example.code).toBe(c.code);
      // 1009 is sent by the ws library itself, without a reason.
      expect(c.reason).toBe(c.code === 1009 ? '' : CLOSE_REASONS[c.code as keyof typeof CLOSE_REASONS]);
      expect(doc.channels.ws.description).toContain(`| ${c.code} | ${c.name} |`);
    }
  });

  it('documents every error code with an example error frame', () => {
    const error = messages.error!;
    expect(error.payload.properties.code.enum.sort()).toEqual([...errorCodeSchema.options].sort());
    expect(error.examples.map((e: Obj) => e.payload.code).sort()).toEqual([...errorCodeSchema.options].sort());
    for (const code of errorCodeSchema.options) expect(error.description).toContain(`\`${code}\``);
  });

  it('documents the URL shortcut: every example URL parses, every parameter is accepted', () => {
    for (const { query } of SHORTCUT_EXAMPLES)
      expect(() => parseShortcut(new URLSearchParams(query)), query).not.toThrow();
    const used = new Set(SHORTCUT_EXAMPLES.flatMap(({ query }) => [...new URLSearchParams(query).keys()]));
    expect([...used].sort()).toEqual(
      Object.keys(SHORTCUT_PARAMS)
        .filter((p) => p !== 'access_token')
        .sort(),
    );
    // access_token belongs to authentication: accepted beside a subscription, never part of it.
    expect(parseShortcut(new URLSearchParams('topic=orders&access_token=x'))).toEqual(
      parseShortcut(new URLSearchParams('topic=orders')),
    );
    expect(Object.keys(doc.channels.ws.bindings.ws.query.properties).sort()).toEqual(
      Object.keys(SHORTCUT_PARAMS).sort(),
    );
  });
});

describe('GET /asyncapi.yaml', () => {
  it('serves the checked-in document, public like /openapi.json unless AUTH_PUBLIC_DOCS=false', async () => {
    const res = await brokerlessApp().request('/asyncapi.yaml');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await res.text()).toBe(readFileSync(ASYNCAPI_FILE, 'utf8'));
    expect(publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: true })('/asyncapi.yaml')).toBe(true);
    expect(publicPathMatcher({ AUTH_PUBLIC_METRICS: false, AUTH_PUBLIC_DOCS: false })('/asyncapi.yaml')).toBe(false);
  });
});
