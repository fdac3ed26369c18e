/**
 * `npm run openapi`: writes openapi/openapi.json and openapi/openapi.yaml from the routes themselves (the one
 * source of truth). The app is built with a stub Kafka side, so no broker is needed. test/unit/http/openapi.test.ts
 * fails when the checked-in files differ from what this generates.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildApp, OPENAPI_INFO } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { KafkaGateway } from '../src/kafka/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';

export const OPENAPI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi');

/** A Kafka side that only exists to let buildApp register its routes; any use is a bug. */
function stubKafka(): KafkaGateway {
  const unused = (what: string) => () => {
    throw new Error(`stub Kafka: ${what} is not available while generating the OpenAPI document`);
  };
  return new Proxy({} as KafkaGateway, {
    get: (_t, prop) => (prop === 'then' ? undefined : unused(String(prop))),
  });
}

/** The app as startGateway builds it (its routes, /metrics included), with no Kafka behind it: enough for docs. */
export function brokerlessApp() {
  const config = loadConfig({ KAFKA_BROKERS: 'stub:9092', AUTH_MODE: 'none', LOG_LEVEL: 'silent' });
  const metrics = createMetrics({ logger: silentLogger, defaultMetrics: false });
  return buildApp({ config, kafka: stubKafka(), logger: silentLogger, metrics });
}

export function openApiDocument() {
  return brokerlessApp().getOpenAPI31Document(OPENAPI_INFO);
}

/** The two files' contents, byte for byte as checked in. */
export function renderOpenApi(): { json: string; yaml: string } {
  const doc = openApiDocument();
  return {
    json: `${JSON.stringify(doc, null, 2)}\n`,
    yaml: stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { json, yaml } = renderOpenApi();
  mkdirSync(OPENAPI_DIR, { recursive: true });
  writeFileSync(join(OPENAPI_DIR, 'openapi.json'), json);
  writeFileSync(join(OPENAPI_DIR, 'openapi.yaml'), yaml);
  process.stdout.write(`wrote ${join('openapi', 'openapi.json')} and ${join('openapi', 'openapi.yaml')}\n`);
}
