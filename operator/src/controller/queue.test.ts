import { describe, expect, it } from 'vitest';
import { PRIORITY_HIGH, PRIORITY_LOW, WorkQueue } from './queue.js';

describe('WorkQueue', () => {
  it('keeps one entry per key however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a'); q.add('b'); q.add('a'); q.add('a');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands one key to two workers; a key added while processing comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.depth).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBeUndefined();
    q.done(k!);
    await new Promise((r) => setTimeout(r, 0));
    expect(second).toBe('a');
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
    q.shutdown();
  });

  it('delivers a delayed key after its delay', async () => {
    const q = new WorkQueue({ baseDelayMs: 20 });
    q.addRateLimited('a');
    expect(q.depth).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(q.depth).toBe(1);
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).toBeUndefined();
  });

  it('hands out high-priority keys first, first come first served within a priority', async () => {
    const q = new WorkQueue();
    q.add('status-a', PRIORITY_LOW);
    q.add('new-b');
    q.add('status-c', PRIORITY_LOW);
    q.add('new-d', PRIORITY_HIGH);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await q.get())!);
    expect(order).toEqual(['new-b', 'new-d', 'status-a', 'status-c']);
    expect(q.depth).toBe(0);
  });

  it('raises a queued key to the higher priority asked, never lowers it, and keeps one entry', async () => {
    const q = new WorkQueue();
    q.add('a', PRIORITY_LOW);
    q.add('b', PRIORITY_LOW);
    q.add('b', PRIORITY_HIGH);
    q.add('a', PRIORITY_LOW);
    q.add('c');
    q.add('c', PRIORITY_LOW);
    expect(q.depth).toBe(3);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) order.push((await q.get())!);
    expect(order).toEqual(['b', 'c', 'a']);
    expect(q.depth).toBe(0);
    // The stale low-priority entry of b is not handed out a second time.
    let extra: string | undefined;
    void q.get().then((k) => (extra = k));
    await new Promise((r) => setTimeout(r, 10));
    expect(extra).toBeUndefined();
    q.shutdown();
  });

  it('re-queues a key added while processing at the highest priority asked meanwhile', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = (await q.get())!;
    q.add('a', PRIORITY_LOW);
    q.add('a', PRIORITY_HIGH);
    q.add('z', PRIORITY_LOW);
    q.done(k);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('z');
  });
});
