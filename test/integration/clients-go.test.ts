// The Go client (examples/clients/go: net/http + github.com/coder/websocket) against the real gateway and broker:
// produce JSON and binary, metadata, a manual-ack group subscription, typed errors. go.sum is committed; the
// first build on a machine downloads the module from the Go proxy into ~/go/pkg/mod.
import path from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { build, CLIENTS_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

const GO_DIR = path.join(CLIENTS_DIR, 'go');
const BIN = path.join(GO_DIR, 'bin', 'kgw-check');
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

it('the Go client produces, reads metadata, consumes its records over WebSocket (group, manual ack) and types errors', async () => {
  await runClientCheck('go', gw, inject('kafkaBrokers'), BIN, [], { cwd: GO_DIR });
}, 300_000);
