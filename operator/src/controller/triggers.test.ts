import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { PRIORITY_HIGH, PRIORITY_LOW } from './queue.js';
import { childEventPriority, clusterEventPriority, onlyStatusChanged } from './triggers.js';

const obj = (kind: string, over: Partial<KubeObject> & { status?: unknown } = {}): KubeObject =>
  ({ apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'ns', resourceVersion: '1', generation: 1, labels: { a: 'b' } }, spec: { replicas: 1 }, status: { ready: 0 }, ...over }) as KubeObject;
const bump = (o: KubeObject, change: (c: any) => void): KubeObject => {
  const c = structuredClone(o) as any;
  c.metadata.resourceVersion = String(Number(c.metadata.resourceVersion) + 1);
  change(c);
  return c;
};

describe('onlyStatusChanged', () => {
  const d = obj('Deployment');
  // ConfigMaps, Secrets and Services have no generation: their whole content is compared.
  const noGeneration = obj('Service', { metadata: { name: 'x', namespace: 'ns', resourceVersion: '1' } });
  it('ignores status, resourceVersion and managedFields', () => {
    expect(onlyStatusChanged(bump(d, (c) => (c.status = { ready: 1 })), d)).toBe(true);
    expect(onlyStatusChanged(bump(d, (c) => (c.metadata.managedFields = [{ manager: 'x' }])), d)).toBe(true);
  });
  it('sees spec, data, label, annotation and deletion changes', () => {
    expect(onlyStatusChanged(bump(d, (c) => ((c.spec.replicas = 2), (c.metadata.generation = 2))), d)).toBe(false);
    expect(onlyStatusChanged(bump(noGeneration, (c) => (c.spec.replicas = 2)), noGeneration)).toBe(false);
    expect(onlyStatusChanged(bump(noGeneration, (c) => (c.status = { loadBalancer: {} })), noGeneration)).toBe(true);
    expect(onlyStatusChanged(bump(noGeneration, (c) => (c.data = { k: 'v' })), noGeneration)).toBe(false);
    expect(onlyStatusChanged(bump(d, (c) => (c.metadata.labels.a = 'c')), d)).toBe(false);
    expect(onlyStatusChanged(bump(d, (c) => (c.metadata.annotations = { n: 'v' })), d)).toBe(false);
    expect(onlyStatusChanged(bump(d, (c) => (c.metadata.deletionTimestamp = '2026-01-01T00:00:00Z')), d)).toBe(false);
  });
});

describe('clusterEventPriority', () => {
  const mc = obj('MeetingCluster');
  it('puts new and edited MeetingClusters first, status-only changes after', () => {
    expect(clusterEventPriority('ADDED', mc)).toBe(PRIORITY_HIGH);
    expect(clusterEventPriority('MODIFIED', bump(mc, (c) => ((c.spec.replicas = 3), (c.metadata.generation = 2))), mc)).toBe(PRIORITY_HIGH);
    expect(clusterEventPriority('MODIFIED', bump(mc, (c) => (c.metadata.annotations = { 'meet.sovereign.io/paused': 'true' })), mc)).toBe(PRIORITY_HIGH);
    expect(clusterEventPriority('MODIFIED', bump(mc, (c) => (c.status = { observedGeneration: 7 })), mc)).toBe(PRIORITY_LOW);
  });
});

describe('childEventPriority', () => {
  it('repairs at once what someone deleted or edited; a creation (our own, mostly) can wait', () => {
    const cm = obj('ConfigMap', { metadata: { name: 'x', namespace: 'ns', resourceVersion: '1' } });
    expect(childEventPriority('ADDED', cm)).toBe(PRIORITY_LOW);
    expect(childEventPriority('DELETED', cm)).toBe(PRIORITY_HIGH);
    expect(childEventPriority('MODIFIED', bump(cm, (c) => (c.data = { 'livekit.yaml': 'edited' })), cm)).toBe(PRIORITY_HIGH);
  });
  it('follows workload status at low priority', () => {
    for (const kind of ['Deployment', 'StatefulSet']) {
      const w = obj(kind);
      expect(childEventPriority('MODIFIED', bump(w, (c) => (c.status = { readyReplicas: 1 })), w)).toBe(PRIORITY_LOW);
    }
  });
  it('ignores status reports the MeetingCluster status does not read', () => {
    for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler', 'Service', 'NetworkPolicy']) {
      const o = obj(kind);
      expect(childEventPriority('MODIFIED', bump(o, (c) => (c.status = { currentHealthy: 2 })), o)).toBeUndefined();
    }
  });
});
