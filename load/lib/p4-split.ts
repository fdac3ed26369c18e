/**
 * The arithmetic of load/probe-p4.ts, apart so it can be tested: a trace written by load/lib/p4-trace.mjs in, a
 * request's time split into its legs out.
 */

/** One traced event: an HTTP request (start, finish), a Kafka socket write or read (time, socket, bytes), a GC (start, ms, kind). */
export type Ev = ['http', number, number] | ['kw' | 'kr', number, number, number] | ['gc', number, number, number];

export interface Trace {
  node: string;
  sockets: { id: number; port?: number; noDelay?: boolean }[];
  loopDelayMs: { p50: number; p99: number; max: number };
  cpuUs: { user: number; system: number };
  uptimeS: number;
  events: Ev[];
}

/** Kafka round trips: each write followed by the next read on the same socket. */
export function roundTrips(t: Trace, from: number, to: number): { write: number; read: number }[] {
  const out: { write: number; read: number }[] = [];
  const open = new Map<number, number>();
  for (const e of t.events) {
    if ((e[0] !== 'kw' && e[0] !== 'kr') || e[1] < from || e[1] > to) continue;
    if (e[0] === 'kw' && !open.has(e[2])) open.set(e[2], e[1]);
    else if (e[0] === 'kr' && open.has(e[2])) {
      out.push({ write: open.get(e[2])!, read: e[1] });
      open.delete(e[2]);
    }
  }
  return out;
}

export /**
 * Each HTTP request that began at or after `from`, split at the first Kafka round trip that was written after it
 * began and answered before it finished: in→kafka, kafka, kafka→out (ms).
 */
function split(t: Trace, from: number) {
  // (Recorded when they finish: in order of start here.)
  const http = t.events
    .filter((e): e is ['http', number, number] => e[0] === 'http' && e[1] >= from)
    .sort((a, b) => a[1] - b[1]);
  const trips = roundTrips(t, from, Number.POSITIVE_INFINITY);
  const inToKafka: number[] = [];
  const kafka: number[] = [];
  const kafkaToOut: number[] = [];
  let j = 0;
  for (const [, start, finish] of http) {
    while (j < trips.length && trips[j]!.write < start) j++;
    // The produce request that carried this record: the first write after the request began (a batch may carry
    // several requests; at 200/s they seldom overlap).
    const trip = trips.slice(j).find((r) => r.read <= finish);
    if (!trip) continue;
    inToKafka.push(trip.write - start);
    kafka.push(trip.read - trip.write);
    kafkaToOut.push(finish - trip.read);
  }
  return { server: http.map(([, s, f]) => f - s), inToKafka, kafka, kafkaToOut };
}

/** Garbage collections in the measured window: count, total and longest pause, per kind. */
export function gcs(t: Trace, from: number): string {
  const byKind = new Map<number, number[]>();
  for (const e of t.events)
    if (e[0] === 'gc' && e[1] >= from) (byKind.get(e[3]) ?? byKind.set(e[3], []).get(e[3])!).push(e[2]);
  const kinds: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak' };
  return (
    [...byKind]
      .map(
        ([k, xs]) =>
          `${kinds[k] ?? k} ${xs.length}× ${xs.reduce((a, b) => a + b, 0).toFixed(0)} ms (max ${Math.max(...xs).toFixed(1)})`,
      )
      .join(', ') || 'none'
  );
}
