// Java's HttpClient (examples/clients/java: kgw.Refusals) gets every early refusal on bodies of several MiB, with and
// without `Expect: 100-continue` (issue 11 §1; the latter from JDK 19 on, see kgw.Refusals). Built with the Java
// client's Maven project.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildJava, JAVA_CLASSPATH, JAVA_DIR, run } from '../helpers/clients.js';
import { type RefusalBed, startRefusalBed } from '../helpers/refusals.js';

let bed: RefusalBed;

beforeAll(async () => {
  const mvn = buildJava();
  [, bed] = await Promise.all([mvn, startRefusalBed()]);
}, 900_000);
afterAll(() => bed?.close());

it('HttpClient gets each refusal (status and error_code), three times on one client and with expectContinue', async () => {
  const r = await run('java', ['-cp', JAVA_CLASSPATH, 'kgw.Refusals'], {
    cwd: JAVA_DIR,
    env: { REFUSAL_CASES: bed.casesFile },
    timeoutMs: 240_000,
  });
  process.stdout.write(`[java refusals] ${r.output.trimEnd().replaceAll('\n', '\n[java refusals] ')}\n`);
  expect(r.code, 'exit code (output above)').toBe(0);
  expect(r.output).toMatch(/java client: all refusal checks passed/);
  // Each case: 3 plain tries, then expectContinue (skipped, saying why, on a JDK older than 19: JDK-8286171).
  expect(r.output.match(/^ok {3}.*3 times/gm)?.length, 'plain checks run').toBe(bed.cases.length);
  expect(r.output.match(/^(ok {3}.*with Expect|skip .*JDK-8286171)/gm)?.length, 'Expect checks').toBe(bed.cases.length);
}, 300_000);
