// The Java client's HTTP consumer loop (examples/clients/java, kgw.HttpConsumerCheck: java.net.http + Jackson against the
// v2 consumer API): every record it produced read exactly once through GET records, committed for its group in Kafka.
import path from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { build, CLIENTS_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

const JAVA_DIR = path.join(CLIENTS_DIR, 'java');
let gw: Gateway;

beforeAll(async () => {
  const mvn = build('mvn compile', 'mvn', ['-B', '-ntp', '-q', '-Dstyle.color=never', 'compile'], { cwd: JAVA_DIR });
  [, gw] = await Promise.all([mvn, startClientsGateway()]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Java client reads its records with the v2 consumer API (create, subscribe, GET records, commit, delete)', async () => {
  const cp = ['target/classes', 'target/dependency/*'].join(path.delimiter);
  await runClientCheck('java', gw, inject('kafkaBrokers'), 'java', ['-cp', cp, 'kgw.HttpConsumerCheck'], {
    cwd: JAVA_DIR,
  });
}, 300_000);
