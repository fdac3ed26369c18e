// The Java client's HTTP consumer loop (examples/clients/java, kgw.HttpConsumerCheck: java.net.http + Jackson against the
// v2 consumer API): every record it produced read exactly once through GET records, committed for its group in Kafka.
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

it('the Java client reads its records with the v2 consumer API (create, subscribe, GET records, commit, delete)', async () => {
  await runClientCheck('java', gw, inject('kafkaBrokers'), 'java', ['-cp', JAVA_CLASSPATH, 'kgw.HttpConsumerCheck'], {
    cwd: JAVA_DIR,
  });
}, 300_000);
