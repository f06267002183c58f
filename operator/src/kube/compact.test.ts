import { describe, expect, it } from 'vitest';
import { compactObject, StringTable } from './compact.js';
import type { KubeObject } from './reflector.js';

const deployment = (): KubeObject => ({
  metadata: {
    name: 'visio-sfu',
    namespace: 'interieur',
    uid: '3f1c9a2e-0000-4000-8000-000000000001',
    resourceVersion: '4711',
    creationTimestamp: '2026-11-27T10:00:00Z',
    labels: { 'app.kubernetes.io/managed-by': 'meet-operator', 'app.kubernetes.io/instance': 'visio' },
    managedFields: [{ manager: 'meet-operator', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'livekit-server', image: 'livekit/livekit-server:v1.13.5', args: ['--config', '/etc/livekit.yaml'] }] } } },
  status: { conditions: [{ type: 'Available', status: 'True', lastTransitionTime: '2026-11-27T10:00:05Z' }] },
});

describe('compactObject', () => {
  it('keeps every field but managedFields, and names its kind', () => {
    const input = deployment();
    const out = compactObject(structuredClone(input), { apiVersion: 'apps/v1', kind: 'Deployment' }, new StringTable());
    const { managedFields: _, ...metadata } = input.metadata;
    expect(out).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', ...input, metadata });
    expect('managedFields' in out.metadata).toBe(false);
  });

  it('keeps an apiVersion/kind the object carries', () => {
    const input = { ...deployment(), apiVersion: 'apps/v1beta2', kind: 'Deployment' };
    const out = compactObject(structuredClone(input), { apiVersion: 'apps/v1', kind: 'Deployment' }, new StringTable());
    const { managedFields: _, ...metadata } = input.metadata;
    expect(out).toEqual({ ...input, metadata });
  });
});

describe('StringTable', () => {
  it('shares repeated values and leaves per-version values and long strings out of the table', () => {
    const t = new StringTable();
    t.internTree(compactObject(deployment(), { apiVersion: 'apps/v1', kind: 'Deployment' }, new StringTable()));
    const size = t.size;
    expect(size).toBeGreaterThan(5);
    // A second version of the same object: new uid, resourceVersion, timestamps; nothing else new.
    const next = deployment();
    Object.assign(next.metadata, { uid: 'another-uid', resourceVersion: '4712', creationTimestamp: '2026-11-27T11:00:00Z' });
    next.status.conditions[0].lastTransitionTime = '2026-11-27T11:00:05Z';
    t.internTree(compactObject(next, { apiVersion: 'apps/v1', kind: 'Deployment' }, new StringTable()));
    expect(t.size).toBe(size);
    const long = 'x'.repeat(300);
    t.internTree({ data: { big: long } });
    expect(t.size).toBe(size);
    t.internTree({ data: { small: 'new-value' } });
    expect(t.size).toBe(size + 1);
  });

  it('starts afresh past its bound instead of growing forever', () => {
    const t = new StringTable();
    for (let i = 0; i < 50_000; i++) t.intern(`v${i}`);
    expect(t.size).toBe(50_000);
    expect(t.intern('one-more')).toBe('one-more');
    expect(t.size).toBe(1);
  });
});
