// Waiting and backing off, one way for every loop that retries: the reflectors' list/watch, the work
// queue's failed keys, leader election and requests the API server throttled. As client-go's wait
// package: delays grow by a factor up to a cap, jitter spreads peers that failed together so they do
// not come back in step, and a loop's backoff starts over once it has been quiet for a while.

/** Waits ms, or less if the signal aborts; leaves no listener behind either way. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** ms plus up to maxFactor x ms more, at random (client-go's wait.Jitter). */
export const jittered = (ms: number, maxFactor: number, random: () => number = Math.random): number => Math.round(ms + random() * maxFactor * ms);

export interface BackoffPolicy {
  /** The first delay. */
  initialMs: number;
  /** No delay is longer (before jitter). */
  maxMs: number;
  /** Growth per failure; default 2. */
  factor?: number;
  /** See jittered(); default 0 (exact delays). */
  jitter?: number;
}

/** The delay before retry number `attempt` (1: the first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ms = Math.min(policy.initialMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1), policy.maxMs);
  return jittered(ms, policy.jitter ?? 0, random);
}

/**
 * One loop's backoff: each failure waits longer, and a failure after `resetAfterMs` without one starts
 * from the first delay again (client-go's exponential backoff manager), so a watch that ran for an
 * hour and then dropped is retried at once, not after the delay an outage long ago built up.
 */
export class Backoff {
  private attempt = 0;
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly policy: BackoffPolicy & { resetAfterMs: number },
    private readonly clock: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a failure; returns how long to wait before the next try. */
  next(): number {
    const now = this.clock();
    if (now - this.lastFailure > this.policy.resetAfterMs) this.attempt = 0;
    this.lastFailure = now;
    return backoffDelay(this.policy, ++this.attempt, this.random);
  }
}
