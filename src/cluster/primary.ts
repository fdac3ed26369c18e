/**
 * The primary process of WORKERS > 1: forks the workers (each a whole gateway on the shared port), restarts one
 * that dies (with a backoff), relays metrics collections between them, and on SIGTERM/SIGINT asks every worker to
 * shut down gracefully and exits once all have, within SHUTDOWN_TIMEOUT_MS. It serves no request itself.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { type MetricsJson, isKgwMessage, type PrimaryMessage, WORKER_ID_ENV, type WorkerMessage } from './messages.js';

/** First restart delay; doubles per quick death up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying starts its slot's backoff from the beginning again. */
const STABLE_AFTER_MS = 60_000;
/** A metrics collection waits this long for the workers (a stuck one is left out of that scrape). */
const COLLECT_TIMEOUT_MS = 2000;
/** On top of SHUTDOWN_TIMEOUT_MS (the workers' own deadline) before a worker still alive is killed. */
const SHUTDOWN_GRACE_MS = 3000;

interface Slot {
  id: number;
  worker: Worker | undefined;
  /** Its loopback door for siblings, once it said `ready`. */
  url: string | undefined;
  startedAt: number;
  /** Quick deaths in a row (for the backoff). */
  failures: number;
  /** Some worker of this slot was ready once (a slot that never was stops the pod at start-up). */
  wasReady: boolean;
  restartTimer: NodeJS.Timeout | undefined;
}

interface Collection {
  asker: Worker;
  askerId: number;
  pending: Set<number>;
  registries: MetricsJson[];
  workers: number;
  timer: NodeJS.Timeout;
}

export interface PrimaryOptions {
  /** Exit the process (tests pass their own). */
  exit?: (code: number) => void;
}

export function runPrimary(config: Config, logger: Logger, options: PrimaryOptions = {}): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = logger.child({ role: 'primary' });
  const n = config.WORKERS;
  // Siblings sign their calls to each other like replicas do. Without PEER_SECRET the pod makes its own: random,
  // in this pod's memory and its workers' environment only, never logged.
  const env: Record<string, string> = config.PEER_SECRET ? {} : { PEER_SECRET: randomBytes(32).toString('base64url') };
  const slots: Slot[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    worker: undefined,
    url: undefined,
    startedAt: 0,
    failures: 0,
    wasReady: false,
    restartTimer: undefined,
  }));
  const collections = new Map<number, Collection>();
  let nextCollection = 0;
  let stopping = false;
  let exitCode = 0;
  let announced = false;

  const send = (w: Worker | undefined, m: PrimaryMessage) => {
    if (w?.isConnected()) w.send(m);
  };

  function broadcastSiblings(): void {
    for (const s of slots)
      send(s.worker, {
        kgw: 'siblings',
        urls: slots.filter((o) => o !== s && o.url !== undefined).map((o) => o.url!),
      });
  }

  function finish(cid: number): void {
    const c = collections.get(cid);
    if (!c) return;
    collections.delete(cid);
    clearTimeout(c.timer);
    send(c.asker, { kgw: 'scraped', id: c.askerId, workers: c.workers, registries: c.registries });
  }

  function onMessage(slot: Slot, w: Worker, m: WorkerMessage): void {
    switch (m.kgw) {
      case 'ready':
        slot.url = m.url;
        slot.wasReady = true;
        broadcastSiblings();
        if (!announced && slots.every((s) => s.wasReady)) {
          announced = true;
          log.info({ workers: n }, 'all workers listening');
        }
        break;
      case 'scrape': {
        const cid = nextCollection++;
        // The ready workers, and the asker itself (it may serve a moment before it said `ready`).
        const targets = slots.filter((s) => (s.url !== undefined || s === slot) && s.worker?.isConnected());
        const c: Collection = {
          asker: w,
          askerId: m.id,
          pending: new Set(targets.map((s) => s.id)),
          registries: [],
          workers: 0,
          timer: setTimeout(() => finish(cid), COLLECT_TIMEOUT_MS),
        };
        collections.set(cid, c);
        for (const s of targets) send(s.worker, { kgw: 'collect', id: cid });
        if (c.pending.size === 0) finish(cid);
        break;
      }
      case 'snapshot': {
        const c = collections.get(m.id);
        if (!c?.pending.delete(slot.id)) break;
        c.registries.push(...m.registries);
        c.workers++;
        if (c.pending.size === 0) finish(m.id);
        break;
      }
    }
  }

  function fork(slot: Slot): void {
    slot.restartTimer = undefined;
    slot.url = undefined;
    slot.startedAt = Date.now();
    const w = cluster.fork({ ...env, [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = w;
    w.on('message', (m: unknown) => {
      if (isKgwMessage<WorkerMessage>(m)) onMessage(slot, w, m);
    });
    w.on('exit', (code, signal) => onExit(slot, w, code, signal));
  }

  function onExit(slot: Slot, w: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== w) return;
    slot.worker = undefined;
    slot.url = undefined;
    for (const [cid, c] of collections) if (c.pending.delete(slot.id) && c.pending.size === 0) finish(cid);
    broadcastSiblings();
    if (stopping) {
      if (code !== 0) exitCode = 1;
      log.info({ worker: slot.id, code, signal }, 'worker stopped');
      if (slots.every((s) => s.worker === undefined)) {
        log.info('all workers stopped');
        exit(exitCode);
      }
      return;
    }
    if (!slot.wasReady) {
      // It never served: the next one would fail the same way (a port in use, a bad key file). Stop the pod.
      log.error({ worker: slot.id, code, signal }, 'worker failed to start; stopping');
      exitCode = 1;
      shutdown();
      return;
    }
    if (Date.now() - slot.startedAt >= STABLE_AFTER_MS) slot.failures = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** slot.failures);
    slot.failures++;
    log.warn({ worker: slot.id, code, signal, restartInMs: delay }, 'worker died; restarting it');
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  }

  function shutdown(): void {
    if (stopping) return;
    stopping = true;
    for (const s of slots) {
      clearTimeout(s.restartTimer);
      s.restartTimer = undefined;
      send(s.worker, { kgw: 'shutdown' });
    }
    if (slots.every((s) => s.worker === undefined)) {
      exit(exitCode);
      return;
    }
    // The workers stop within SHUTDOWN_TIMEOUT_MS on their own; one that does not is killed.
    setTimeout(() => {
      const stuck = slots.filter((s) => s.worker !== undefined);
      if (stuck.length === 0) return;
      log.error({ workers: stuck.map((s) => s.id) }, 'workers did not stop in time; killing them');
      for (const s of stuck) s.worker!.process.kill('SIGKILL');
      exitCode = 1;
    }, config.SHUTDOWN_TIMEOUT_MS + SHUTDOWN_GRACE_MS).unref();
  }

  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal: killing the workers and exiting now');
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      exit(1);
      return;
    }
    log.info({ signal }, 'shutting down all workers');
    shutdown();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  log.info({ workers: n, port: config.PORT }, 'starting workers');
  for (const s of slots) fork(s);
}
