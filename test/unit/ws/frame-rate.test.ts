// Inbound frame budgets (→ 4429): subscribe frames and other control frames have separate fixed windows; acks are free.
import { describe, expect, it } from 'vitest';
import {
  CONTROL_FRAME_LIMIT,
  CONTROL_FRAME_WINDOW_MS,
  FrameRate,
  SUBSCRIBE_LIMIT,
  SUBSCRIBE_WINDOW_MS,
  WindowCounter,
} from '../../../src/ws/frame-rate.js';

describe('WindowCounter', () => {
  it('allows `limit` events per window, then says over until the window ends', () => {
    const c = new WindowCounter(3, 1000);
    expect([c.hit(0), c.hit(10), c.hit(999)]).toEqual([false, false, false]);
    expect(c.hit(999)).toBe(true);
    expect(c.hit(1000)).toBe(false); // a new window
  });
});

describe('FrameRate', () => {
  it('closes on the subscribe after SUBSCRIBE_LIMIT within a window, not before', () => {
    const r = new FrameRate();
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++) expect(r.over('subscribe', i)).toBe(false);
    expect(r.over('subscribe', SUBSCRIBE_LIMIT)).toBe(true);
    const later = new FrameRate();
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++) later.over('subscribe', 0);
    expect(later.over('subscribe', SUBSCRIBE_WINDOW_MS)).toBe(false);
  });

  it('counts control frames apart from subscribes, and never counts acks', () => {
    const r = new FrameRate();
    for (let i = 0; i < 100_000; i++) expect(r.over('ack', 0)).toBe(false);
    for (let i = 0; i < CONTROL_FRAME_LIMIT; i++) expect(r.over('control', 0)).toBe(false);
    expect(r.over('subscribe', 0)).toBe(false);
    expect(r.over('control', CONTROL_FRAME_WINDOW_MS - 1)).toBe(true);
  });
});
