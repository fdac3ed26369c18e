/**
 * A process-wide bound on the bytes queued to WebSocket clients (WS_SEND_BUDGET_BYTES): every socket's send buffer
 * and broadcast backlog together. Each socket is bounded on its own (about twice WS_SEND_HIGH_WATER_BYTES), but
 * thousands of lagging sockets would still add up to gigabytes. Pure policy (no sockets, no timers), unit-tested:
 * - while the total is over the budget, a socket that adds bytes and holds more than an even share of the budget
 *   (budget ÷ sockets) is held at once: it counts as over its high water, so its group/assign subscriptions stop
 *   taking records and its broadcast frames queue (bounded, → 4408). Sockets that keep up hold little and are never
 *   held for the laggards' sake (W4b in docs/performance.md: holding them made their broadcast backlogs time out);
 * - `check` (called periodically) evicts, once the total has been over the budget for the grace, the sockets
 *   holding the most (held or not: a socket that filled its own bound before the total went over adds nothing, so it
 *   is never held, and it is the slowest of all), largest first, until the total is back under the budget (the
 *   connection closes them with 4408, as a slow consumer);
 * - held sockets go on once the total fell to half the budget, or at once if they hold no more than their share.
 */
import { LOW_WATER_RATIO } from './flow.js';

export interface BudgetMember {
  /** Bytes this socket holds now, as last reported through `SendBudget.adjust`. */
  readonly budgetBytes: number;
  /** Hold (true) or release (false): a held socket counts as over its high water. */
  hold(on: boolean): void;
  /** Held past the grace while the process is over budget: close it (4408). */
  evict(): void;
}

export interface BudgetStats {
  limitBytes: number;
  queuedBytes: number;
  held: number;
  evicted: number;
}

export class SendBudget {
  private queued = 0;
  private evictions = 0;
  private readonly members = new Set<BudgetMember>();
  private readonly held = new Set<BudgetMember>();
  /** Since when the total has been over the budget (undefined: it is not). */
  private overSince: number | undefined;

  constructor(
    readonly limit: number,
    readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(Number.isSafeInteger(limit) && limit > 0))
      throw new TypeError('SendBudget: limit must be a positive integer');
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /** An even share of the budget among the sockets now. */
  private get share(): number {
    return this.limit / Math.max(1, this.members.size);
  }

  join(m: BudgetMember): void {
    this.members.add(m);
  }

  /** A member is gone (socket closed): its bytes no longer count. */
  leave(m: BudgetMember): void {
    if (!this.members.delete(m)) return;
    this.queued -= m.budgetBytes;
    this.held.delete(m);
    if (this.queued <= this.limit) this.overSince = undefined;
  }

  /** `m`'s bytes changed by `delta` (already applied to m.budgetBytes). Adding over the budget may hold `m` at once. */
  adjust(m: BudgetMember, delta: number): void {
    // A member that left (closed, or evicted) no longer counts, whatever it still reports on its way out.
    if (!this.members.has(m)) return;
    this.queued += delta;
    if (this.queued <= this.limit) {
      this.overSince = undefined;
      return;
    }
    this.overSince ??= this.now();
    if (delta > 0 && m.budgetBytes > this.share && !this.held.has(m)) {
      this.held.add(m);
      m.hold(true);
    }
  }

  isHeld(m: BudgetMember): boolean {
    return this.held.has(m);
  }

  /** Evict and release as the rules above say; returns how many were evicted. */
  check(): number {
    let evicted = 0;
    if (this.overSince !== undefined && this.now() - this.overSince >= this.graceMs && this.queued > this.limit) {
      const largest = [...this.members].filter((m) => m.budgetBytes > 0).sort((a, b) => b.budgetBytes - a.budgetBytes);
      for (const m of largest) {
        if (this.queued <= this.limit) break;
        this.evictions++;
        evicted++;
        this.leave(m);
        m.evict();
      }
    }
    if (this.held.size > 0 && this.queued <= this.limit) {
      const all = this.queued <= this.limit * LOW_WATER_RATIO;
      const share = this.share;
      for (const m of [...this.held]) if (all || m.budgetBytes <= share) this.release(m);
    }
    return evicted;
  }

  private release(m: BudgetMember): void {
    this.held.delete(m);
    m.hold(false);
  }

  stats(): BudgetStats {
    return { limitBytes: this.limit, queuedBytes: this.queued, held: this.held.size, evicted: this.evictions };
  }
}
