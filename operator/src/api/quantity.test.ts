import { describe, expect, it } from 'vitest';
import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5], ['2', 2], ['1Gi', 2 ** 30], ['4G', 4e9], ['1.5Mi', 1.5 * 2 ** 20], ['1e3', 1000], [3, 3],
  ] as const)('%s', (q, v) => expect(parseQuantity(q)).toBeCloseTo(v));
  it('rejects nonsense', () => {
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('1Xi')).toBeUndefined();
  });
});
