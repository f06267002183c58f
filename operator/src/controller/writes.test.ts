import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../kube/http.js';
import { ReconcileWrites, WriteBudget, isServerSideFailure, nodePortServicesFirst, type WriteTask } from './writes.js';

const tick = () => new Promise((r) => setTimeout(r, 5));
const apiError = (status: number) => new ApiError(status, `Status${status}`, `HTTP ${status}`);

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

/** A budget whose last write failed server-side. */
async function afterOutage(limit = 4): Promise<WriteBudget> {
  const budget = new WriteBudget(pLimit(limit));
  await expect(budget.send(() => Promise.reject(new Error('ECONNREFUSED')))).rejects.toThrow();
  return budget;
}

describe('isServerSideFailure', () => {
  it('blames the server for no answer, throttling and 5xx, the object for the rest', () => {
    expect(isServerSideFailure(new Error('ECONNREFUSED'))).toBe(true);
    expect(isServerSideFailure(apiError(429))).toBe(true);
    expect(isServerSideFailure(apiError(503))).toBe(true);
    expect(isServerSideFailure(apiError(404))).toBe(false);
    expect(isServerSideFailure(apiError(409))).toBe(false);
    expect(isServerSideFailure(apiError(422))).toBe(false);
  });
});

describe('WriteBudget', () => {
  it('starts answering, stops at a server-side failure, answers again at the next answer', async () => {
    const budget = new WriteBudget(pLimit(2));
    expect(budget.serverAnswering).toBe(true);
    await expect(budget.send(() => Promise.reject(apiError(503)))).rejects.toThrow('HTTP 503');
    expect(budget.serverAnswering).toBe(false);
    // A 422 is an answer: the object is wrong, the server works.
    await expect(budget.send(() => Promise.reject(apiError(422)))).rejects.toThrow('HTTP 422');
    expect(budget.serverAnswering).toBe(true);
    await expect(budget.send(() => Promise.reject(apiError(429)))).rejects.toThrow();
    expect(await budget.send(async () => 'ok')).toBe('ok');
    expect(budget.serverAnswering).toBe(true);
  });

  it('sends nothing, and learns nothing, when told not to at its turn', async () => {
    const budget = await afterOutage();
    let sent = false;
    await budget.sendUnless(() => true, async () => void (sent = true));
    expect(sent).toBe(false);
    expect(budget.serverAnswering).toBe(false);
  });
});

describe('ReconcileWrites', () => {
  it('sends every write in parallel up to the shared limit while the server answers', async () => {
    const t = tasks(9);
    const order: string[] = [];
    await new ReconcileWrites(new WriteBudget(pLimit(4))).run(t.list.map((task, i) => async () => {
      order.push(`start ${i}`);
      await task();
      order.push(`end ${i}`);
    }));
    expect(t.started).toHaveLength(9);
    expect(order.slice(0, 4)).toEqual(['start 0', 'start 1', 'start 2', 'start 3']);
    expect(t.peak()).toBe(4);
  });

  it('after a server-side failure, sends the first write alone, then the others in parallel', async () => {
    const budget = await afterOutage();
    const t = tasks(9);
    const order: string[] = [];
    await new ReconcileWrites(budget).run(t.list.map((task, i) => async () => {
      order.push(`start ${i}`);
      await task();
      order.push(`end ${i}`);
    }));
    expect(t.started).toHaveLength(9);
    expect(order.slice(0, 3)).toEqual(['start 0', 'end 0', 'start 1']);
    expect(t.peak()).toBe(4);
    expect(budget.serverAnswering).toBe(true);
  });

  it('keeps the limit across concurrent reconciles', async () => {
    const budget = new WriteBudget(pLimit(3));
    const a = tasks(10), b = tasks(10);
    let inFlight = 0, peak = 0;
    const counted = (list: WriteTask[]) => list.map((task) => async () => { peak = Math.max(peak, ++inFlight); await task(); inFlight--; });
    await Promise.all([new ReconcileWrites(budget).run(counted(a.list)), new ReconcileWrites(budget).run(counted(b.list))]);
    expect(a.started).toHaveLength(10);
    expect(b.started).toHaveLength(10);
    expect(peak).toBe(3);
  });

  it('costs a server that is still down one request per reconcile', async () => {
    const budget = await afterOutage();
    for (let reconcile = 0; reconcile < 3; reconcile++) {
      const t = tasks(12, new Set([0]));
      await expect(new ReconcileWrites(budget).run(t.list)).rejects.toThrow('server down at 0');
      expect(t.started).toEqual([0]);
    }
    expect(budget.serverAnswering).toBe(false);
  });

  it('sends no write that had not started when one failed server-side', async () => {
    const budget = new WriteBudget(pLimit(4));
    const t = tasks(12, new Set([2]));
    await expect(new ReconcileWrites(budget).run(t.list)).rejects.toThrow('server down at 2');
    // 0-3 in flight when 2 fails; 4-11 never sent, and the next reconcile starts alone.
    expect(t.started.sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
    expect(budget.serverAnswering).toBe(false);
  });
});

describe('nodePortServicesFirst', () => {
  it('puts the Services that allocate node ports first and keeps every other write where it was', () => {
    const objects = [
      { kind: 'Secret' },
      { kind: 'ConfigMap' },
      { kind: 'Service', spec: { type: 'ClusterIP' } },
      { kind: 'Service', spec: { type: 'LoadBalancer' } },
      { kind: 'StatefulSet' },
      { kind: 'Deployment' },
      { kind: 'Service', spec: { type: 'NodePort' } },
      { kind: 'PodDisruptionBudget' },
    ];
    expect(nodePortServicesFirst(objects)).toEqual([3, 6, 0, 1, 2, 4, 5, 7]);
    expect(nodePortServicesFirst([{ kind: 'Service' }, { kind: 'Deployment' }])).toEqual([0, 1]);
    expect(nodePortServicesFirst([])).toEqual([]);
  });
});
