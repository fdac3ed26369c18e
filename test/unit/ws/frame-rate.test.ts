// Inbound frame budgets (→ 4429) and the bad-frame tolerance (→ 4400): subscribe frames and other control frames
// have separate budgets, acks are free.
import { describe, expect, it } from 'vitest';
import {
  BAD_FRAME_LIMIT,
  CONTROL_FRAME_LIMIT,
  CONTROL_FRAME_WINDOW_MS,
  FrameRate,
  SUBSCRIBE_LIMIT,
  SUBSCRIBE_WINDOW_MS,
} from '../../../src/ws/frame-rate.js';

describe('FrameRate', () => {
  it('is over on the subscribe after SUBSCRIBE_LIMIT in a burst, not before', () => {
    const r = new FrameRate();
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++) expect(r.over('subscribe', i)).toBe(false);
    expect(r.over('subscribe', SUBSCRIBE_LIMIT)).toBe(true);
  });

  it('allows SUBSCRIBE_LIMIT per window on average: a full window later the burst is back', () => {
    const r = new FrameRate();
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++) r.over('subscribe', 0);
    // Half a window later, half the budget came back, and no more.
    const half = SUBSCRIBE_WINDOW_MS / 2;
    for (let i = 0; i < SUBSCRIBE_LIMIT / 2; i++) expect(r.over('subscribe', half)).toBe(false);
    expect(r.over('subscribe', half)).toBe(true);
    const later = half + SUBSCRIBE_WINDOW_MS;
    for (let i = 0; i < SUBSCRIBE_LIMIT; i++) expect(r.over('subscribe', later)).toBe(false);
    expect(r.over('subscribe', later)).toBe(true);
  });

  it('counts control frames apart from subscribes, and never counts acks', () => {
    const r = new FrameRate();
    for (let i = 0; i < 10_000; i++) r.over('ack', 0);
    expect(r.over('ack', 0)).toBe(false);
    for (let i = 0; i < CONTROL_FRAME_LIMIT; i++) expect(r.over('control', 0)).toBe(false);
    expect(r.over('subscribe', 0)).toBe(false);
    expect(r.over('control', 1)).toBe(true);
    // A steady 500 per 10 s (one every 20 ms) stays within the budget once it is spent.
    const every = CONTROL_FRAME_WINDOW_MS / CONTROL_FRAME_LIMIT;
    for (let i = 1; i <= 100; i++) expect(r.over('control', 1 + i * every)).toBe(false);
  });

  it('the BAD_FRAME_LIMIT-th bad frame within a minute is too many; spread over minutes they are not', () => {
    const r = new FrameRate();
    for (let i = 1; i < BAD_FRAME_LIMIT; i++) expect(r.tooManyBad(i)).toBe(false);
    expect(r.tooManyBad(BAD_FRAME_LIMIT)).toBe(true);
    const spread = new FrameRate();
    for (let i = 0; i < 20; i++) expect(spread.tooManyBad(i * 60_000)).toBe(false);
  });
});
