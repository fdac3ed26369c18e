// Python's urllib and requests (test/python/test_refusals.py) get every early refusal on bodies of several MiB,
// instead of BrokenPipeError / ConnectionResetError (issue 11 §1).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensurePythonEnv } from '../../scripts/python-env.mjs';
import { type RefusalBed, startRefusalBed } from '../helpers/refusals.js';
import { runPytest } from '../helpers/pytest.js';

let python: string;
let bed: RefusalBed;

beforeAll(async () => {
  [python, bed] = await Promise.all([ensurePythonEnv(), startRefusalBed()]);
}, 600_000);
afterAll(() => bed?.close());

it('urllib and requests get each refusal (status and error_code), three times in a row', async () => {
  const { code, output } = await runPytest(python, ['test_refusals.py'], {
    REFUSAL_CASES: bed.casesFile,
    KGW_REFUSALS: '1',
  });
  if (code !== 0) console.error(output);
  expect(code, 'pytest exit code (output above)').toBe(0);
  // 8 cases × (urllib, requests), none skipped.
  expect(output).toMatch(/\b16 passed\b/);
  expect(output).not.toMatch(/\b(failed|skipped|error)\b/);
}, 600_000);
