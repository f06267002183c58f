import { describe, expect, it } from 'vitest';
import { shareCapacity, type Claim } from './share.js';

const claim = (key: string, wanted: number, load: number, current = 2, minReplicas = 2): Claim => ({ key, wanted, minReplicas, current, load });
const replicas = (m: Map<string, { replicas: number }>) => Object.fromEntries([...m].map(([k, g]) => [k, g.replicas]));

describe('shareCapacity', () => {
  it('no budget: everyone gets what they want', () => {
    expect(replicas(shareCapacity([claim('a', 9, 900), claim('b', 3, 300)]))).toEqual({ a: 9, b: 3 });
  });

  it('under the budget: everyone gets what they want', () => {
    expect(replicas(shareCapacity([claim('a', 5, 500), claim('b', 3, 300)], 10))).toEqual({ a: 5, b: 3 });
  });

  it('over the budget: shared in proportion to load, minimums guaranteed, shortfall reported', () => {
    const g = shareCapacity([claim('a', 10, 900), claim('b', 10, 300), claim('c', 5, 0)], 12);
    // c keeps its minimum (2); a and b keep their 2 and the 6 left go by load (3:1): a 7, b 3.
    expect(replicas(g)).toEqual({ a: 7, b: 3, c: 2 });
    expect(g.get('a')!.shortfall).toBe(3);
    expect(g.get('b')!.shortfall).toBe(7);
    expect([...g.values()].reduce((a, x) => a + x.replicas, 0)).toBe(12);
  });

  it('never takes away pods a cluster runs and still wants, even over the budget', () => {
    const g = shareCapacity([claim('a', 6, 100, 6), claim('b', 8, 900, 2)], 8);
    expect(replicas(g)).toEqual({ a: 6, b: 2 });
    expect(g.get('b')!.shortfall).toBe(6);
  });

  it('minimums above the budget are still guaranteed', () => {
    expect(replicas(shareCapacity([claim('a', 4, 10, 2, 4), claim('b', 4, 10, 2, 4)], 6))).toEqual({ a: 4, b: 4 });
  });

  it('a cluster scaling down frees capacity for the others', () => {
    expect(replicas(shareCapacity([claim('a', 2, 10, 6), claim('b', 8, 900, 2)], 10))).toEqual({ a: 2, b: 8 });
  });

  it('ties go to the larger need, then the key, so the result is stable', () => {
    expect(replicas(shareCapacity([claim('b', 4, 100), claim('a', 4, 100)], 5))).toEqual({ a: 3, b: 2 });
  });
});
