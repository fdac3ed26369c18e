// The one way tests wait. A test that needs something to have happened polls for it with a deadline (`waitFor`,
// `eventually`): it goes on the moment the event happened, and the deadline is generous because a loaded machine
// stretches every timing. A fixed sleep is only right where the test proves an absence ("nothing arrives"): that is
// `quietPeriod`, which says what it proves.

export interface PollOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Time between two calls (default 50 ms). */
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `fn` until `ok(value)` holds or the deadline passed, and returns the last value without throwing, so the
 * caller's own assertion reports what was seen (e.g. `expect(await eventually(read, (v) => v.length === 3)).toEqual(…)`).
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  ok: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 50 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(intervalMs);
  }
}

/**
 * Waits until `fn` returns a truthy value and returns it; past the deadline it throws, naming `what` and the last
 * value seen.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, options: PollOptions = {}): Promise<T> {
  const value = await eventually(fn, Boolean, options);
  if (!value)
    throw new Error(
      `timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what} (last: ${JSON.stringify(value)})`,
    );
  return value;
}

/**
 * Waits `ms` on purpose, to show that something does **not** happen in that time (a record past a full window, a
 * close before the token's expiry). `proves` names it, so a reader knows why this test waits for time. Use it after
 * a positive control where one exists, so the quiet period cannot pass merely because nothing works.
 */
export async function quietPeriod(ms: number, proves: string): Promise<void> {
  if (!proves) throw new Error('quietPeriod: say what the wait proves');
  await sleep(ms);
}
