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

  it('over the budget, a socket that adds bytes beyond its even share is held at once; within its share it is not', () => {
    const { budget, sock } = setup(1000); // two sockets: a share of 500 each
    const a = sock('a');
    const b = sock('b');
    a.set(900);
    b.set(200); // 1100: over, but b holds less than its share (a healthy socket keeps going)
    expect(b.held).toBe(false);
    b.set(600); // beyond its share while over: held
    expect(b.held).toBe(true);
    a.set(850); // draining while over: not held
    expect(a.held).toBe(false);
    a.set(870); // adding, beyond its share, while over: held
    expect(a.held).toBe(true);
    expect(budget.isHeld(b)).toBe(true);
    expect(budget.stats()).toMatchObject({ limitBytes: 1000, queuedBytes: 1470, held: 2 });
  });

  it('once over the budget for the grace, the sockets holding the most are evicted, held or not, until the total fits', () => {
    const { budget, sock, tick } = setup(1000, 100);
    const big = sock('big');
    const mid = sock('mid');
    const small = sock('small');
    big.set(700); // filled before the total went over: never held, and the slowest of all
    mid.set(250);
    small.set(100); // 1050: over
    tick(50);
    mid.set(300); // 1100
    expect([big.held, mid.held, small.held]).toEqual([false, false, false]); // within their shares (333)
    expect(budget.check()).toBe(0); // within the grace
    tick(50);
    expect(budget.check()).toBe(1); // evicting big (700) is enough
    expect([big.evicted, mid.evicted, small.evicted]).toEqual([true, false, false]);
    expect(budget.queuedBytes).toBe(400);
    expect(budget.stats().evicted).toBe(1);
    // An evicted socket's later reports no longer count.
    big.set(0);
    expect(budget.queuedBytes).toBe(400);
  });

  it('the grace starts again whenever the total falls back under the budget', () => {
    const { budget, sock, tick } = setup(1000, 100);
    const a = sock('a');
    const b = sock('b');
    a.set(800);
    b.set(300); // over
    tick(60);
    b.set(100); // under
    tick(10);
    b.set(300); // over again
    tick(60);
    expect(budget.check()).toBe(0); // 60 ms over, not 130
    tick(40);
    expect(budget.check()).toBe(1);
    expect(a.evicted).toBe(true);
  });

  it('held sockets go on once the total fell to half the budget, or under it when they hold no more than their share', () => {
    const { budget, sock } = setup(1000); // share 500
    const a = sock('a');
    const b = sock('b');
    a.set(500);
    b.set(400);
    b.set(600); // 1100, b beyond its share: held
    expect(b.held).toBe(true);
    a.set(300);
    budget.check();
    expect(b.held).toBe(true); // 900: under the budget but above half, and b holds more than its share
    a.set(0);
    budget.check();
    expect(b.held).toBe(true); // 600: still above half
    b.set(450);
    budget.check();
    expect(b.held).toBe(false); // within its share and the total under the budget
    b.set(600);
    a.set(500); // 1100 again
    b.set(650);
    expect(b.held).toBe(true);
    b.set(520);
    a.set(0); // 520: above half, b above its share
    budget.check();
    expect(b.held).toBe(true);
    b.set(500); // half
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
    expect(a.evicted).toBe(false); // 700 is within the budget
    expect(budget.stats().held).toBe(0);
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new SendBudget(0, 10)).toThrow(TypeError);
  });
});
