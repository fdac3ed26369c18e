// The Java client (examples/clients/java: java.net.http HttpClient + WebSocket, Jackson) against the real gateway and
// broker: produce JSON and binary, metadata, a manual-ack group subscription, typed errors. Built with Maven; the
// first build on a machine fetches the compiler plugins and Jackson from Maven Central into ~/.m2.
import path from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { build, CLIENTS_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

const JAVA_DIR = path.join(CLIENTS_DIR, 'java');
let gw: Gateway;

beforeAll(async () => {
  // `compile` also copies the runtime dependencies to target/dependency (see pom.xml).
  const mvn = build('mvn compile', 'mvn', ['-B', '-ntp', '-q', '-Dstyle.color=never', 'compile'], { cwd: JAVA_DIR });
  [, gw] = await Promise.all([mvn, startClientsGateway()]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Java client produces, reads metadata, consumes its records over WebSocket (group, manual ack) and types errors', async () => {
  const cp = ['target/classes', 'target/dependency/*'].join(path.delimiter);
  await runClientCheck('java', gw, inject('kafkaBrokers'), 'java', ['-cp', cp, 'kgw.Check'], { cwd: JAVA_DIR });
}, 300_000);
