/**
 * The one place that loads kafkajs: on first use, with its patches applied first (kafkajs-patches.ts). Every other
 * file imports only kafkajs's types, so a gateway on @platformatic/kafka (KAFKA_CLIENT=platformatic) loads nothing of
 * kafkajs (idle RSS 144 → 136 MiB on Node 24: docs/performance.md, M1), and one on kafkajs always runs it patched.
 * `test/unit/architecture.test.ts` holds src/ to this; `test/unit/kafka-client-loading.test.ts` checks both clients.
 */
import { createRequire } from 'node:module';
import { applyKafkajsPatches } from './kafkajs-patches.js';

export type KafkajsLibrary = typeof import('kafkajs');

const require = createRequire(import.meta.url);
let library: KafkajsLibrary | undefined;

/**
 * kafkajs's runtime values (it is CommonJS: what an ESM default import would give). Synchronous, so the kafkajs side
 * of the gateway is built as before, only later.
 */
export function kafkajs(): KafkajsLibrary {
  if (!library) {
    applyKafkajsPatches();
    library = require('kafkajs') as KafkajsLibrary;
  }
  return library;
}
