// Go's net/http client (examples/clients/go/cmd/refusals) gets every early refusal on bodies of several MiB, with and
// without `Expect: 100-continue` (issue 11 §1). Same module as the Go client check: no download beyond its go.sum.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildGo, GO_DIR, run } from '../helpers/clients.js';
import { type RefusalBed, startRefusalBed } from '../helpers/refusals.js';

let bin: string;
let bed: RefusalBed;

beforeAll(async () => {
  [bin, bed] = await Promise.all([buildGo('kgw-refusals', './cmd/refusals'), startRefusalBed()]);
}, 900_000);
afterAll(() => bed?.close());

it('net/http gets each refusal (status and error_code), three times on one client and with Expect: 100-continue', async () => {
  const r = await run(bin, [], { cwd: GO_DIR, env: { REFUSAL_CASES: bed.casesFile }, timeoutMs: 240_000 });
  process.stdout.write(`[go refusals] ${r.output.trimEnd().replaceAll('\n', '\n[go refusals] ')}\n`);
  expect(r.code, 'exit code (output above)').toBe(0);
  expect(r.output).toMatch(/go client: all refusal checks passed/);
  expect(r.output.match(/^ok {3}/gm)?.length, 'checks run').toBe(2 * bed.cases.length);
}, 300_000);
