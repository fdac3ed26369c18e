/**
 * Is the cluster reachable? Requests are refused with 503 50302 at once while it is not, instead of each
 * waiting out kafkajs's retries. 50302 means *no* broker answers, so only the probe (a metadata round trip, which
 * kafkajs sends to any broker it can reach) decides: a send that failed to reach one broker only asks for a probe
 * now (`suspect`), since with one of three brokers dead the others still answer. A probe that fails for a network
 * reason must fail twice in a row, and a failure while the event loop was stalled (a CPU-starved machine: the
 * answer was there but we were not running to read it) is not counted. A configuration problem (SASL, OAuth,
 * TLS) counts at once: it will not go away by itself.
 * Why it is down is said once, in one line (`Kafka unreachable: <reason>`), and answered by /readyz: TLS and SASL
 * failures are named as such, with the setting to check, instead of kafkajs's raw messages.
 */
import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../observability/logger.js';
import { explainKafkaError, type KafkaProblem, unreachableText } from './errors.js';

/** A probe that failed while the event loop stalled longer than this says nothing about Kafka. */
const STALL_MS = 1000;
/** ...but at most this many such failures in a row are excused. */
const MAX_EXCUSED = 3;
/** Network failures in a row before the cluster is declared unreachable. */
const FAILURES_TO_DOWN = 2;
/** A probe still unanswered after this long is inconclusive (see probeOnce). */
const PROBE_TIMEOUT_MS = 10_000;
/** A failed probe while up is confirmed after this pause. */
const CONFIRM_MS = 200;

export interface AvailabilityOptions {
  /** A cheap round-trip to the cluster (e.g. describeCluster); rejects when unreachable. */
  probe: () => Promise<void>;
  /** Called after a successful probe that ends an outage (e.g. reconnect the producer). */
  onRecover?: () => Promise<void>;
  intervalMs?: number;
  logger: Logger;
}

export class Availability extends EventEmitter {
  private up = false;
  private reason = 'not connected yet';
  private kind: KafkaProblem['kind'] = 'other';
  private rank = -1;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly intervalMs: number;
  /** Failed probes in a row while up (network reasons), and those excused by a stalled event loop. */
  private failures = 0;
  private excused = 0;
  private readonly lag = monitorEventLoopDelay({ resolution: 20 });

  constructor(private readonly opts: AvailabilityOptions) {
    super();
    this.intervalMs = opts.intervalMs ?? 1000;
    this.lag.enable();
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Why the cluster is not reachable (the most specific reason seen during this outage). */
  get lastError(): string {
    return this.reason;
  }

  /** What a refused client is told (503 50302): see unreachableText. */
  get refusal(): string {
    return `${unreachableText(this.kind)}; nothing was sent.`;
  }

  markUp(): void {
    if (!this.up) {
      this.up = true;
      this.rank = -1;
      this.opts.logger.info('Kafka reachable');
      this.emit('up');
    }
  }

  /**
   * A send could not reach a broker: check the cluster now. Requests are refused only if the probe confirms it
   * (see the module comment). A configuration problem (authentication, TLS) is taken as it is.
   */
  suspect(cause: unknown): void {
    if (this.closed) return;
    if (explainKafkaError(cause).rank === 2) {
      this.markDown(cause);
      return;
    }
    this.check();
  }

  /** Something looks wrong (a send is slow): check the cluster now; the check decides, as above. */
  check(): void {
    if (this.up && !this.closed) void this.probeOnce();
  }

  /** The cluster cannot be used: refuse requests until a probe succeeds. `cause`: an error or its message. */
  markDown(cause: unknown): void {
    if (this.closed) return;
    const wasUp = this.up;
    this.up = false;
    this.note(explainKafkaError(cause), wasUp);
    this.emit('down', this.reason);
    this.schedule();
  }

  /** Probe now (start-up), then keep probing while down. */
  async start(): Promise<void> {
    await this.probeOnce();
  }

  /** Records a problem; logs one line when the outage starts or its reason changes. */
  private note(problem: KafkaProblem, wasUp: boolean): void {
    if (!wasUp && problem.rank < this.rank) return; // keep the more specific cause
    const changed = wasUp || problem.reason !== this.reason;
    this.reason = problem.reason;
    this.kind = problem.kind;
    this.rank = problem.rank;
    if (changed && !this.closed)
      this.opts.logger.warn(
        { reason: problem.reason, kind: problem.kind },
        `Kafka unreachable: ${problem.reason}; refusing requests with 503 until it answers`,
      );
  }

  private schedule(ms = this.intervalMs): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probeOnce();
    }, ms);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    this.lag.reset();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A probe kafkajs never answers (a broker that accepts requests and never answers them) must not freeze the
      // tracker: past PROBE_TIMEOUT_MS it is inconclusive. Up: stay up (requests are still answered by their own
      // deadlines; another broker may answer the next check); down: probe again later.
      const timedOut = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), PROBE_TIMEOUT_MS);
      });
      if ((await Promise.race([this.opts.probe(), timedOut])) === 'timeout') {
        if (!this.up) this.schedule();
        return;
      }
      if (!this.up) await this.opts.onRecover?.();
      this.failures = 0;
      this.excused = 0;
      this.markUp();
    } catch (e) {
      const problem = explainKafkaError(e);
      if (this.up && problem.rank < 2) {
        // Up until now, and not a configuration problem: confirm before refusing requests.
        const stalled = this.lag.max / 1e6 > STALL_MS;
        if (stalled && this.excused < MAX_EXCUSED) this.excused++;
        else this.failures++;
        if (this.failures < FAILURES_TO_DOWN) {
          this.schedule(CONFIRM_MS);
          return;
        }
      }
      const wasUp = this.up;
      this.up = false;
      this.failures = 0;
      this.excused = 0;
      this.note(problem, wasUp);
      if (wasUp) this.emit('down', this.reason);
      this.schedule();
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    this.lag.disable();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
