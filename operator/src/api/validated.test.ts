import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import { ValidatedSpecs } from './validated.js';

const live = (generation: number, labels: Record<string, string> = {}) => {
  const m = baseManifest() as any;
  return { ...m, metadata: { ...m.metadata, uid: 'u1', generation, labels } };
};

describe('ValidatedSpecs', () => {
  it('validates a spec once while its generation, labels and annotations stay', () => {
    const specs = new ValidatedSpecs();
    const first = specs.of(live(1));
    expect(first.errors).toEqual([]);
    expect(specs.of(live(1))).toBe(first);
    expect(specs.validations).toBe(1);
    specs.of(live(2));
    specs.of(live(2, { team: 'a' }));
    expect(specs.validations).toBe(3);
    specs.forget(`${live(2).metadata.namespace}/${live(2).metadata.name}`);
    specs.of(live(2, { team: 'a' }));
    expect(specs.validations).toBe(4);
  });
});
