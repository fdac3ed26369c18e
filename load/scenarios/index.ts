/**
 * The scenario registry: bench.ts runs `DEFAULT_SCENARIOS` in this order each round; `--scenarios` picks others.
 * W1–W4 (WebSocket) and P6 (v3 streaming; compare with `--scenarios P1,P6`) are registered but not default: name them
 * (`--scenarios W1,W2`), see the README's Performance section. K1–K4 compare the two bare Kafka client libraries
 * (`--scenarios K1,K3,P5` on Node 24, see clients.ts).
 */
import { ceilingScenario } from './ceiling.js';
import { K1, K2, K3, K4 } from './clients.js';
import { M1, M2 } from './memory.js';
import { P1, P2, P3, P4 } from './produce.js';
import { P6 } from './stream.js';
import type { Scenario } from './types.js';
import { W1, W2 } from './ws-delivery.js';
import { W3, W3B } from './ws-group.js';
import { W4 } from './ws-slow.js';
import { W4B } from './ws-lagging.js';
import { C1 } from './http-consumers.js';
import { C2 } from './sse.js';

export function scenarios(opts: { p5Records?: number } = {}): Map<string, Scenario> {
  const list = [
    M1,
    P1,
    P2,
    P3,
    P4,
    ceilingScenario(opts.p5Records),
    P6,
    M2,
    W1,
    W2,
    W3,
    W3B,
    W4,
    W4B,
    C1,
    C2,
    K1,
    K2,
    K3,
    K4,
  ];
  return new Map(list.map((s) => [s.id, s]));
}

export const DEFAULT_SCENARIOS = ['M1', 'P1', 'P2', 'P3', 'P4', 'P5', 'M2'];
