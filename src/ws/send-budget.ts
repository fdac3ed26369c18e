/**
 * A process-wide bound on the bytes queued to WebSocket clients (WS_SEND_BUDGET_BYTES): every socket's send buffer
 * and broadcast backlog together. Each socket is bounded on its own (about twice WS_SEND_HIGH_WATER_BYTES), but
 * thousands of lagging sockets would still add up to gigabytes. Pure policy (no sockets, no timers), unit-tested:
 * - a socket that adds bytes while the total is over the budget is held at once: it counts as over its high water,
 *   so its group/assign subscriptions stop taking records and its broadcast frames queue (bounded, → 4408);
 * - `check` (called periodically) evicts held sockets still holding bytes after the grace, largest queue first,
 *   until the total is back under the budget (the connection closes them with 4408, as a slow consumer);
 * - held sockets go on once the total fell to half the budget, or at once if they themselves hold nothing.
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
  /** Held members and since when. */
  private readonly held = new Map<BudgetMember, number>();

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

  join(m: BudgetMember): void {
    this.members.add(m);
  }

  /** A member is gone (socket closed): its bytes no longer count. */
  leave(m: BudgetMember): void {
    if (!this.members.delete(m)) return;
    this.queued -= m.budgetBytes;
    this.held.delete(m);
  }

  /** `m`'s bytes changed by `delta` (already applied to m.budgetBytes). Adding over the budget holds `m` at once. */
  adjust(m: BudgetMember, delta: number): void {
    // A member that left (closed, or evicted) no longer counts, whatever it still reports on its way out.
    if (!this.members.has(m)) return;
    this.queued += delta;
    if (delta > 0 && this.queued > this.limit && !this.held.has(m)) {
      this.held.set(m, this.now());
      m.hold(true);
    }
  }

  isHeld(m: BudgetMember): boolean {
    return this.held.has(m);
  }

  /** Evict and release as the rules above say; returns how many were evicted. */
  check(): number {
    if (this.held.size === 0) return 0;
    const now = this.now();
    if (this.queued <= this.limit * LOW_WATER_RATIO) {
      for (const m of [...this.held.keys()]) this.release(m);
      return 0;
    }
    let evicted = 0;
    if (this.queued > this.limit) {
      const due = [...this.held]
        .filter(([m, since]) => now - since >= this.graceMs && m.budgetBytes > 0)
        .map(([m]) => m)
        .sort((a, b) => b.budgetBytes - a.budgetBytes);
      for (const m of due) {
        if (this.queued <= this.limit) break;
        this.evictions++;
        evicted++;
        this.leave(m);
        m.evict();
      }
    }
    if (this.queued <= this.limit) for (const [m] of [...this.held]) if (m.budgetBytes === 0) this.release(m);
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
