// A work queue with controller-runtime's guarantees: one entry per key however often it is added
// (dedup), never two workers on one key (a key added while processing is re-queued after), and a
// per-key exponential backoff for keys whose reconcile failed.
//
// Keys also carry a priority, as in controller-runtime's priority queue: work someone asked for (a
// new or edited MeetingCluster, an autoscaling decision, a retry) goes before the follow-ups of
// children reporting status and periodic resyncs. Without it, a burst of status events from the
// clusters just created sits in front of the clusters not yet created at all.

import { backoffDelay } from '../kube/backoff.js';

/** Work a person or a decision asked for (new/edited MeetingCluster, scaling, retry). */
export const PRIORITY_HIGH = 1;
/** Follow-ups: children reporting status, resyncs, initial listing. */
export const PRIORITY_LOW = 0;

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  /** FIFO per priority; an entry whose priority was raised since is skipped (see `queued`). */
  private readonly lanes = new Map<number, string[]>();
  /** Queued keys and the priority they are queued at. */
  private readonly queued = new Map<string, number>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed, with the highest priority asked: re-queued when done. */
  private readonly dirty = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly o: QueueOptions = {}) {}

  get depth(): number {
    return this.queued.size;
  }

  add(key: string, priority = PRIORITY_HIGH): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.set(key, Math.max(priority, this.dirty.get(key) ?? priority));
      return;
    }
    const at = this.queued.get(key);
    if (at !== undefined && at >= priority) return;
    // New, or raised: the entry in the lower lane becomes stale and is skipped by get().
    this.queued.set(key, priority);
    let lane = this.lanes.get(priority);
    if (!lane) this.lanes.set(priority, (lane = []));
    lane.push(key);
    if (at === undefined) this.waiters.shift()?.();
  }

  /** Adds the key after a delay (a pending delayed add for the same key is replaced). */
  addAfter(key: string, delayMs: number, priority = PRIORITY_HIGH): void {
    if (this.shuttingDown) return;
    clearTimeout(this.timers.get(key));
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key, priority);
    }, delayMs);
    t.unref();
    this.timers.set(key, t);
  }

  /** Re-queues a failed key with exponential backoff; returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay({ initialMs: this.o.baseDelayMs ?? 500, maxMs: this.o.maxDelayMs ?? 300_000 }, n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets a key's failures (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The queued key of the highest priority (first come, first served within one), if any. */
  private take(): string | undefined {
    for (const p of [...this.lanes.keys()].sort((a, b) => b - a)) {
      const lane = this.lanes.get(p)!;
      while (lane.length) {
        const key = lane.shift()!;
        if (this.queued.get(key) === p) return key;
      }
      this.lanes.delete(p);
    }
    return undefined;
  }

  /** Next key to process, or undefined once shut down. The caller must call done(key). */
  async get(): Promise<string | undefined> {
    for (;;) {
      const key = this.take();
      if (key !== undefined) {
        this.queued.delete(key);
        this.processing.add(key);
        return key;
      }
      if (this.shuttingDown) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  done(key: string): void {
    this.processing.delete(key);
    const priority = this.dirty.get(key);
    if (priority !== undefined) {
      this.dirty.delete(key);
      this.add(key, priority);
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
