import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, jittered, sleep } from './backoff.js';

describe('backoffDelay', () => {
  it('grows by the factor from the first delay up to the cap', () => {
    const policy = { initialMs: 500, maxMs: 300_000 };
    expect([1, 2, 3, 4, 10, 11, 50].map((n) => backoffDelay(policy, n))).toEqual([500, 1000, 2000, 4000, 256_000, 300_000, 300_000]);
    expect([1, 2, 3].map((n) => backoffDelay({ ...policy, factor: 3 }, n))).toEqual([500, 1500, 4500]);
  });

  it('adds up to jitter x the delay, never less than the delay', () => {
    const policy = { initialMs: 1000, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(1000);
    expect(backoffDelay(policy, 1, () => 0.999_999)).toBe(1500);
    expect(jittered(2000, 0.2, () => 0.5)).toBe(2200);
  });
});

describe('Backoff', () => {
  it('waits longer after each failure, and starts over after a quiet period', () => {
    let now = 0;
    const b = new Backoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 }, () => now);
    const delays = [b.next(), b.next(), b.next(), b.next(), b.next()];
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    now += 59_000;
    expect(b.next()).toBe(1000);
    now += 60_001;
    expect(b.next()).toBe(100);
  });
});

describe('sleep', () => {
  it('ends early, without a timer left behind, when its signal aborts', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
