/**
 * `npm run asyncapi`: writes openapi/asyncapi.yaml, the AsyncAPI 3 document of the WebSocket protocol, from the
 * zod frame schemas in src/ws/protocol.ts (see src/ws/asyncapi/ for what is added to them). The gateway serves
 * the same document at /asyncapi.yaml; test/unit/ws/asyncapi.test.ts fails when the checked-in file differs from this.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_INFO } from '../src/app.js';
import { asyncApiYaml } from '../src/ws/asyncapi/document.js';
import { OPENAPI_DIR } from './openapi.js';

export const ASYNCAPI_FILE = join(OPENAPI_DIR, 'asyncapi.yaml');

/** The file's content, byte for byte as checked in. */
export function renderAsyncApi(): string {
  return asyncApiYaml({ version: OPENAPI_INFO.info.version });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(OPENAPI_DIR, { recursive: true });
  writeFileSync(ASYNCAPI_FILE, renderAsyncApi());
  process.stdout.write(`wrote ${join('openapi', 'asyncapi.yaml')}\n`);
}
