// The Go client's HTTP consumer loop (examples/clients/go, MODE=http-consumer: net/http against the v2 consumer API):
// every record it produced read exactly once through GET records, committed for its group in Kafka.
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { buildGo, GO_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

let bin: string;
let gw: Gateway;

beforeAll(async () => {
  [bin, gw] = await Promise.all([buildGo('kgw-check-consumer'), startClientsGateway()]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Go client reads its records with the v2 consumer API (create, subscribe, GET records, commit, delete)', async () => {
  await runClientCheck('go', gw, inject('kafkaBrokers'), bin, [], { cwd: GO_DIR, env: { MODE: 'http-consumer' } });
}, 300_000);
