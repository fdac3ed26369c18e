// The Go client (examples/clients/go: net/http + github.com/coder/websocket) against the real gateway and broker:
// produce JSON and binary, metadata, a manual-ack group subscription, typed errors. go.sum is committed; the
// first build on a machine downloads the module from the Go proxy into ~/go/pkg/mod.
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { buildGo, GO_DIR, runClientCheck, startClientsGateway } from '../helpers/clients.js';

let bin: string;
let gw: Gateway;

beforeAll(async () => {
  [bin, gw] = await Promise.all([buildGo('kgw-check'), startClientsGateway()]);
}, 900_000);
afterAll(async () => {
  await gw?.close();
});

it('the Go client produces, reads metadata, consumes its records over WebSocket (group, manual ack) and types errors', async () => {
  await runClientCheck('go', gw, inject('kafkaBrokers'), bin, [], { cwd: GO_DIR });
}, 300_000);
