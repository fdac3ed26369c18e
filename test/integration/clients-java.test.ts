// The Java client (examples/clients/java: java.net.http HttpClient + WebSocket, Jackson) against the real gateway and
// broker: produce JSON and binary, metadata, a manual-ack group subscription, typed errors. Built with Maven; the
// first build on a machine fetches the compiler plugins and Jackson from Maven Central into ~/.m2.
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { buildJava, JAVA_CLASSPATH, JAVA_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

let gw: Gateway;

beforeAll(async () => {
  const mvn = buildJava();
  [, gw] = await Promise.all([mvn, startClientsGateway()]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Java client produces, reads metadata, consumes its records over WebSocket (group, manual ack) and types errors', async () => {
  await runClientCheck('java', gw, inject('kafkaBrokers'), 'java', ['-cp', JAVA_CLASSPATH, 'kgw.Check'], {
    cwd: JAVA_DIR,
  });
}, 300_000);
