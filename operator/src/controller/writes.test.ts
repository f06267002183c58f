import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { ReconcileWrites, type WriteTask } from './writes.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Tasks that record how many run at once and fail when told to. */
function tasks(n: number, failAt = new Set<number>()) {
  const started: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const list: WriteTask[] = Array.from({ length: n }, (_, i) => async () => {
    started.push(i);
    // A refused connection fails at once; a write that succeeds takes a moment.
    if (failAt.has(i)) throw new Error(`server down at ${i}`);
    peak = Math.max(peak, ++inFlight);
    await tick();
    inFlight--;
  });
  return { list, started, peak: () => peak };
}

describe('ReconcileWrites', () => {
  it('sends the first write alone, then the others in parallel up to the shared limit', async () => {
    const t = tasks(9);
    const order: string[] = [];
    const w = new ReconcileWrites(pLimit(4));
    await w.run(t.list.map((task, i) => async () => {
      order.push(`start ${i}`);
      await task();
      order.push(`end ${i}`);
    }));
    expect(t.started).toHaveLength(9);
    expect(order.slice(0, 2)).toEqual(['start 0', 'end 0']);
    expect(t.peak()).toBe(4);
  });

  it('keeps the limit across concurrent reconciles', async () => {
    const limit = pLimit(3);
    const a = tasks(10), b = tasks(10);
    let inFlight = 0, peak = 0;
    const counted = (list: WriteTask[]) => list.map((task) => async () => { peak = Math.max(peak, ++inFlight); await task(); inFlight--; });
    await Promise.all([new ReconcileWrites(limit).run(counted(a.list)), new ReconcileWrites(limit).run(counted(b.list))]);
    expect(a.started).toHaveLength(10);
    expect(b.started).toHaveLength(10);
    expect(peak).toBe(3);
  });

  it('stops at a server-side failure of the first write: one request, then the error', async () => {
    const t = tasks(12, new Set([0]));
    await expect(new ReconcileWrites(pLimit(4)).run(t.list)).rejects.toThrow('server down at 0');
    expect(t.started).toEqual([0]);
  });

  it('sends no write that had not started when one failed', async () => {
    const t = tasks(12, new Set([2]));
    await expect(new ReconcileWrites(pLimit(4)).run(t.list)).rejects.toThrow('server down at 2');
    // 0 alone, then 1-4 in flight when 2 fails; 5-11 never sent.
    expect(t.started.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends the next batch in parallel at once once a write was answered', async () => {
    const w = new ReconcileWrites(pLimit(4));
    await w.run(tasks(1).list);
    const order: string[] = [];
    const t = tasks(3);
    await w.run(t.list.map((task, i) => async () => {
      order.push(`start ${i}`);
      await task();
    }));
    expect(order).toEqual(['start 0', 'start 1', 'start 2']);
  });
});
