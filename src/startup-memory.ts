/**
 * Gives back the memory that only starting needed (docs/performance.md, "Idle memory"). While the gateway's modules
 * load, nearly everything allocated survives, so V8 grows its young generation towards the maximum (64 MiB committed
 * on Node 24, 32 on Node 22 on this machine) and keeps it: Node 24 started no memory-reducing collection in minutes of
 * idling, so an idle gateway held ~18 MiB it did not need (M1 3 s after start: 103 → 85 MiB RSS on kafkajs, 136 → 99
 * MiB on @platformatic/kafka). One
 * memory-reducing full collection once the server listens returns it; under load the young generation grows again
 * as V8 sees fit, so throughput is untouched (one pause of ~20 ms, at start-up).
 *
 * V8 offers that collection only through `gc()`, which Node exposes only under --expose-gc: the flag is turned on
 * just long enough to take `gc` from a fresh context (the global context stays without it), then off again.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** Runs one memory-reducing full GC; false (and nothing done) when this runtime does not allow it. */
export function releaseStartupMemory(): boolean {
  let gc: Gc | undefined;
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as Gc | undefined;
  } catch {
    gc = undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return false;
  // 'last-resort' is V8's memory-reducing flavour (it also shrinks the young generation); a plain gc() would not.
  // V8 before 12 (Node 20, unsupported) ignores the options: a plain full GC then, harmless.
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}
