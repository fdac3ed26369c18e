// The Go client's HTTP consumer loop (examples/clients/go, MODE=http-consumer: net/http against the v2 consumer API):
// every record it produced read exactly once through GET records, committed for its group in Kafka.
import path from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { build, CLIENTS_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

const GO_DIR = path.join(CLIENTS_DIR, 'go');
const BIN = path.join(GO_DIR, 'bin', 'kgw-check-consumer');
let gw: Gateway;

beforeAll(async () => {
  const env = { GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -buildvcs=false`.trim() };
  [, gw] = await Promise.all([
    build('go build', 'go', ['build', '-o', BIN, '.'], { cwd: GO_DIR, env }),
    startClientsGateway(),
  ]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Go client reads its records with the v2 consumer API (create, subscribe, GET records, commit, delete)', async () => {
  await runClientCheck('go', gw, inject('kafkaBrokers'), BIN, [], { cwd: GO_DIR, env: { MODE: 'http-consumer' } });
}, 300_000);
