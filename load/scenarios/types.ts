/**
 * A benchmark scenario is a module under load/scenarios/ exporting a `Scenario`. bench.ts runs every selected
 * scenario once per round (alternating which side goes first), then asks each to summarize its rounds into
 * table rows. New scenarios (the WebSocket W1–W4) plug in by adding a module and listing it in index.ts.
 */

/** What one measured run of one side (gateway or baseline) produced. */
export interface Measured {
  durationS: number;
  records?: number;
  recordsPerS?: number;
  requestsPerS?: number;
  latencyMs?: { p50: number; p90: number; p99: number; mean: number; max: number; count: number };
  errors: number;
  /** Average CPU per process over the run, % of one core (gateway, broker, loadgen, baseline, ...). */
  cpuPct?: Record<string, number>;
  /** Highest RSS per process during the run, MiB. */
  rssMaxMb?: Record<string, number>;
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, number>;
}

export interface RoundResult {
  gateway?: Measured;
  baseline?: Measured;
  /** Scenario-specific numbers (e.g. M1's idle RSS). */
  values?: Record<string, number>;
  /** The machine's 1-minute load average when the round started (set by the runner; context for noise). */
  load1?: number;
}

/** One line of the results table. */
export interface Row {
  id: string;
  metric: string;
  unit: string;
  gateway?: number;
  baseline?: number;
  /** gateway ÷ baseline (or the scenario's own definition, said in `metric`). */
  ratio?: number;
  target: string;
  /** undefined when there is no pass/fail target. */
  ok?: boolean;
  note?: string;
}

export interface BenchContext {
  /** Kafka bootstrap (PLAINTEXT). */
  brokers: string;
  /** Base URL of the gateway under test. */
  gatewayUrl: string;
  /** Processes whose CPU/RSS are reported (absent when the gateway is not ours, e.g. `npm run load -- --url`). */
  pids: { gateway?: number; broker?: number };
  durationS: number;
  warmupS: number;
  /** Which side runs first this round (alternates, so drift and caches do not favour one side). */
  gatewayFirst: boolean;
  /** Run the baseline side too (needs `brokers`). */
  baseline: boolean;
  round: number;
  /** Settings passed to the gateway process (`--gateway-env`), when the runner started it. */
  gatewayEnv?: Readonly<Record<string, string>>;
  /** A scenario-specific numeric flag (`--sockets 500`), or `def`. */
  param(name: string, def: number): number;
  /** A scenario-specific text flag (`--c1-balancer nginx`), or `def`. */
  option(name: string, def: string): string;
  log(msg: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  /** Topics the scenario needs: name → partitions (created before round 1). */
  topics?: Record<string, number>;
  /** Runs once per round. */
  round(ctx: BenchContext): Promise<RoundResult>;
  /** Rounds → table rows; `all` holds every scenario's rounds (for cross-scenario rows such as P1 ÷ P5). */
  summarize(rounds: RoundResult[], all: ReadonlyMap<string, RoundResult[]>): Row[];
}
