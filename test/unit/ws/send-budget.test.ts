import { describe, expect, it } from 'vitest';
import { type BudgetMember, SendBudget } from '../../../src/ws/send-budget.js';

/** A socket as the budget sees it: its bytes, whether it is held, whether it was evicted. */
class Sock implements BudgetMember {
  budgetBytes = 0;
  holds: boolean[] = [];
  evicted = false;
  constructor(
    private readonly budget: SendBudget,
    readonly name: string,
  ) {
    budget.join(this);
  }
  set(bytes: number): void {
    const d = bytes - this.budgetBytes;
    this.budgetBytes = bytes;
    this.budget.adjust(this, d);
  }
  hold(on: boolean): void {
    this.holds.push(on);
  }
  evict(): void {
    this.evicted = true;
  }
  get held(): boolean {
    return this.holds.at(-1) === true;
  }
}

function setup(limit = 1000, graceMs = 100) {
  let t = 0;
  const budget = new SendBudget(limit, graceMs, () => t);
  return { budget, tick: (ms: number) => (t += ms), sock: (name: string) => new Sock(budget, name) };
}

describe('SendBudget', () => {
  it('sums every socket; under the budget nobody is held', () => {
    const { budget, sock } = setup();
    const a = sock('a');
    const b = sock('b');
    a.set(400);
    b.set(600);
    expect(budget.queuedBytes).toBe(1000);
    expect(a.holds).toEqual([]);
    expect(b.holds).toEqual([]);
    b.set(100);
    expect(budget.queuedBytes).toBe(500);
  });

  it('a socket that adds bytes over the budget is held at once; one that only drains is not', () => {
    const { budget, sock } = setup();
    const a = sock('a');
    const b = sock('b');
    a.set(900);
    b.set(200);
    expect(b.held).toBe(true);
    expect(a.held).toBe(false);
    a.set(850); // draining while over: not held
    expect(a.held).toBe(false);
    expect(budget.isHeld(b)).toBe(true);
    expect(budget.stats()).toMatchObject({ limitBytes: 1000, queuedBytes: 1050, held: 1 });
  });

  it('held sockets still over after the grace are evicted, largest first, until the total fits', () => {
    const { budget, sock, tick } = setup(1000, 100);
    const small = sock('small');
    const big = sock('big');
    const mid = sock('mid');
    small.set(300);
    big.set(600);
    mid.set(200); // over: held
    big.set(700); // over: held
    small.set(350); // over: held
    expect([small.held, big.held, mid.held]).toEqual([true, true, true]);
    expect(budget.check()).toBe(0); // within the grace
    tick(100);
    // 1250 in total: evicting big (700) is enough.
    expect(budget.check()).toBe(1);
    expect([small.evicted, big.evicted, mid.evicted]).toEqual([false, true, false]);
    expect(budget.queuedBytes).toBe(550);
    expect(budget.stats().evicted).toBe(1);
    // An evicted socket's later reports no longer count.
    big.set(0);
    expect(budget.queuedBytes).toBe(550);
  });

  it('held sockets go on once the total fell to half the budget', () => {
    const { budget, sock } = setup(1000);
    const a = sock('a');
    const b = sock('b');
    a.set(800);
    b.set(300);
    expect(b.held).toBe(true);
    a.set(600);
    budget.check();
    expect(b.held).toBe(true); // 900: under the budget but above half, and b holds bytes
    a.set(200);
    budget.check();
    expect(b.held).toBe(false); // 500: half
  });

  it('under the budget, a held socket that holds nothing goes on at once', () => {
    const { budget, sock } = setup(1000);
    const a = sock('a');
    const b = sock('b');
    a.set(990);
    b.set(20);
    expect(b.held).toBe(true);
    b.set(0);
    a.set(800);
    budget.check();
    expect(b.held).toBe(false);
  });

  it('a socket that leaves takes its bytes with it and is never evicted', () => {
    const { budget, sock, tick } = setup(1000, 10);
    const a = sock('a');
    const b = sock('b');
    a.set(700);
    b.set(700);
    budget.leave(b);
    expect(budget.queuedBytes).toBe(700);
    tick(50);
    budget.check();
    expect(b.evicted).toBe(false);
    expect(budget.stats().held).toBe(0);
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new SendBudget(0, 10)).toThrow(TypeError);
  });
});
