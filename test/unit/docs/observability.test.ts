// docs/observability.md lists every series the gateway itself registers: a metric added in the code without a row
// there (or a row left for a metric that is gone) fails here.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { createMetrics } from '../../../src/observability/metrics.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'observability.md'), 'utf8');
const POD_ONLY = readFileSync(join(ROOT, 'src', 'observability', 'pod-metrics.ts'), 'utf8');

it("names every one of the gateway's own metrics, and no other", async () => {
  const m = createMetrics({ defaultMetrics: false });
  const registered = (await m.registry.getMetricsAsJSON()).map((s) => s.name);
  // The pod-level gauge exists only when a primary merges its workers' series.
  const pod = [...POD_ONLY.matchAll(/_METRIC = '([a-z_]+)'/g)].map((x) => x[1]!);
  expect(pod).toEqual(['kafka_gateway_workers']);
  const inCode = [...registered, ...pod].sort();
  const documented = [...PAGE.matchAll(/^\| `((?:http|kafka_gateway)_[a-z_]+)` \|/gm)].map((x) => x[1]!).sort();
  expect(documented).toEqual(inCode);
});
