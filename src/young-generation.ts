/**
 * The size of V8's young generation, which decides the gateway's CPU per record under a memory limit
 * (docs/performance.md, "In a pod with a memory limit").
 *
 * V8 sizes its heap from the memory the process may use: in a container with a memory limit (the Helm chart's is
 * 512 MiB) the heap limit is about half of it and the young generation shrinks with it, to 1 MiB per semi-space
 * (tens of MiB without a limit). Every record the gateway holds while Kafka acknowledges it then outlives several
 * young collections and is copied into the old generation, which fills and is collected over and over: measured
 * side by side, 2.3–2.7× the CPU per produced record. Naming the semi-space size on node's command line gives back
 * the young generation a limit took away (0.98–1.6× then, moving between runs); a running process cannot change it any more, so the
 * flag goes wherever the gateway is started: the container image, `npm start`, `npm run dev` and the load harness
 * (test/unit/young-generation.test.ts checks each of them carries YOUNG_GENERATION_FLAG; helm.test the image's).
 */

/** The node flag every launcher of the gateway passes. */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=32';

/** Below this heap limit V8 gives the young generation less than it has without a memory limit. */
const SMALL_HEAP_LIMIT_BYTES = 2 * 1024 ** 3;

export interface YoungGenerationFacts {
  /** The node flags of this process (process.execArgv). */
  execArgv: readonly string[];
  /** NODE_OPTIONS as this process saw it. */
  nodeOptions: string | undefined;
  /** V8's heap limit (v8.getHeapStatistics().heap_size_limit). */
  heapSizeLimit: number;
}

/** A warning for the start-up log when V8 shrank the young generation and no flag set it; else undefined. */
export function youngGenerationWarning(f: YoungGenerationFacts): string | undefined {
  const named = [...f.execArgv, ...(f.nodeOptions ?? '').split(/\s+/)].some((a) =>
    /^--max[-_]semi[-_]space[-_]size\b/.test(a),
  );
  if (named || f.heapSizeLimit >= SMALL_HEAP_LIMIT_BYTES) return undefined;
  return (
    `V8 sized its heap from a memory limit (heap limit ${Math.round(f.heapSizeLimit / 1024 ** 2)} MiB) and shrank ` +
    `its young generation: under load the gateway may spend twice the CPU per record. Start node with ` +
    `${YOUNG_GENERATION_FLAG} (the container image and npm start do).`
  );
}
