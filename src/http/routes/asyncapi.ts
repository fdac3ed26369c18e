/**
 * `/asyncapi.yaml`: the AsyncAPI 3 document of the `/ws` protocol, built from the frame schemas at the first request (the
 * same bytes as the checked-in openapi/asyncapi.yaml; test/unit/ws/asyncapi.test.ts holds both in step). Public like
 * /openapi.json.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps.js';
import type { AsyncApiOptions } from '../../ws/asyncapi/document.js';

export function asyncapiRoutes(options: AsyncApiOptions) {
  const app = new OpenAPIHono<AppEnv>();
  let yaml: string | undefined;
  app.get('/asyncapi.yaml', async (c) => {
    // The generator and the YAML library are loaded at the first request, not at start-up (M1, idle memory).
    yaml ??= (await import('../../ws/asyncapi/document.js')).asyncApiYaml(options);
    c.header('Content-Type', 'application/yaml; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    return c.body(yaml);
  });
  return app;
}
