/**
 * A fixed-resolution latency histogram (0.05 ms buckets up to 30 s, one overflow bucket): cheap to fill in a hot
 * loop, small to ship between processes (only non-empty buckets), exact enough for p50/p99 of WebSocket delivery.
 */
import type { LatencySummary } from './stats.js';

const RESOLUTION_MS = 0.05;
const MAX_MS = 30_000;
const BUCKETS = Math.ceil(MAX_MS / RESOLUTION_MS) + 1;

export type SparseHistogram = Array<[bucket: number, count: number]>;

export class Histogram {
  private counts = new Uint32Array(BUCKETS);
  count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const b = Math.min(BUCKETS - 1, Math.floor(v / RESOLUTION_MS));
    this.counts[b]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  toSparse(): { buckets: SparseHistogram; count: number; sum: number; max: number } {
    const buckets: SparseHistogram = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sum: this.sum, max: this.max };
  }

  add(s: { buckets: SparseHistogram; count: number; sum: number; max: number }): void {
    for (const [b, c] of s.buckets) this.counts[b]! += c;
    this.count += s.count;
    this.sum += s.sum;
    if (s.max > this.max) this.max = s.max;
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === BUCKETS - 1 ? this.max : (i + 0.5) * RESOLUTION_MS;
    }
    return this.max;
  }

  summary(): LatencySummary {
    if (this.count === 0)
      return { count: 0, mean: Number.NaN, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN };
    return {
      count: this.count,
      mean: this.sum / this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.max,
    };
  }
}
