// Which limits a worker shares with its siblings (docs/workers.md, "Limits"): the pod-wide bounds are divided among
// the workers (rounded up), the per-caller and per-socket ones stay whole, and one worker changes nothing.
import { describe, expect, it } from 'vitest';
import { perWorker, SHARED_LIMITS } from '../../../src/cluster/limits.js';
import { loadConfig } from '../../../src/config.js';

const BASE = { KAFKA_BROKERS: 'kafka:9092', AUTH_MODE: 'none' };

describe('perWorker', () => {
  it('gives each of N workers its share of the pod-wide bounds, rounded up', () => {
    const c = loadConfig({
      ...BASE,
      WORKERS: '3',
      MAX_INFLIGHT_PRODUCE_BYTES: '3000',
      WS_SEND_BUDGET_BYTES: '3001',
      CONSUMER_MAX_INSTANCES: '10',
      SSE_MAX_STREAMS: '2000',
      SSE_MAX_READERS: '1',
    });
    const w = perWorker(c);
    expect(w.MAX_INFLIGHT_PRODUCE_BYTES).toBe(1000);
    expect(w.WS_SEND_BUDGET_BYTES).toBe(1001);
    expect(w.CONSUMER_MAX_INSTANCES).toBe(4);
    expect(w.SSE_MAX_STREAMS).toBe(667);
    // Never below one: a pod-wide bound of 1 still lets every worker take one.
    expect(w.SSE_MAX_READERS).toBe(1);
    expect([...SHARED_LIMITS].sort()).toEqual([
      'CONSUMER_MAX_INSTANCES',
      'MAX_INFLIGHT_PRODUCE_BYTES',
      'SSE_MAX_READERS',
      'SSE_MAX_STREAMS',
      'WS_SEND_BUDGET_BYTES',
    ]);
  });

  it('keeps the per-caller and per-socket limits whole', () => {
    const c = loadConfig({ ...BASE, WORKERS: '4', RATE_LIMIT_RECORDS_PER_S: '100' });
    const w = perWorker(c);
    expect(w.RATE_LIMIT_RECORDS_PER_S).toBe(100);
    expect(w.CONSUMER_MAX_INSTANCES_PER_CALLER).toBe(c.CONSUMER_MAX_INSTANCES_PER_CALLER);
    expect(w.WS_SEND_HIGH_WATER_BYTES).toBe(c.WS_SEND_HIGH_WATER_BYTES);
    expect(w.CONSUMER_BUFFER_BYTES).toBe(c.CONSUMER_BUFFER_BYTES);
  });

  it('changes nothing for one worker', () => {
    const c = loadConfig(BASE);
    expect(perWorker(c)).toBe(c);
  });
});
